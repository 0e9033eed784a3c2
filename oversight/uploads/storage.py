"""Storing an upload's validated rows in the values table, all or nothing.

On PostgreSQL, a period's first import is streamed with one binary ``COPY`` straight into
the values table; a later one is staged in a temporary table and merged with the current
values in two statements. Other databases (SQLite in development) store row by row
through :func:`~oversight.inputs.record_inputs`. Every route writes the same fields.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.utils import timezone

from systems import audit
from systems.actors import Actor

from ..inputs import InputRow, record_inputs
from ..models import MetricUpload, MetricValue, ReportingPeriod


def store_rows(upload: MetricUpload, rows: pd.DataFrame, actor: Actor) -> dict[str, int]:
    """Store validated rows for ``upload`` inside the caller's transaction.

    A row identical to the current value is left alone; a different one supersedes it
    (``superseded_at``; nothing is deleted). On PostgreSQL, when the periods have no
    current values yet (their first import) the rows are streamed with one binary
    ``COPY`` straight into the values table; otherwise they are streamed into a temporary
    table and merged with two statements.
    """
    user = upload.uploaded_by
    label = upload.uploaded_by_label or audit.actor_label(actor)
    source = f"upload {upload.pk}: {upload.original_name}"[:200]
    if connection.vendor == "postgresql":
        return _store_postgres(upload, rows, user, label, source)
    return _store_by_period(upload, rows, user, label, source)


def _store_by_period(
    upload: MetricUpload, rows: pd.DataFrame, user: Any, label: str, source: str
) -> dict[str, int]:
    """Other databases (SQLite in development): each period's rows through
    :func:`~oversight.inputs.record_inputs`, which compares and supersedes row by row."""
    created = superseded = unchanged = 0
    periods = ReportingPeriod.objects.in_bulk(list(rows["period_id"].unique()))
    for period_id, group in rows.groupby("period_id"):
        summary = record_inputs(
            period=periods[int(period_id)],
            rows=[
                InputRow(
                    int(r.organisation_id),
                    r.metric_id,
                    r.kind,
                    value=None if pd.isna(r.value) else float(r.value),
                    text=r.text,
                    reporting_date=None if pd.isna(r.reporting_date) else r.reporting_date,
                    reporting_period_text=r.reporting_period_text,
                    note=r.note,
                )
                for r in group.itertuples(index=False)
            ],
            source=source,
            actor=user or label,
            upload=upload,
        )
        created += summary.created
        superseded += summary.superseded
        unchanged += summary.unchanged
    return {"created": created, "superseded": superseded, "unchanged": unchanged}


# --- PostgreSQL -----------------------------------------------------------------------------


def _store_postgres(
    upload: MetricUpload, rows: pd.DataFrame, user: Any, label: str, source: str
) -> dict[str, int]:
    """A first import when none of the rows' periods has a current value (checked under
    the caller's period locks), otherwise a merge with the current values."""
    now = timezone.now()
    period_ids = [int(p) for p in rows["period_id"].unique()]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM oversight_metricvalue "
            "WHERE period_id = ANY(%s) AND superseded_at IS NULL)",
            [period_ids],
        )
        (has_current,) = cursor.fetchone()
        if not has_current:
            created = _copy_first_import(cursor, rows, upload, user, label, source, now)
            return {"created": created, "superseded": 0, "unchanged": 0}
    return _merge_postgres(upload, rows, user, label, source, now)


# --- PostgreSQL: a first import, one binary COPY into the values table ----------------------

# The values table's columns in the order the first-import COPY sends them: the per-row
# numbers first, then the fields that come from small dictionaries and the upload.
COPY_COLUMNS = [
    "period_id",
    "organisation_id",
    "value",
    "reporting_date",
    "metric_id",
    "kind",
    "text",
    "reporting_period_text",
    "note",
    "source",
    "upload_id",
    "recorded_by_id",
    "recorded_by_label",
    "recorded_at",
    "superseded_at",
]
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
COPY_CHUNK_ROWS = 65_536
PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
NULL_FIELD = (-1).to_bytes(4, "big", signed=True)


def _id_width(name: str) -> int:
    """Bytes of an id column of the values table: 4 (integer) or 8 (bigint), from the
    model, so a change of id type cannot garble the binary rows."""
    db_type = MetricValue._meta.get_field(name).db_type(connection)
    return {"integer": 4, "bigint": 8}[db_type]


def _row_start() -> np.dtype:
    """Each row's fixed-width start: its field count, the two ids, the value."""
    period, organisation = _id_width("period"), _id_width("organisation")
    return np.dtype(
        [
            ("fields", ">i2"),
            ("period_len", ">i4"),
            ("period_id", f">i{period}"),
            ("organisation_len", ">i4"),
            ("organisation_id", f">i{organisation}"),
            ("value_len", ">i4"),
            ("value", ">f8"),  # the last 8 bytes, left out when NULL
        ]
    )


def _field(data: bytes | None) -> bytes:
    """One field of a binary COPY row: its length and bytes, or NULL."""
    return NULL_FIELD if data is None else len(data).to_bytes(4, "big") + data


def _text_field(value: Any) -> bytes:
    """Text (NULL, NaN: empty)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        value = ""
    return _field(str(value).encode("utf-8"))


def _date_field(value: Any) -> bytes:
    """A date as days since 2000-01-01 (NULL, NaT: NULL)."""
    if value is None or (not isinstance(value, datetime.date) and pd.isna(value)):
        return NULL_FIELD
    if isinstance(value, datetime.datetime):
        value = value.date()
    days = (value - datetime.date(2000, 1, 1)).days
    return _field(days.to_bytes(4, "big", signed=True))


class _Stream(io.RawIOBase):
    """A read-only file over a sequence of byte blocks, so ``COPY`` sends each block
    while the next one is built (and the whole load is never in memory at once)."""

    def __init__(self, blocks: Iterable[bytes]):
        self.blocks = iter(blocks)
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self.pending:
            block = next(self.blocks, None)
            if block is None:
                return b""
            self.pending = memoryview(block)
        if size is None or size < 0:
            size = len(self.pending)
        out, self.pending = self.pending[:size], self.pending[size:]
        return out.tobytes()


# The fields each row takes from a few distinct values: all but the ids and the value.
SUFFIX_COLUMNS = ("reporting_date", "metric_id", "kind", "text", "reporting_period_text", "note")


def _copy_blocks(rows: pd.DataFrame, suffix_fields: Callable[[list], bytes]) -> Iterator[bytes]:
    """The rows in PostgreSQL's binary COPY format (``COPY_COLUMNS``), block by block.

    Every field after the value comes from a handful of distinct combinations (dates,
    metric, kind, text, note; then the upload's own fields), so each combination's bytes
    (``suffix_fields`` of its values) are built once; a block is then the rows'
    fixed-width starts and their combinations' bytes laid side by side in one padded
    array, from which the padding is dropped. Each block is built while the server
    stores the one before."""
    yield COPY_HEADER
    row_start = _row_start()
    start_width = row_start.itemsize
    columns = [pd.factorize(rows[c], use_na_sentinel=False) for c in SUFFIX_COLUMNS]
    suffixes: dict[tuple[int, ...], bytes] = {}
    period_id = rows["period_id"].to_numpy(dtype="int64")
    organisation_id = rows["organisation_id"].to_numpy(dtype="int64")
    value = rows["value"].to_numpy(dtype="float64")
    for begin in range(0, len(rows), COPY_CHUNK_ROWS):
        block = slice(begin, begin + COPY_CHUNK_ROWS)
        codes = [column_codes[block] for column_codes, _ in columns]
        local = np.zeros(len(codes[0]), dtype=np.int64)
        for column_codes in codes:
            local, _ = pd.factorize(local * (int(column_codes.max()) + 1) + column_codes)
        firsts = np.flatnonzero(~pd.Series(local).duplicated().to_numpy())
        present = []
        for first in firsts:
            key = tuple(int(column_codes[first]) for column_codes in codes)
            if key not in suffixes:
                suffixes[key] = suffix_fields(
                    [uniques[k] for k, (_, uniques) in zip(key, columns, strict=True)]
                )
            present.append(suffixes[key])
        lengths = np.array([len(p) for p in present], dtype=np.intp)
        width = int(lengths.max())
        table = np.zeros((len(present), width), dtype=np.uint8)
        for i, suffix in enumerate(present):
            table[i, : lengths[i]] = np.frombuffer(suffix, dtype=np.uint8)
        count = len(local)
        start = np.empty(count, dtype=row_start)
        start["fields"] = len(COPY_COLUMNS)
        start["period_len"] = row_start["period_id"].itemsize
        start["period_id"] = period_id[block]
        start["organisation_len"] = row_start["organisation_id"].itemsize
        start["organisation_id"] = organisation_id[block]
        missing = np.isnan(value[block])
        start["value_len"] = np.where(missing, -1, 8)
        start["value"] = value[block]
        padded = np.empty((count, start_width + width), dtype=np.uint8)
        padded[:, :start_width] = start.view(np.uint8).reshape(count, start_width)
        padded[:, start_width:] = table.take(local, axis=0)
        keep = np.empty(padded.shape, dtype=bool)
        keep[:, :start_width] = True
        keep[:, start_width - 8 : start_width] = ~missing[:, None]
        keep[:, start_width:] = (np.arange(width) < lengths[:, None]).take(local, axis=0)
        yield padded[keep].tobytes()
    yield COPY_TRAILER


def _copy_first_import(
    cursor: Any,
    rows: pd.DataFrame,
    upload: MetricUpload,
    user: Any,
    label: str,
    source: str,
    now: datetime.datetime,
) -> int:
    """Stream ``rows`` into the values table with one binary ``COPY`` (no current value
    exists for their periods, so there is nothing to compare or supersede)."""
    recorded_at = (now - PG_EPOCH) // datetime.timedelta(microseconds=1)
    user_id = getattr(user, "pk", None)
    upload_id = int(upload.pk).to_bytes(_id_width("upload"), "big", signed=True)
    upload_fields = (
        _text_field(source)
        + _field(upload_id)
        + (
            NULL_FIELD
            if user_id is None
            else _field(int(user_id).to_bytes(_id_width("recorded_by"), "big", signed=True))
        )
        + _text_field(label)
        + _field(recorded_at.to_bytes(8, "big", signed=True))
        + NULL_FIELD  # superseded_at
    )

    def suffix_fields(values: list) -> bytes:  # the values of SUFFIX_COLUMNS
        date, *texts = values
        return _date_field(date) + b"".join(_text_field(t) for t in texts) + upload_fields

    cursor.copy_expert(
        f"COPY oversight_metricvalue ({', '.join(COPY_COLUMNS)}) FROM STDIN WITH (FORMAT binary)",
        _Stream(_copy_blocks(rows, suffix_fields)),
        1 << 20,  # bytes per read
    )
    return len(rows)


# --- PostgreSQL: a merge with the current values --------------------------------------------

STRING_COLUMNS = ["metric_id", "kind", "text", "reporting_period_text", "note"]


def _binary_copy(rows: pd.DataFrame, codes: dict[str, np.ndarray]) -> bytes:
    """The rows in PostgreSQL's binary COPY format: ids as int8, the value as float8
    (NaN for none), and every text or date column as an int4 code into a small
    dictionary. Fixed-width fields, so the whole buffer is one NumPy record array."""
    fields = [
        ("period_id", ">i8", rows["period_id"].to_numpy()),
        ("organisation_id", ">i8", rows["organisation_id"].to_numpy()),
        ("value", ">f8", rows["value"].to_numpy(dtype="float64")),
        *[(name, ">i4", codes[name]) for name in [*STRING_COLUMNS, "reporting_date"]],
    ]
    layout = [("count", ">i2")]
    for name, kind, _ in fields:
        layout += [(f"{name}_len", ">i4"), (name, kind)]
    records = np.empty(len(rows), dtype=layout)
    records["count"] = len(fields)
    for name, kind, values in fields:
        records[f"{name}_len"] = np.dtype(kind).itemsize
        records[name] = values
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + records.tobytes() + (-1).to_bytes(2, "big", signed=True)


def _merge_postgres(
    upload: MetricUpload, rows: pd.DataFrame, user: Any, label: str, source: str, now: Any
) -> dict[str, int]:
    """Stage the rows in a temporary table, supersede current values that differ and
    insert what has no identical current value."""
    codes, dictionary = _dictionaries(rows)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        _stage(cursor, rows, codes, dictionary)
        _decode_staged(cursor)
        superseded = _supersede_changed(cursor, now)
        created = _insert_new(cursor, [source, upload.pk, getattr(user, "pk", None), label, now])
        cursor.execute("DROP VIEW ingest_values")
        cursor.execute("DROP TABLE ingest_rows, ingest_strings")
    return {"created": created, "superseded": superseded, "unchanged": len(rows) - created}


def _dictionaries(
    rows: pd.DataFrame,
) -> tuple[dict[str, np.ndarray], list[tuple[str, int, str | None]]]:
    """Each text or date column (``STRING_COLUMNS``, ``reporting_date``) as an int4 code
    per row, and the dictionary of every column's codes: (column, code, text or None)."""
    codes: dict[str, np.ndarray] = {}
    dictionary: list[tuple[str, int, str | None]] = []
    for name in [*STRING_COLUMNS, "reporting_date"]:
        column_codes, uniques = pd.factorize(rows[name], use_na_sentinel=False)
        codes[name] = column_codes.astype("int32")
        for code, value in enumerate(uniques):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                text = None
            else:
                text = value.isoformat() if name == "reporting_date" else str(value)
            dictionary.append((name, code, text))
    return codes, dictionary


def _stage(
    cursor: Any,
    rows: pd.DataFrame,
    codes: dict[str, np.ndarray],
    dictionary: list[tuple[str, int, str | None]],
) -> None:
    """Copy the coded rows and the dictionary into two temporary tables (dropped on
    commit) and analyse them."""
    cursor.execute(
        "CREATE TEMP TABLE ingest_rows (period_id int8, organisation_id int8, "
        "value float8, metric_id int4, kind int4, text int4, reporting_period_text int4, "
        "note int4, reporting_date int4) ON COMMIT DROP"
    )
    cursor.execute(
        "CREATE TEMP TABLE ingest_strings (name text, code int4, value text) ON COMMIT DROP"
    )
    cursor.copy_expert(
        "COPY ingest_rows FROM STDIN WITH (FORMAT binary)",
        io.BytesIO(_binary_copy(rows, codes)),
    )
    buffer = io.StringIO()
    pd.DataFrame(dictionary, columns=["name", "code", "value"]).to_csv(
        buffer, header=False, index=False, na_rep="\\N"
    )
    buffer.seek(0)
    cursor.copy_expert("COPY ingest_strings FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
    cursor.execute("ANALYZE ingest_rows")
    cursor.execute("ANALYZE ingest_strings")


def _decode_staged(cursor: Any) -> None:
    """Decoded rows: the codes looked up in the dictionaries (a view, so it is read
    straight from the staged rows by the two statements that follow)."""
    cursor.execute(
        """
        CREATE TEMP VIEW ingest_values AS
        WITH dict AS (
            SELECT name, array_agg(value ORDER BY code) AS vals
            FROM ingest_strings GROUP BY name
        ), d AS (
            SELECT
                (SELECT vals FROM dict WHERE name = 'metric_id') AS metric_id,
                (SELECT vals FROM dict WHERE name = 'kind') AS kind,
                (SELECT vals FROM dict WHERE name = 'text') AS text,
                (SELECT vals FROM dict WHERE name = 'reporting_date') AS reporting_date,
                (SELECT vals FROM dict WHERE name = 'reporting_period_text') AS period_text,
                (SELECT vals FROM dict WHERE name = 'note') AS note
        )
        SELECT r.period_id, r.organisation_id, d.metric_id[r.metric_id + 1] AS metric_id,
            d.kind[r.kind + 1] AS kind, NULLIF(r.value, 'NaN') AS value,
            coalesce(d.text[r.text + 1], '') AS text,
            d.reporting_date[r.reporting_date + 1]::date AS reporting_date,
            coalesce(d.period_text[r.reporting_period_text + 1], '')
                AS reporting_period_text,
            coalesce(d.note[r.note + 1], '') AS note
        FROM ingest_rows AS r CROSS JOIN d
        """
    )


def _supersede_changed(cursor: Any, now: Any) -> int:
    """Mark superseded (at ``now``) each current value the staged rows change; returns
    how many."""
    cursor.execute(
        """
        UPDATE oversight_metricvalue AS mv SET superseded_at = %s
        FROM ingest_values AS r
        WHERE mv.superseded_at IS NULL AND mv.period_id = r.period_id
          AND mv.organisation_id = r.organisation_id AND mv.metric_id = r.metric_id
          AND (mv.kind, mv.value, mv.text, mv.reporting_date)
              IS DISTINCT FROM (r.kind, r.value, r.text, r.reporting_date)
        """,
        [now],
    )
    return cursor.rowcount


def _insert_new(cursor: Any, upload_fields: list[Any]) -> int:
    """Insert each staged row that has no current value (now that changed ones are
    superseded), with the upload's fields (source, upload, who, when); returns how many."""
    cursor.execute(
        """
        INSERT INTO oversight_metricvalue (period_id, organisation_id, metric_id, kind,
            value, text, reporting_date, reporting_period_text, note, source, upload_id,
            recorded_by_id, recorded_by_label, recorded_at, superseded_at)
        SELECT r.period_id, r.organisation_id, r.metric_id, r.kind, r.value, r.text,
            r.reporting_date, r.reporting_period_text, r.note, %s, %s, %s, %s, %s, NULL
        FROM ingest_values AS r
        WHERE NOT EXISTS (
            SELECT 1 FROM oversight_metricvalue AS mv
            WHERE mv.superseded_at IS NULL AND mv.period_id = r.period_id
              AND mv.organisation_id = r.organisation_id AND mv.metric_id = r.metric_id)
        """,
        upload_fields,
    )
    return cursor.rowcount

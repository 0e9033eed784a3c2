"""Uploads: receive a file, validate it, store its rows (all or nothing), recompute.

The stages are separate functions so the web, the API, the command line and the Celery
task share them: :func:`receive_upload` keeps the file and enqueues the work on commit;
:func:`process_upload` validates, imports and recomputes; :func:`retry_upload` starts a
failed or stalled upload again from where it stopped.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from core.errors import ApplicationError
from systems import audit
from systems.actors import Actor, person_of
from systems.models import Organisation

from ..engine import MethodologyNotReady
from ..inputs import InputRow, record_inputs
from ..metric_ids import CQC_OVERALL_ID
from ..models import (
    UPLOAD_IN_PROGRESS,
    MetricDefinition,
    MetricUpload,
    MetricValue,
    ReportingPeriod,
    UploadStatus,
)
from ..runs import run_segmentation
from .checks import KIND_RATING, KIND_SCORE, KIND_VALUE, Reference
from .problems import FileRejected, Problem
from .readers import ROW, Limits, read_table
from .validation import HEADER_SETS, USED_COLUMNS, validate

logger = logging.getLogger(__name__)

MAX_STORED_PROBLEMS = 10_000
CQC_RATINGS = ("Outstanding", "Good", "Requires improvement", "Inadequate")


class UploadRefused(ApplicationError):
    """The file is refused before it is kept (too large, empty name)."""

    field = "file"


def limits() -> Limits:
    return Limits(
        max_bytes=settings.METRIC_UPLOAD_MAX_BYTES,
        max_uncompressed_bytes=settings.METRIC_UPLOAD_MAX_UNCOMPRESSED_BYTES,
    )


# --- Reference data for validation ---------------------------------------------------------


def reference_data() -> Reference:
    """Organisations, periods and every methodology's catalogue, as plain tables."""
    orgs = pd.DataFrame(
        list(
            Organisation.objects.values_list(
                "code",
                "id",
                "name",
                "peer_group",
                "region__short_name",
                "kind",
                "open_date",
                "close_date",
            )
        ),
        columns=["code", "id", "name", "peer_group", "region", "kind", "open_date", "close_date"],
    ).set_index("code")
    periods = pd.DataFrame(
        list(
            ReportingPeriod.objects.values_list(
                "slug", "id", "label", "start_date", "end_date", "methodology__slug"
            )
        ),
        columns=["slug", "id", "label", "start_date", "end_date", "methodology"],
    ).set_index("slug")
    metrics = []
    for m in MetricDefinition.objects.select_related("methodology"):
        common = {
            "methodology": m.methodology.slug,
            "peer_groups": tuple(m.peer_groups),
            "valid_min": m.valid_min,
            "valid_max": m.valid_max,
            "ratings": (),
        }
        if m.method == "rating":
            scale = (m.params or {}).get("scale", {})
            labels = tuple(sorted(scale, key=lambda label: scale[label]))
            metrics.append(
                {**common, "metric_id": m.score_id, "kind": KIND_RATING, "ratings": labels}
            )
            continue
        if m.value_id:
            metrics.append({**common, "metric_id": m.value_id, "kind": KIND_VALUE})
        if m.method != "contextual":
            metrics.append(
                {
                    **common,
                    "metric_id": m.score_id,
                    "kind": KIND_SCORE,
                    "valid_min": None,
                    "valid_max": None,
                }
            )
    for slug in {m["methodology"] for m in metrics} | set(
        MetricDefinition.objects.values_list("methodology__slug", flat=True)
    ):
        metrics.append(
            {
                "methodology": slug,
                "metric_id": CQC_OVERALL_ID,
                "kind": KIND_RATING,
                "peer_groups": ("acute", "mental-health-and-community", "ambulance"),
                "valid_min": None,
                "valid_max": None,
                "ratings": CQC_RATINGS,
            }
        )
    columns = [
        "methodology",
        "metric_id",
        "kind",
        "peer_groups",
        "valid_min",
        "valid_max",
        "ratings",
    ]
    frame = pd.DataFrame(metrics, columns=columns).drop_duplicates(["methodology", "metric_id"])
    return Reference(organisations=orgs, periods=periods, metrics=frame)


# --- Receiving ------------------------------------------------------------------------------


@dataclass
class Received:
    upload: MetricUpload
    created: bool
    message: str = ""


def receive_upload(
    *,
    content: bytes,
    filename: str,
    actor: Actor,
    requested_format: str = "",
    via: str = "web",
    segment: bool = True,
    enqueue: bool = True,
    allowed_codes: list[str] | None = None,
) -> Received:
    """Keep the file and start its processing (on commit). Content already imported, or
    being imported now, is recognised and the earlier upload returned instead.
    ``allowed_codes`` limits the organisations the file may carry (the uploader's scope;
    see :func:`upload_scope`)."""
    if len(content) > settings.METRIC_UPLOAD_MAX_BYTES:
        raise UploadRefused(
            f"{filename} is {len(content) / 1048576:.1f} MB; the largest file accepted is "
            f"{settings.METRIC_UPLOAD_MAX_BYTES / 1048576:.0f} MB. Split it by quarter."
        )
    if not content:
        raise UploadRefused(f"{filename} is empty (0 bytes).")
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        earlier = (
            MetricUpload.objects.filter(sha256=digest)
            .filter(
                # Imported already, or on its way (a duplicate submitted twice quickly).
                imported_at__isnull=False
            )
            .first()
        ) or MetricUpload.objects.filter(sha256=digest, status__in=UPLOAD_IN_PROGRESS).first()
        if earlier is not None:
            audit.record(
                actor=actor,
                action="upload.repeated",
                obj=earlier,
                after={"filename": filename, "sha256": digest},
                reason=f"Same content as upload {earlier.pk}; not imported again",
            )
            when = timezone.localtime(earlier.created_at).strftime("%d %B %Y %H:%M")
            return Received(
                earlier,
                False,
                f"This file's content was already uploaded as upload {earlier.pk} "
                f"({earlier.original_name}, {when}); it was not imported again.",
            )
        user = person_of(actor)
        upload = MetricUpload(
            original_name=filename[:255],
            sha256=digest,
            size_bytes=len(content),
            requested_format=requested_format,
            uploaded_by=user,
            uploaded_by_label=audit.actor_label(actor),
            via=via,
            segment_after_import=segment,
            allowed_codes=sorted(allowed_codes) if allowed_codes is not None else None,
        )
        upload.file.save(f"{digest[:16]}-{_safe_name(filename)}", ContentFile(content), save=False)
        upload.save()
        audit.record(
            actor=actor,
            action="upload.received",
            obj=upload,
            after={"filename": filename, "sha256": digest, "bytes": len(content), "via": via},
            reason="Metric file uploaded",
        )
        if enqueue:
            _enqueue(upload)
    return Received(upload, True)


def upload_scope(user: Any) -> list[str] | None:
    """The organisation codes ``user`` may upload for: ``None`` (any) for national users,
    otherwise the organisations they can see (an ICB analyst: the ICB and its trusts)."""
    from systems.authorization import Permission, has_permission, visible_organisations

    if has_permission(user, Permission.VIEW_ALL):
        return None
    return list(visible_organisations(user).values_list("code", flat=True))


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _safe_name(filename: str) -> str:
    keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return keep[-80:] or "upload"


def _enqueue(upload: MetricUpload) -> None:
    from ..tasks import process_upload as task

    pk = upload.pk
    transaction.on_commit(lambda: task.delay(pk))


# --- Processing -----------------------------------------------------------------------------


def _set(upload: MetricUpload, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(upload, name, value)
    fields["updated_at"] = timezone.now()
    MetricUpload.objects.filter(pk=upload.pk).update(**fields)


def process_upload(*, upload_id: int, actor: Actor = "celery: process_upload") -> MetricUpload:
    """Validate, import and recompute one upload, from whatever stage it stopped at.

    Safe to run again: an upload that is finished is left alone, and one whose rows are
    already stored goes straight to the recompute. Unexpected failures mark it ``failed``
    with the reason (it can be retried); they are not raised.
    """
    upload = MetricUpload.objects.get(pk=upload_id)
    if upload.status in (UploadStatus.DONE, UploadStatus.INVALID, UploadStatus.DUPLICATE):
        return upload
    _set(upload, attempts=upload.attempts + 1, failure_reason="")
    try:
        if upload.imported_at is None and not _validate_and_import(upload, actor):
            return upload
        if upload.segment_after_import:
            _recompute(upload, actor)
        else:
            _set(upload, status=UploadStatus.DONE, progress=100, finished_at=timezone.now())
    except Exception as exc:
        logger.exception("upload %s failed", upload.pk)
        _set(
            upload,
            status=UploadStatus.FAILED,
            failure_reason=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        audit.record(
            actor=actor,
            action="upload.failed",
            obj=upload,
            after={"reason": upload.failure_reason},
            reason="Processing stopped with an error; it can be retried",
        )
    return upload


def _validate_and_import(upload: MetricUpload, actor: Actor) -> bool:
    _set(upload, status=UploadStatus.VALIDATING, progress=0, stage_detail="Reading the file")
    with upload.file.open("rb") as fh:
        content = fh.read()

    def progress(percent: int, detail: str) -> None:
        _set(upload, progress=percent, stage_detail=detail)

    filename = upload.original_name
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        raw = read_table(
            content,
            filename,
            header_sets=HEADER_SETS,
            limits=limits(),
            progress=progress,
            columns=USED_COLUMNS,
        )
        timings["read_ms"] = _ms(started)
        _set(
            upload,
            file_type=raw.file_type,
            encoding=raw.encoding,
            sheet_name=raw.sheet,
            row_count=len(raw.frame),
            progress=60,
            stage_detail=f"Checking {len(raw.frame):,} rows",
        )
        checked = validate(
            raw.frame,
            reference_data(),
            requested=upload.requested_format,
            filename=filename,
            header=raw.header,
            allowed=set(upload.allowed_codes) if upload.allowed_codes is not None else None,
        )
    except FileRejected as rejected:
        _reject(upload, [p.as_dict() for p in rejected.problems], [], actor)
        return False
    timings["validate_ms"] = _ms(started) - timings["read_ms"]
    warnings = [_with_sheet(p, raw.sheet) for p in raw.warnings + checked.warnings]
    _set(upload, detected_format=checked.format)
    if not checked.ok:
        _reject(upload, _problem_dicts(checked.errors, filename, raw.sheet), warnings, actor)
        return False
    _set(upload, progress=80, stage_detail=f"Storing {len(checked.rows):,} rows")
    return _import(upload, checked.rows, warnings, actor, timings)


def _with_sheet(problem: Problem, sheet: str) -> dict[str, Any]:
    data = problem.as_dict()
    data["sheet"] = data["sheet"] or sheet
    return data


def _problem_dicts(errors: pd.DataFrame, filename: str, sheet: str) -> list[dict[str, Any]]:
    head = errors.head(MAX_STORED_PROBLEMS)
    return [
        {
            "severity": "error",
            "file": filename,
            "sheet": sheet,
            "row": int(row),
            "column": column,
            "value": str(value)[:200],
            "message": message,
        }
        for row, column, value, message in head[[ROW, "column", "value", "message"]].itertuples(
            index=False
        )
    ]


def _reject(
    upload: MetricUpload,
    errors: list[dict[str, Any]],
    warnings: list[dict[str, Any]],
    actor: Actor,
    total: int | None = None,
) -> None:
    count = total if total is not None else len(errors)
    _set(
        upload,
        status=UploadStatus.INVALID,
        errors=errors,
        error_count=count,
        warnings=warnings,
        progress=100,
        stage_detail=f"{count:,} problem{'s' if count != 1 else ''} found; nothing was stored",
        finished_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action="upload.rejected",
        obj=upload,
        after={"errors": count, "first": errors[0]["message"] if errors else ""},
        reason="The file has errors; nothing was stored",
    )


def _import(
    upload: MetricUpload,
    rows: pd.DataFrame,
    warnings: list[dict[str, Any]],
    actor: Actor,
    timings: dict[str, float] | None = None,
) -> bool:
    started = time.perf_counter()
    period_ids = sorted(int(p) for p in rows["period_id"].unique())
    with transaction.atomic():
        # One import per period at a time: concurrent uploads for a period queue here.
        list(ReportingPeriod.objects.select_for_update().filter(pk__in=period_ids).order_by("pk"))
        earlier = (
            MetricUpload.objects.filter(sha256=upload.sha256, imported_at__isnull=False)
            .exclude(pk=upload.pk)
            .first()
        )
        if earlier is not None:
            _set(
                upload,
                status=UploadStatus.DUPLICATE,
                duplicate_of=earlier,
                progress=100,
                stage_detail=f"Same content as upload {earlier.pk}; not imported again",
                finished_at=timezone.now(),
            )
            return False
        counts = store_rows(upload, rows, actor)
        by_period = rows.groupby("period_id").size()
        labels = dict(ReportingPeriod.objects.filter(pk__in=period_ids).values_list("pk", "label"))
        summary = {
            "rows": len(rows),
            **counts,
            "by_kind": {k: int(v) for k, v in sorted(rows["kind"].value_counts().items()) if v},
            "by_period": {labels[int(p)]: int(n) for p, n in by_period.items()},
            "timings": {**(timings or {}), "store_ms": _ms(started)},
        }
        upload.periods.set(period_ids)
        now = timezone.now()
        _set(
            upload,
            status=UploadStatus.IMPORTED,
            imported_at=now,
            summary=summary,
            warnings=warnings,
            progress=100,
            stage_detail=f"Stored {counts['created']:,} new values",
        )
        audit.record(
            actor=actor,
            action="upload.imported",
            obj=upload,
            after=summary,
            reason=f"Imported {upload.original_name}",
        )
    return True


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
    if value is None or (not isinstance(value, datetime.date) and pd.isna(value)):
        return NULL_FIELD
    if isinstance(value, datetime.datetime):
        value = value.date()
    days = (value - datetime.date(2000, 1, 1)).days
    return _field(days.to_bytes(4, "big", signed=True))


class _Stream(io.RawIOBase):
    """A read-only file over a sequence of byte blocks, so ``COPY`` sends each block
    while the next one is built (and the whole load is never in memory at once)."""

    def __init__(self, blocks):
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


def _copy_blocks(rows: pd.DataFrame, suffix_fields) -> Any:
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
    cursor, rows: pd.DataFrame, upload: MetricUpload, user: Any, label: str, source: str, now
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


def _store_postgres(
    upload: MetricUpload, rows: pd.DataFrame, user: Any, label: str, source: str
) -> dict[str, int]:
    now = timezone.now()
    period_ids = [int(p) for p in rows["period_id"].unique()]
    with connection.cursor() as cursor:
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


def _merge_postgres(
    upload: MetricUpload, rows: pd.DataFrame, user: Any, label: str, source: str, now: Any
) -> dict[str, int]:
    """Stage the rows in a temporary table, supersede current values that differ and
    insert what has no identical current value."""
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
    with connection.cursor() as cursor:
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
        # Decoded rows: the codes looked up in the dictionaries (a view, so it is read
        # straight from the staged rows by the two statements below).
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
        superseded = cursor.rowcount
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
            [source, upload.pk, getattr(user, "pk", None), label, now],
        )
        created = cursor.rowcount
        cursor.execute("DROP VIEW ingest_values")
        cursor.execute("DROP TABLE ingest_rows, ingest_strings")
    return {"created": created, "superseded": superseded, "unchanged": len(rows) - created}


def _recompute(upload: MetricUpload, actor: Actor) -> None:
    periods = list(upload.periods.select_related("methodology", "current_run").order_by("pk"))
    _set(upload, status=UploadStatus.RECOMPUTING, progress=0, stage_detail="Segmenting")
    skipped = []
    for done, period in enumerate(periods):
        _set(
            upload,
            progress=int(100 * done / max(len(periods), 1)),
            stage_detail=f"Segmenting {period.label} ({done + 1} of {len(periods)})",
        )
        try:
            run = run_segmentation(
                period=period, actor=actor, trigger="upload", only_if_changed=True
            )
        except MethodologyNotReady as exc:
            skipped.append(f"{period.label}: {exc}")
            continue
        upload.runs.add(run)
    summary = {**upload.summary, "not_segmented": skipped}
    _set(
        upload,
        status=UploadStatus.DONE,
        progress=100,
        summary=summary,
        stage_detail=(
            f"Imported and segmented {len(periods) - len(skipped)} of {len(periods)} "
            f"period{'s' if len(periods) != 1 else ''}"
        ),
        finished_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action="upload.recomputed",
        obj=upload,
        after={"runs": list(upload.runs.values_list("pk", flat=True)), "skipped": skipped},
        reason="Segmentation after import",
    )


# --- Retrying -------------------------------------------------------------------------------


class CannotRetry(ApplicationError):
    """The upload cannot be retried now; the message says why."""

    field = "upload"


def is_stalled(upload: MetricUpload) -> bool:
    """In progress with no sign of life for longer than ``UPLOAD_STALLED_AFTER_SECONDS``
    (the worker that had it stopped)."""
    limit = datetime.timedelta(seconds=settings.UPLOAD_STALLED_AFTER_SECONDS)
    return upload.in_progress and timezone.now() - upload.updated_at > limit


def retry_upload(*, upload: MetricUpload, actor: Actor, reason: str = "") -> MetricUpload:
    """Start a failed or stalled upload again, from where it stopped (on commit)."""
    if not (upload.status == UploadStatus.FAILED or is_stalled(upload)):
        raise CannotRetry(
            f"Upload {upload.pk} is {upload.get_status_display().lower()}; only a failed or "
            "stalled upload can be retried."
        )
    with transaction.atomic():
        before = upload.status
        _set(
            upload,
            status=UploadStatus.IMPORTED if upload.imported_at else UploadStatus.RECEIVED,
            stage_detail="Queued again",
            progress=0,
            finished_at=None,
        )
        audit.record(
            actor=actor,
            action="upload.retried",
            obj=upload,
            before={"status": before},
            after={"status": upload.status},
            reason=reason or "Retried by a user",
        )
        _enqueue(upload)
    return upload

"""Checking every row of a metric file against the reference data, all errors at once.

Pure pandas: the caller passes the reference data (:class:`Reference`) and the table read
from the file; the result is either rows ready to store or the full list of problems.
A file repeats a few codes, ids and periods on every row, so each check runs once per
distinct value (:class:`Coded`) and is looked up for every row with integer operations:
a million-row file is checked in well under a second. Every check runs on every row,
whatever else is wrong with it, so a row's problems are all listed at once.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metric_ids import (
    CQC_OVERALL_ID,
    OVERRIDE_FLAG_ID,
    PROGRAMME_ID,
    PUBLISHED_DOMAIN_RE,
    PUBLISHED_IDS,
    PUBLISHED_RANK_ID,
)
from .problems import FileRejected, Problem
from .readers import ROW

# --- The two formats ------------------------------------------------------------------------

NHSE = "nhse"
TEMPLATE = "template"

NHSE_COLUMNS = [
    "Quarter",
    "Region",
    "Trust_type",
    "Trust_subtype",
    "Trust_code",
    "Trust_name",
    "Domain",
    "Sub-domain",
    "Metric_ID",
    "Metric_description",
    "Reporting_date",
    "Units",
    "Value",
    "Median_value",
    "Lower_quartile",
    "Upper_quartile",
    "Rank",
]
TEMPLATE_COLUMNS = ["org_code", "metric_id", "period", "value", "reporting_date", "note"]


@dataclass(frozen=True)
class FileFormat:
    slug: str
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    # canonical name -> the format's column
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


FORMATS = {
    NHSE: FileFormat(
        NHSE,
        "NHS England NOF data file",
        required=(
            "Quarter",
            "Region",
            "Trust_code",
            "Trust_name",
            "Metric_ID",
            "Reporting_date",
            "Value",
        ),
        optional=tuple(
            c
            for c in NHSE_COLUMNS
            if c
            not in {"Quarter", "Region", "Trust_code", "Trust_name", "Metric_ID", "Reporting_date"}
            | {"Value"}
        ),
        mapping={
            "period": "Quarter",
            "org_code": "Trust_code",
            "metric_id": "Metric_ID",
            "value": "Value",
            "reporting": "Reporting_date",
            "name": "Trust_name",
            "region": "Region",
        },
    ),
    TEMPLATE: FileFormat(
        TEMPLATE,
        "template",
        required=("org_code", "metric_id", "period", "value"),
        optional=("reporting_date", "note"),
        mapping={
            "period": "period",
            "org_code": "org_code",
            "metric_id": "metric_id",
            "value": "value",
            "reporting": "reporting_date",
            "note": "note",
        },
    ),
}

HEADER_SETS = [set(f.required) for f in FORMATS.values()]
# Every column :func:`validate` reads, in either format (the others are only named).
USED_COLUMNS = frozenset(c for f in FORMATS.values() for c in f.mapping.values()) | {"Rank"}

SCORE_RANGE = (1.0, 4.0)  # a supplied score; 0 is NHS England's "no score"

KIND_VALUE = "value"
KIND_SCORE = "score"
KIND_FLAG = "override_flag"
KIND_PROGRAMME = "programme"
KIND_PUBLISHED = "published"
KIND_RATING = "rating"  # catalogue entry only: stored as a value (text) or a score (number)

YES = {"1", "1.0", "yes", "y", "true"}
NO = {"0", "0.0", "no", "n", "false"}

LABEL_RE = re.compile(r"^Q([1-4])\s*(\d{4})\s*[/-]\s*(\d{2})$", re.IGNORECASE)
SLUG_RE = re.compile(r"^(\d{4})-(\d{2})-q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    """The reference data rows are checked against.

    - ``organisations``: index ``code``; columns ``id, name, peer_group, region, kind,
      open_date, close_date`` (dates as ``datetime64``, NaT when unknown/open).
    - ``periods``: index ``slug``; columns ``id, label, start_date, end_date, methodology``.
    - ``metrics``: columns ``methodology, metric_id, kind (value|score|rating),
      peer_groups (tuple), valid_min, valid_max, ratings (tuple of labels)``.
    """

    organisations: pd.DataFrame
    periods: pd.DataFrame
    metrics: pd.DataFrame


@dataclass
class Validated:
    format: str
    rows: pd.DataFrame
    errors: pd.DataFrame
    warnings: list[Problem]
    blank_values: int = 0
    identical_duplicates: int = 0

    @property
    def ok(self) -> bool:
        return self.errors.empty


ERROR_COLUMNS = [ROW, "column", "value", "message"]


def detect_format(columns: list[str], requested: str = "", filename: str = "") -> FileFormat:
    """The format the header row belongs to, or :class:`FileRejected` saying what is
    missing (and which present column looks like a renamed one)."""
    present = [c for c in columns if c != ROW]
    if requested:
        chosen = FORMATS[requested]
    else:
        scores = {
            slug: len(set(f.required) & set(present)) + 0.5 * len(set(f.optional) & set(present))
            for slug, f in FORMATS.items()
        }
        slug = max(scores, key=lambda s: scores[s])
        if scores[slug] < 2:
            raise FileRejected(
                [
                    Problem(
                        "The columns are not recognised. Expected our template ("
                        + ", ".join(FORMATS[TEMPLATE].required)
                        + ", optionally reporting_date, note) or NHS England's NOF data file ("
                        + ", ".join(NHSE_COLUMNS)
                        + f"). Found: {', '.join(present) or 'nothing'}.",
                        row=1,
                        file=filename,
                    )
                ]
            )
        chosen = FORMATS[slug]
    missing = [c for c in chosen.required if c not in present]
    if missing:
        unexpected = [c for c in present if c not in chosen.columns]
        problems = []
        for name in missing:
            near = _near(name, unexpected)
            if near:
                problems.append(
                    Problem(
                        f"The column '{near}' should be named '{name}' ({chosen.name} format).",
                        row=1,
                        column=near,
                        value=near,
                        file=filename,
                    )
                )
            else:
                problems.append(
                    Problem(
                        f"The required column '{name}' is missing ({chosen.name} format needs "
                        f"{', '.join(chosen.required)}).",
                        row=1,
                        column=name,
                        file=filename,
                    )
                )
        raise FileRejected(problems)
    return chosen


def _near(name: str, candidates: list[str]) -> str:
    folded = {re.sub(r"[\s_\-]+", "", c).lower(): c for c in candidates}
    key = re.sub(r"[\s_\-]+", "", name).lower()
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in candidates], 1, 0.75)
    if close:
        return next(c for c in candidates if c.lower() == close[0])
    return ""


def _period_slug(text: str) -> str:
    text = " ".join(text.split())
    match = LABEL_RE.match(text)
    if match:
        quarter, year, short = match.groups()
        return f"{year}-{short}-q{quarter}"
    match = SLUG_RE.match(text)
    if match:
        return text.lower()
    return ""


def _strip(value) -> str:
    return "" if value is None or value != value else str(value).strip()


def _strip_upper(value) -> str:
    return _strip(value).upper()


class Coded:
    """A column as codes into a small table (a file repeats its codes, ids and periods on
    every row): a check runs once per table entry and is then looked up for every row
    with one integer ``take``, never one Python call per row. The table may hold a value
    more than once."""

    __slots__ = ("codes", "table")

    def __init__(self, codes: np.ndarray, table: np.ndarray):
        self.codes = codes
        self.table = table

    @classmethod
    def of(cls, values: pd.Series) -> Coded:
        if isinstance(values.dtype, pd.CategoricalDtype):
            # Already coded; code -1 (a missing cell) takes the last entry, NaN.
            table = _objects([*values.cat.categories, np.nan])
            # As intp, so every lookup indexes without converting the codes first.
            return cls(values.cat.codes.to_numpy().astype(np.intp), table)
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
        return cls(codes, np.asarray(uniques, dtype=object))

    @classmethod
    def constant(cls, value, length: int) -> Coded:
        return cls(np.zeros(length, dtype=np.intp), _objects([value]))

    def per_entry(self, func, dtype=object) -> np.ndarray:
        """``func`` of each table entry (not of each row)."""
        if dtype is object:
            return _objects([func(v) for v in self.table])
        return np.fromiter((func(v) for v in self.table), dtype=dtype, count=len(self.table))

    def with_table(self, table: np.ndarray) -> Coded:
        return Coded(self.codes, table)

    def map(self, func) -> Coded:
        """``func`` of every row's value, as a column with distinct table entries."""
        codes, uniques = pd.factorize(self.per_entry(func), use_na_sentinel=False)
        return Coded(codes.take(self.codes), np.asarray(uniques, dtype=object))

    def test(self, predicate) -> np.ndarray:
        return self.per_entry(predicate, dtype=bool).take(self.codes)

    def eq(self, value) -> np.ndarray:
        return self.test(lambda v: v == value)

    def isin(self, values) -> np.ndarray:
        values = set(values)
        return self.test(lambda v: v in values)

    def values(self, rows=None) -> np.ndarray:
        """The value of every row, or of ``rows`` (a mask or positions), as objects."""
        return self.table.take(self.codes if rows is None else self.codes[rows])

    def text(self, rows) -> np.ndarray:
        """``values(rows)`` as text (for the problem report)."""
        return self.per_entry(str).take(self.codes[rows])

    def categorical(self, rows) -> pd.Categorical:
        """The values of ``rows`` as a categorical (a missing value, None or NaN, as NaN)."""
        missing = np.array([v is None or v != v for v in self.table], dtype=bool)
        codes, uniques = pd.factorize(_objects(list(self.table[~missing])))
        entry = np.full(len(self.table), -1, dtype=np.intp)
        entry[~missing] = codes
        return pd.Categorical.from_codes(entry.take(self.codes[rows]), _objects(list(uniques)))

    def positions(self, index: pd.Index) -> np.ndarray:
        """Each row's position in ``index`` (unique labels), -1 where it is not there."""
        return index.get_indexer(pd.Index(self.table, dtype=object)).take(self.codes)


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _at(values, positions: np.ndarray, fill) -> np.ndarray:
    """``values[positions]``, with ``fill`` where the position is -1 (not found)."""
    values = np.asarray(values)
    if values.dtype == object:
        dtype = object
    else:
        dtype = np.result_type(values.dtype, np.asarray(fill).dtype)
    padded = np.empty(len(values) + 1, dtype=dtype)
    padded[:-1] = values
    padded[-1] = fill  # position -1 is the last entry
    return padded.take(positions)


def _combine(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A code for each row's pair of non-negative codes ``(a, b)`` (the same pair, the
    same code, from 0), and each code's ``a`` and ``b``."""
    width = int(b.max()) + 1 if len(b) else 1
    key = a.astype(np.int64) * width + b
    size = (int(a.max()) + 1 if len(a) else 1) * width
    if size <= max(4 * len(key), 1 << 16):
        # Few possible pairs: mark those present, without hashing.
        present = np.zeros(size, dtype=bool)
        present[key] = True
        pairs = np.flatnonzero(present)
        codes = (np.cumsum(present) - 1).take(key)
    else:
        codes, pairs = pd.factorize(key)
    return codes, pairs // width, pairs % width


class _Errors:
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str, values: Coded, message) -> None:
        """An error for each row under ``mask``: ``message`` is one text for all, or one
        per row under the mask (in row order)."""
        if not mask.any():
            return
        self.parts.append(
            pd.DataFrame(
                {
                    ROW: self.rows[mask],
                    "column": column,
                    "value": values.text(mask),
                    "message": message if isinstance(message, str) else _objects(list(message)),
                }
            )
        )

    def frame(self, header: list[str]) -> pd.DataFrame:
        """Every error, by row and, within a row, in the order of the file's columns."""
        if not self.parts:
            return pd.DataFrame(columns=ERROR_COLUMNS)
        errors = pd.concat(self.parts, ignore_index=True)
        place = {name: i for i, name in enumerate(header)}
        position = errors["column"].map(place).fillna(len(place))
        order = np.lexsort((position.to_numpy(), errors[ROW].to_numpy()))
        return errors.take(order).reset_index(drop=True)


UNKNOWN_METRIC = (
    "Unknown metric: not in {where}, nor one of NHS England's result identifiers (OF4xxx, OF50xx)."
)


def validate(
    raw: pd.DataFrame,
    reference: Reference,
    *,
    requested: str = "",
    filename: str = "",
    header: list[str] | None = None,
    allowed: set[str] | None = None,
) -> Validated:
    """Check every row of ``raw`` (text cells plus ``_row``); rows are stored only when
    ``errors`` is empty. ``header`` is the file's full header row when ``raw`` holds only
    the columns that are used; ``allowed`` (codes) limits whom the uploader may upload for."""
    header = header or [c for c in raw.columns if c != ROW]
    fmt = detect_format(header, requested, filename)
    cols = fmt.mapping
    warnings: list[Problem] = []
    unexpected = [c for c in header if c != ROW and c not in fmt.columns]
    if unexpected:
        warnings.append(
            Problem(
                f"Columns not used by the {fmt.name} format were ignored: {', '.join(unexpected)}.",
                row=1,
                severity="warning",
                file=filename,
            )
        )
    n = len(raw)
    row_numbers = raw[ROW].to_numpy()
    errors = _Errors(row_numbers)

    def text(canonical: str) -> Coded:
        column = cols.get(canonical)
        if column is None or column not in raw.columns:
            return Coded.constant("", n)
        return Coded.of(raw[column]).map(_strip)

    org_code = text("org_code").map(str.upper)
    metric_id = text("metric_id").map(str.upper)
    period_text = text("period")
    value_text = text("value")
    reporting = text("reporting")
    note = text("note")

    # Required cells.
    for canonical, column in (
        ("org_code", org_code),
        ("metric_id", metric_id),
        ("period", period_text),
    ):
        errors.add(column.eq(""), cols[canonical], column, "A value is required here.")

    # Periods.
    periods = reference.periods
    slug = period_text.map(_period_slug)
    bad_form = ~period_text.eq("") & slug.eq("")
    errors.add(
        bad_form,
        cols["period"],
        period_text,
        "Not a period: expected a quarter such as 'Q1 2025/26'.",
    )
    period_at = slug.positions(periods.index)
    period_ok = period_at >= 0
    unknown_period = ~slug.eq("") & ~period_ok
    known_labels = ", ".join(periods["label"]) if len(periods) else "none"
    errors.add(
        unknown_period,
        cols["period"],
        period_text,
        f"This period does not exist here; the periods are: {known_labels}.",
    )
    period_id = _at(periods["id"].to_numpy(), period_at, 0)
    methodology_codes, methodologies = pd.factorize(periods["methodology"], use_na_sentinel=False)
    row_methodology = _at(methodology_codes, period_at, -1)  # -1: the period is not known

    # Organisations.
    orgs = reference.organisations
    org_at = org_code.positions(orgs.index)
    known_org = org_at >= 0
    errors.add(
        ~org_code.eq("") & ~known_org,
        cols["org_code"],
        org_code,
        "Unknown organisation code: not an NHS trust or ICB in the reference data.",
    )
    if allowed is not None:
        outside = known_org & ~org_code.isin(allowed)
        errors.add(
            outside,
            cols["org_code"],
            org_code,
            "Outside your scope: you may upload only for your ICB and the trusts it hosts.",
        )
        known_org = known_org & ~outside
    org_at = np.where(known_org, org_at, -1)
    org_id = _at(orgs["id"].to_numpy(), org_at, 0)
    group_codes, group_names = pd.factorize(orgs["peer_group"], use_na_sentinel=False)
    group_names = np.asarray(group_names, dtype=object)
    row_group = _at(group_codes, org_at, -1)
    # Open in the period: checked once per distinct (organisation, period) pair.
    nat = np.datetime64("NaT")
    span, span_org, span_period = _combine(org_at + 1, period_at + 1)
    opened = _at(pd.to_datetime(orgs["open_date"]).to_numpy(), span_org - 1, nat)
    closed = _at(pd.to_datetime(orgs["close_date"]).to_numpy(), span_org - 1, nat)
    start = _at(pd.to_datetime(periods["start_date"]).to_numpy(), span_period - 1, nat)
    end = _at(pd.to_datetime(periods["end_date"]).to_numpy(), span_period - 1, nat)
    span_not_open = (span_org > 0) & (span_period > 0) & ((opened > end) | (closed <= start))
    not_open = span_not_open.take(span)
    if not_open.any():
        when = np.where(
            opened > end,
            "opened on " + pd.Series(opened).dt.strftime("%d %B %Y"),
            "closed on " + pd.Series(closed).dt.strftime("%d %B %Y"),
        ).take(span[not_open])
        message = (
            "This organisation was not open in " + period_text.values(not_open) + " (it " + when
        ) + ")."
        errors.add(not_open, cols["org_code"], org_code, message)

    # Metrics: the period's methodology catalogue, plus NHS England's result identifiers;
    # looked up once per distinct (methodology, metric) pair.
    catalogue = reference.metrics
    entries = {
        (m.methodology, m.metric_id): m for m in catalogue.itertuples(index=False, name="Entry")
    }
    pair, pair_methodology, pair_metric = _combine(row_methodology + 1, metric_id.codes)
    domain_re = re.compile(PUBLISHED_DOMAIN_RE)
    is_published = metric_id.per_entry(
        lambda m: m in PUBLISHED_IDS or bool(domain_re.match(m)), dtype=bool
    )
    published_id = is_published.take(metric_id.codes)
    pairs = []  # (methodology or None: the period is not known, metric, kind, entry)
    for methodology_code, metric_code in zip(pair_methodology - 1, pair_metric, strict=True):
        name = methodologies[methodology_code] if methodology_code >= 0 else None
        metric = metric_id.table[metric_code]
        entry = entries.get((name, metric)) if methodology_code >= 0 else None
        kind = entry.kind if entry is not None else ""
        if metric == OVERRIDE_FLAG_ID:
            kind = KIND_FLAG
        elif metric == PROGRAMME_ID:
            kind = KIND_PROGRAMME
        if is_published[metric_code]:
            kind = KIND_PUBLISHED
        pairs.append((name, metric, kind, entry))
    pair_entry = _objects([e for *_, e in pairs])
    kinds = list(dict.fromkeys(["", *(k for _, _, k, _ in pairs)]))
    row_kind = np.array([kinds.index(k) for _, _, k, _ in pairs], dtype=np.intp).take(pair)
    kind = Coded(row_kind, _objects(kinds))
    in_catalogue = np.array([e is not None for e in pair_entry], dtype=bool).take(pair)

    # Without a known period there is no catalogue to pick, so the metric is looked up in
    # every methodology's: a row with a bad period still hears about an unknown metric.
    kinds_anywhere = catalogue.groupby("metric_id")["kind"].agg(frozenset).to_dict()
    known_anywhere = metric_id.isin(kinds_anywhere)
    unknown_metric = ~metric_id.eq("") & kind.eq("") & (period_ok | ~known_anywhere)
    if unknown_metric.any():
        messages = _objects(
            [
                UNKNOWN_METRIC.format(
                    where=f"the {name} catalogue"
                    if name is not None
                    else "any methodology's catalogue"
                )
                for name, *_ in pairs
            ]
        )
        errors.add(
            unknown_metric, cols["metric_id"], metric_id, messages.take(pair[unknown_metric])
        )

    # Peer group: the metric must apply to the organisation's peer group.
    checkable = in_catalogue & known_org
    if checkable.any():
        applicable = {
            (m.methodology, m.metric_id, group)
            for m in catalogue.itertuples(index=False, name="Entry")
            for group in m.peer_groups
        }
        combination, combination_pair, combination_group = _combine(pair, row_group + 1)
        applies = np.array(
            [
                group > 0 and (*pairs[p][:2], group_names[group - 1]) in applicable
                for p, group in zip(combination_pair, combination_group, strict=True)
            ],
            dtype=bool,
        ).take(combination)
        wrong = checkable & ~applies
        if wrong.any():
            groups = _objects(
                [", ".join(e.peer_groups) if e is not None else "" for e in pair_entry]
            )
            message = (
                metric_id.values(wrong)
                + " applies to "
                + groups.take(pair[wrong])
                + "; "
                + org_code.values(wrong)
                + " is in the "
                + group_names.take(row_group[wrong])
                + " peer group."
            )
            errors.add(wrong, cols["metric_id"], metric_id, message)

    # Values.
    numbers = pd.to_numeric(
        pd.Series(value_text.table, dtype=object).replace("", np.nan), errors="coerce"
    )
    number = numbers.to_numpy(dtype="float64", na_value=np.nan).take(value_text.codes)
    has_number = ~np.isnan(number)
    blank = value_text.eq("")
    numeric_kinds = kind.isin([KIND_VALUE, KIND_SCORE, KIND_PUBLISHED])
    # A catalogue metric in a row without a known period: a number is needed when every
    # methodology's entry for it needs one (a rating may be a label).
    numeric_anywhere = (
        kind.eq("") & ~period_ok & metric_id.test(lambda m: _numeric_kinds(kinds_anywhere.get(m)))
    )
    # An unknown (or missing) metric: a value no metric would accept, i.e. not a number, a
    # yes/no flag or a rating label of any catalogue.
    accepted_text = YES | NO | {label.lower() for t in catalogue["ratings"] for label in t}
    no_metric_accepts = (metric_id.eq("") | unknown_metric) & ~value_text.test(
        lambda v: v.lower() in accepted_text
    )
    needs_number = numeric_kinds | numeric_anywhere | no_metric_accepts
    not_number = needs_number & ~blank & ~has_number
    errors.add(
        not_number,
        cols["value"],
        value_text,
        "Not a number: expected a number such as 85.2 (no % sign, no thousands separator).",
    )
    with np.errstate(invalid="ignore"):
        not_finite = ~blank & has_number & ~np.isfinite(number)
    errors.add(not_finite, cols["value"], value_text, "Expected a finite number.")

    def bound(entry, name: str) -> float:
        value = getattr(entry, name) if entry is not None else None
        return np.nan if value is None or value != value else float(value)

    valid_min = np.array([bound(e, "valid_min") for e in pair_entry], dtype=float).take(pair)
    valid_max = np.array([bound(e, "valid_max") for e in pair_entry], dtype=float).take(pair)
    is_value = kind.eq(KIND_VALUE)
    below = is_value & has_number & ~np.isnan(valid_min) & (number < valid_min)
    above = is_value & has_number & ~np.isnan(valid_max) & (number > valid_max)
    out_of_range = below | above
    if out_of_range.any():
        ranges = _objects(
            [
                f"{_bound_or_any(bound(e, 'valid_min'))} to {_bound_or_any(bound(e, 'valid_max'))}"
                for e in pair_entry
            ]
        )
        message = (
            "Out of range for "
            + metric_id.values(out_of_range)
            + ": expected "
            + ranges.take(pair[out_of_range])
            + "."
        )
        errors.add(out_of_range, cols["value"], value_text, message)

    outside_scores = (
        has_number & (number != 0) & ((number < SCORE_RANGE[0]) | (number > SCORE_RANGE[1]))
    )
    errors.add(
        kind.eq(KIND_SCORE) & outside_scores,
        cols["value"],
        value_text,
        "A score must be from 1 to 4 (or 0 for no score).",
    )

    # Ratings (e.g. the CQC safe inspection rating, OF1067): a label, or a score.
    is_rating = kind.eq(KIND_RATING)
    stored_kind = row_kind.copy()
    text_value = Coded.constant("", n)
    if is_rating.any():
        as_score = is_rating & has_number
        stored_kind[as_score] = _kind_code(kinds, KIND_SCORE)
        errors.add(
            as_score & outside_scores,
            cols["value"],
            value_text,
            "A score must be from 1 to 4 (or 0 for no score).",
        )
        as_label = is_rating & ~has_number & ~blank
        stored_kind[as_label] = _kind_code(kinds, KIND_VALUE)
        labels = {}
        for p in pd.unique(pair[as_label]):
            for label in pair_entry[p].ratings:
                labels[label.lower()] = label
        canonical = value_text.per_entry(lambda v: labels.get(v.lower()))
        is_label = np.array([c is not None for c in canonical], dtype=bool).take(value_text.codes)
        text_value = Coded(
            np.where(as_label & is_label, value_text.codes, len(canonical)),
            _objects([*canonical, ""]),
        )
        unknown_label = as_label & ~is_label
        if unknown_label.any():
            expected = _objects(
                [
                    "Not a rating: expected one of " + ", ".join(e.ratings) + "."
                    if e is not None
                    else ""
                    for e in pair_entry
                ]
            )
            errors.add(unknown_label, cols["value"], value_text, expected.take(pair[unknown_label]))

    # Yes/no flags: the financial override (OF5004) and the programme (OF5007).
    flag = kind.isin([KIND_FLAG, KIND_PROGRAMME])
    flag_value = np.where(
        flag & value_text.test(lambda v: v.lower() in YES),
        1.0,
        np.where(flag & value_text.test(lambda v: v.lower() in NO), 0.0, np.nan),
    )
    bad_flag = flag & ~blank & np.isnan(flag_value)
    errors.add(bad_flag, cols["value"], value_text, "Expected 1 (yes) or 0 (no) for this flag.")

    # NHS England's published results: segments 1-5, averages 0-4.
    if published_id.any():
        low = metric_id.per_entry(lambda m: PUBLISHED_IDS.get(m, ("", 0, 5))[1], float)
        high = metric_id.per_entry(lambda m: PUBLISHED_IDS.get(m, ("", 0, 5))[2], float)
        row_low, row_high = low.take(metric_id.codes), high.take(metric_id.codes)
        bad_published = (
            published_id & has_number & (number != 0) & ((number < row_low) | (number > row_high))
        )
        if bad_published.any():
            ranges = _objects(
                [f"{_bound(lo)} to {_bound(hi)}" for lo, hi in zip(low, high, strict=True)]
            )
            message = (
                "Out of range for "
                + metric_id.values(bad_published)
                + ": expected "
                + ranges.take(metric_id.codes[bad_published])
                + "."
            )
            errors.add(bad_published, cols["value"], value_text, message)

    is_cqc = metric_id.eq(CQC_OVERALL_ID)
    errors.add(
        is_cqc & has_number,
        cols["value"],
        value_text,
        "Expected a CQC rating: Outstanding, Good, Requires improvement or Inadequate.",
    )
    errors.add(
        is_cqc & reporting.eq("") & ~blank,
        cols["reporting"] if "reporting" in cols else cols["value"],
        reporting,
        "A CQC overall rating needs reporting_date: the date it was published.",
    )

    value = np.where(flag, flag_value, number)

    # Reporting dates: ISO or day/month/year dates become dates; anything else is kept as
    # text (NHS England writes e.g. "Month 12 2025/26").
    dates = reporting.per_entry(_parse_date)
    reporting_date = reporting.with_table(dates)
    reporting_text = reporting.with_table(
        _objects([t[:60] if d is None else "" for t, d in zip(reporting.table, dates, strict=True)])
    )

    # Duplicates: the same organisation, metric and period twice.
    stored = ~kind.eq("") & known_org & period_ok & ~blank
    key = _combine(_combine(org_code.codes, metric_id.codes)[0], slug.codes)[0]
    candidates = np.flatnonzero(stored)
    duplicated = np.bincount(key[candidates]).take(key[candidates]) > 1
    identical_duplicates = 0
    if duplicated.any():
        at = candidates[duplicated]
        dups = pd.DataFrame({"k": key[at], "v": value[at], "t": text_value.values(at)}, index=at)
        group = dups.groupby("k")
        first_row = pd.Series(row_numbers[at], index=at).groupby(dups["k"]).transform("min")
        first_value = group["v"].transform("first")
        first_text = group["t"].transform("first")
        same = ((dups["v"] == first_value) | (dups["v"].isna() & first_value.isna())) & (
            dups["t"] == first_text
        )
        conflicting = np.zeros(n, dtype=bool)
        conflicting[at] = ~same.to_numpy()
        message = (
            "Duplicate of row "
            + first_row.astype(str)
            + " (same organisation, metric and period) with a different value."
        )
        errors.add(conflicting, cols["value"], value_text, message[~same].to_numpy())
        repeat = dups.duplicated(["k", "v", "t"], keep="first").to_numpy()
        identical_duplicates = int(repeat.sum())
        stored[at[repeat]] = False

    error_frame = errors.frame(header)
    blank_values = int((blank & ~kind.eq("")).sum())
    if blank_values:
        warnings.append(
            Problem(
                f"{blank_values:,} rows have no value (not submitted or suppressed); they were "
                "not stored and those metrics are not scored.",
                column=cols["value"],
                severity="warning",
                file=filename,
            )
        )
    if identical_duplicates:
        warnings.append(
            Problem(
                f"{identical_duplicates:,} rows repeat an earlier row exactly; each was stored "
                "once.",
                severity="warning",
                file=filename,
            )
        )
    warnings.extend(_reference_warnings(raw, fmt, org_code, known_org, reference, filename))

    if error_frame.empty:
        where = np.flatnonzero(stored)
        rows = pd.DataFrame(
            {
                "period_id": period_id[where].astype("int64"),
                "organisation_id": org_id[where].astype("int64"),
                # Text and dates as categoricals: a code per row, each value once.
                "metric_id": metric_id.categorical(where),
                "kind": Coded(stored_kind, _objects(kinds)).categorical(where),
                "value": value[where].astype("float64"),
                "text": text_value.categorical(where),
                "reporting_date": reporting_date.categorical(where),
                "reporting_period_text": reporting_text.categorical(where),
                "note": note.categorical(where),
                ROW: row_numbers[where],
            },
            index=raw.index[where],
        )
    else:
        rows = pd.DataFrame()
    if error_frame.empty and fmt.slug == NHSE and "Rank" in raw.columns:
        rows = _with_published_ranks(rows, raw)
    return Validated(
        format=fmt.slug,
        rows=rows,
        errors=error_frame,
        warnings=warnings,
        blank_values=blank_values,
        identical_duplicates=identical_duplicates,
    )


def _kind_code(kinds: list[str], kind: str) -> int:
    """The code of ``kind`` in ``kinds`` (added at the end when it is not there yet)."""
    if kind not in kinds:
        kinds.append(kind)
    return kinds.index(kind)


def _with_published_ranks(rows: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    averages = rows[rows["metric_id"].eq("OF5002") & rows["kind"].eq(KIND_PUBLISHED)]
    rank = pd.to_numeric(raw.loc[averages.index, "Rank"].astype(str).str.strip(), errors="coerce")
    ranked = averages[rank.notna() & (rank >= 1)].copy()
    if ranked.empty:
        return rows
    ranked["value"] = rank[ranked.index].astype("float64")
    rows = pd.concat([rows, ranked], ignore_index=True)  # categorical columns stay so
    added = np.arange(len(rows)) >= len(rows) - len(ranked)
    for column, value in (("metric_id", PUBLISHED_RANK_ID), ("text", "")):
        values = rows[column]
        if value not in values.cat.categories:
            values = values.cat.add_categories([value])
        rows[column] = values.where(~added, value)
    return rows


def _parse_date(text: str):
    """A date from ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (a time part is ignored); else None."""
    head = text.split("T")[0].split(" ")[0]
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    return None


def _numeric_kinds(kinds: frozenset | None) -> bool:
    return bool(kinds) and kinds <= {KIND_VALUE, KIND_SCORE}


def _bound(x: float) -> str:
    return f"{x:g}"


def _bound_or_any(x: float) -> str:
    return "any" if x != x else _bound(x)


def _reference_warnings(
    raw: pd.DataFrame,
    fmt: FileFormat,
    org_code: Coded,
    known_org: np.ndarray,
    reference: Reference,
    filename: str,
) -> list[Problem]:
    """Names and regions that differ from the reference data (one warning per code)."""
    warnings = []
    if "name" not in fmt.mapping:
        return warnings
    known = np.flatnonzero(known_org)
    firsts = known[~pd.Series(org_code.codes[known]).duplicated().to_numpy()]
    names = raw[fmt.mapping["name"]].iloc[firsts].to_numpy(dtype=object)
    regions = raw[fmt.mapping["region"]].iloc[firsts].to_numpy(dtype=object)
    orgs = reference.organisations
    for code, name, region, row in zip(
        org_code.values(firsts), names, regions, raw[ROW].to_numpy()[firsts], strict=True
    ):
        name, region = _strip(name), _strip(region)
        expected = orgs.at[code, "name"]
        if name and _fold(name) != _fold(expected):
            warnings.append(
                Problem(
                    f"{code}: the file's name '{name}' differs from the reference name "
                    f"'{expected}'; the reference organisation is used.",
                    row=int(row),
                    column=fmt.mapping["name"],
                    value=name,
                    severity="warning",
                    file=filename,
                )
            )
        expected_region = orgs.at[code, "region"]
        if region and expected_region and _fold(region) != _fold(expected_region):
            warnings.append(
                Problem(
                    f"{code}: the file's region '{region}' differs from the reference region "
                    f"'{expected_region}'.",
                    row=int(row),
                    column=fmt.mapping["region"],
                    value=region,
                    severity="warning",
                    file=filename,
                )
            )
    return warnings


def _fold(text: str) -> str:
    return " ".join(str(text).lower().replace("&", "and").split())

"""The checks a metric file's rows go through, one function each, in the order they run.

Every check reads the file's columns from one :class:`Rows` (built by :meth:`Rows.read`),
adds what it finds (errors, and what the later checks and the stored rows need) and runs
on every row, whatever else is wrong with it, so a row's problems are all listed at once.
Each check runs once per distinct value, or per distinct (methodology, metric) or
(organisation, period) pair, and is looked up for every row with integer operations
(:mod:`.coded`). Pure pandas: :func:`.validation.validate` runs them.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..metric_ids import (
    CQC_OVERALL_ID,
    OVERRIDE_FLAG_ID,
    PROGRAMME_ID,
    PUBLISHED_DOMAIN_RE,
    PUBLISHED_IDS,
)
from .coded import Coded, Errors, at, combine, objects
from .dates import reporting_date
from .problems import unusual_characters
from .readers import ROW

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
# Text NHS England writes where a number might be expected: a period or a date, such as
# "Month 12 2025/26", "Q4 2024-25", "2024/25", "Jun-25" or "June 2025". Kept as text.
PERIOD_TEXT_RE = re.compile(
    r"^((month|m)\s*\d{1,2}|q[1-4]|quarter\s*[1-4]"
    r"|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}[\s-])?"
    r"\s*\d{2,4}([/-]\d{2})?$",
    re.IGNORECASE,
)

UNKNOWN_METRIC = (
    "Unknown metric: not in {where}, nor one of NHS England's result identifiers (OF4xxx, "
    "OF50xx).{remedy}"
)
ADD_METRICS = (
    " To add the file's new metrics to {methodology}, run `manage.py add_metrics_from_file "
    "--methodology {methodology} FILE --reason …` or use 'Add metrics from an NHS England "
    "file' on the methodology's admin page."
)
SCORE_OUT_OF_RANGE = "A score must be from 1 to 4 (or 0 for no score)."


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


@dataclass(eq=False)
class Rows:
    """A file's rows as coded columns, the errors found so far, and what each check has
    worked out for the checks after it (the fields after ``note`` are set by the check
    named above them)."""

    raw: pd.DataFrame
    reference: Reference
    columns: dict[str, str]  # canonical name -> the file's column (the format's mapping)
    row_numbers: np.ndarray  # each row's spreadsheet row number
    errors: Errors
    org_code: Coded
    metric_id: Coded
    period_text: Coded
    value_text: Coded
    reporting: Coded
    note: Coded
    # check_periods
    slug: Coded = field(init=False)
    period_at: np.ndarray = field(init=False)
    period_ok: np.ndarray = field(init=False)
    period_id: np.ndarray = field(init=False)
    methodologies: pd.Index = field(init=False)
    row_methodology: np.ndarray = field(init=False)
    # check_organisations
    org_at: np.ndarray = field(init=False)
    known_org: np.ndarray = field(init=False)
    org_id: np.ndarray = field(init=False)
    group_names: np.ndarray = field(init=False)
    row_group: np.ndarray = field(init=False)
    # classify_metrics
    pair: np.ndarray = field(init=False)
    pairs: list[tuple[Any, str, str, Any]] = field(init=False)
    pair_entry: np.ndarray = field(init=False)
    kinds: list[str] = field(init=False)
    row_kind: np.ndarray = field(init=False)
    kind: Coded = field(init=False)
    in_catalogue: np.ndarray = field(init=False)
    published_id: np.ndarray = field(init=False)
    kinds_anywhere: dict[str, frozenset] = field(init=False)
    unknown_metric: np.ndarray = field(init=False)
    # check_values
    number: np.ndarray = field(init=False)
    text_kept: np.ndarray = field(init=False)
    has_number: np.ndarray = field(init=False)
    blank: np.ndarray = field(init=False)
    outside_scores: np.ndarray = field(init=False)
    # check_ratings
    stored_kind: np.ndarray = field(init=False)
    text_value: Coded = field(init=False)
    # check_flags
    flag: np.ndarray = field(init=False)
    value: np.ndarray = field(init=False)
    # read_reporting_dates
    reporting_date: Coded = field(init=False)
    reporting_text: Coded = field(init=False)
    # find_duplicates
    stored: np.ndarray = field(init=False)
    identical_duplicates: int = field(init=False)

    @classmethod
    def read(cls, raw: pd.DataFrame, columns: dict[str, str], reference: Reference) -> Rows:
        """The columns of ``raw`` the checks read (``columns``: the format's mapping),
        trimmed, with codes and metric ids in capitals."""
        n = len(raw)
        row_numbers = raw[ROW].to_numpy()

        def text(canonical: str) -> Coded:
            column = columns.get(canonical)
            if column is None or column not in raw.columns:
                return Coded.constant("", n)
            return Coded.of(raw[column]).map(_strip)

        return cls(
            raw=raw,
            reference=reference,
            columns=columns,
            row_numbers=row_numbers,
            errors=Errors(row_numbers),
            org_code=text("org_code").map(str.upper),
            metric_id=text("metric_id").map(str.upper),
            period_text=text("period"),
            value_text=text("value"),
            reporting=text("reporting"),
            note=text("note"),
        )

    @property
    def count(self) -> int:
        return len(self.raw)


def check_required(rows: Rows) -> None:
    """The organisation, metric and period cells are filled in."""
    for canonical, column in (
        ("org_code", rows.org_code),
        ("metric_id", rows.metric_id),
        ("period", rows.period_text),
    ):
        rows.errors.add(column.eq(""), rows.columns[canonical], column, "A value is required here.")


def check_periods(rows: Rows) -> None:
    """Each period is a quarter that exists here; notes its id and methodology."""
    periods = rows.reference.periods
    column = rows.columns["period"]
    rows.slug = slug = rows.period_text.map(_period_slug)
    bad_form = ~rows.period_text.eq("") & slug.eq("")
    rows.errors.add(
        bad_form,
        column,
        rows.period_text,
        "Not a period: expected a quarter such as 'Q1 2025/26'.",
    )
    rows.period_at = slug.positions(periods.index)
    rows.period_ok = rows.period_at >= 0
    unknown_period = ~slug.eq("") & ~rows.period_ok
    known_labels = ", ".join(periods["label"]) if len(periods) else "none"
    rows.errors.add(
        unknown_period,
        column,
        rows.period_text,
        f"This period does not exist here; the periods are: {known_labels}. A new quarter "
        "is added to oversight/methodologies/periods.yaml and loaded with "
        "`manage.py load_methodologies`.",
    )
    rows.period_id = at(periods["id"].to_numpy(), rows.period_at, 0)
    methodology_codes, rows.methodologies = pd.factorize(
        periods["methodology"], use_na_sentinel=False
    )
    # -1: the period is not known
    rows.row_methodology = at(methodology_codes, rows.period_at, -1)


def check_organisations(rows: Rows, allowed: set[str] | None) -> None:
    """Each organisation is in the reference data and, when ``allowed`` is given, in
    the uploader's scope; notes its id and peer group."""
    orgs = rows.reference.organisations
    column = rows.columns["org_code"]
    org_at = rows.org_code.positions(orgs.index)
    known_org = org_at >= 0
    unknown = ~rows.org_code.eq("") & ~known_org
    rows.errors.add(
        unknown,
        column,
        rows.org_code,
        rows.org_code.map(_unknown_code_message).values(unknown),
    )
    if allowed is not None:
        outside = known_org & ~rows.org_code.isin(allowed)
        rows.errors.add(
            outside,
            column,
            rows.org_code,
            "Outside your scope: you may upload only for your ICB and the trusts it hosts.",
        )
        known_org = known_org & ~outside
    rows.known_org = known_org
    rows.org_at = np.where(known_org, org_at, -1)
    rows.org_id = at(orgs["id"].to_numpy(), rows.org_at, 0)
    group_codes, group_names = pd.factorize(orgs["peer_group"], use_na_sentinel=False)
    rows.group_names = np.asarray(group_names, dtype=object)
    rows.row_group = at(group_codes, rows.org_at, -1)


def check_open_in_period(rows: Rows) -> None:
    """Each organisation was open in the row's period: checked once per distinct
    (organisation, period) pair."""
    orgs, periods = rows.reference.organisations, rows.reference.periods
    nat = np.datetime64("NaT")
    span, span_org, span_period = combine(rows.org_at + 1, rows.period_at + 1)
    opened = at(pd.to_datetime(orgs["open_date"]).to_numpy(), span_org - 1, nat)
    closed = at(pd.to_datetime(orgs["close_date"]).to_numpy(), span_org - 1, nat)
    start = at(pd.to_datetime(periods["start_date"]).to_numpy(), span_period - 1, nat)
    end = at(pd.to_datetime(periods["end_date"]).to_numpy(), span_period - 1, nat)
    span_not_open = (span_org > 0) & (span_period > 0) & ((opened > end) | (closed <= start))
    not_open = span_not_open.take(span)
    if not not_open.any():
        return
    when = np.where(
        opened > end,
        "opened on " + pd.Series(opened).dt.strftime("%d %B %Y"),
        "closed on " + pd.Series(closed).dt.strftime("%d %B %Y"),
    ).take(span[not_open])
    message = (
        "This organisation was not open in " + rows.period_text.values(not_open) + " (it " + when
    ) + ")."
    rows.errors.add(not_open, rows.columns["org_code"], rows.org_code, message)


def classify_metrics(rows: Rows) -> None:
    """What each metric is (value, score, rating, flag, programme, published result),
    from the period's methodology catalogue plus NHS England's result identifiers:
    looked up once per distinct (methodology, metric) pair. A metric that is none of
    them is unknown."""
    catalogue = rows.reference.metrics
    metric_id = rows.metric_id
    entries = {
        (m.methodology, m.metric_id): m for m in catalogue.itertuples(index=False, name="Entry")
    }
    rows.pair, pair_methodology, pair_metric = combine(rows.row_methodology + 1, metric_id.codes)
    domain_re = re.compile(PUBLISHED_DOMAIN_RE)
    is_published = metric_id.per_entry(
        lambda m: m in PUBLISHED_IDS or bool(domain_re.match(m)), dtype=bool
    )
    rows.published_id = is_published.take(metric_id.codes)
    pairs = []  # (methodology or None: the period is not known, metric, kind, entry)
    for methodology_code, metric_code in zip(pair_methodology - 1, pair_metric, strict=True):
        name = rows.methodologies[methodology_code] if methodology_code >= 0 else None
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
    rows.pairs = pairs
    rows.pair_entry = objects([e for *_, e in pairs])
    rows.kinds = list(dict.fromkeys(["", *(k for _, _, k, _ in pairs)]))
    rows.row_kind = np.array([rows.kinds.index(k) for _, _, k, _ in pairs], dtype=np.intp).take(
        rows.pair
    )
    rows.kind = Coded(rows.row_kind, objects(rows.kinds))
    rows.in_catalogue = np.array([e is not None for e in rows.pair_entry], dtype=bool).take(
        rows.pair
    )
    _check_known_metrics(rows)


def _check_known_metrics(rows: Rows) -> None:
    """Without a known period there is no catalogue to pick, so the metric is looked up
    in every methodology's: a row with a bad period still hears about an unknown metric."""
    metric_id = rows.metric_id
    rows.kinds_anywhere = (
        rows.reference.metrics.groupby("metric_id")["kind"].agg(frozenset).to_dict()
    )
    known_anywhere = metric_id.isin(rows.kinds_anywhere)
    rows.unknown_metric = unknown = (
        ~metric_id.eq("") & rows.kind.eq("") & (rows.period_ok | ~known_anywhere)
    )
    if not unknown.any():
        return
    messages = objects(
        [
            UNKNOWN_METRIC.format(
                where=f"the {name} catalogue"
                if name is not None
                else "any methodology's catalogue",
                remedy=ADD_METRICS.format(methodology=name) if name is not None else "",
            )
            for name, *_ in rows.pairs
        ]
    )
    rows.errors.add(
        unknown, rows.columns["metric_id"], metric_id, messages.take(rows.pair[unknown])
    )


def check_peer_groups(rows: Rows) -> None:
    """A catalogue metric applies to the organisation's peer group: checked once per
    distinct (methodology, metric, peer group)."""
    checkable = rows.in_catalogue & rows.known_org
    if not checkable.any():
        return
    applicable = {
        (m.methodology, m.metric_id, group)
        for m in rows.reference.metrics.itertuples(index=False, name="Entry")
        for group in m.peer_groups
    }
    group_names, pairs = rows.group_names, rows.pairs
    combination, combination_pair, combination_group = combine(rows.pair, rows.row_group + 1)
    applies = np.array(
        [
            group > 0 and (*pairs[p][:2], group_names[group - 1]) in applicable
            for p, group in zip(combination_pair, combination_group, strict=True)
        ],
        dtype=bool,
    ).take(combination)
    wrong = checkable & ~applies
    if not wrong.any():
        return
    groups = objects([", ".join(e.peer_groups) if e is not None else "" for e in rows.pair_entry])
    message = (
        rows.metric_id.values(wrong)
        + " applies to "
        + groups.take(rows.pair[wrong])
        + "; "
        + rows.org_code.values(wrong)
        + " is in the "
        + group_names.take(rows.row_group[wrong])
        + " peer group."
    )
    rows.errors.add(wrong, rows.columns["metric_id"], rows.metric_id, message)


def check_values(rows: Rows) -> None:
    """A number where one is needed, finite, within the metric's range, and a score
    from 1 to 4 (or 0)."""
    value_text, kind, column = rows.value_text, rows.kind, rows.columns["value"]
    numbers = pd.to_numeric(
        pd.Series(value_text.table, dtype=object).replace("", np.nan), errors="coerce"
    )
    rows.number = number = numbers.to_numpy(dtype="float64", na_value=np.nan).take(value_text.codes)
    rows.has_number = has_number = ~np.isnan(number)
    rows.blank = blank = value_text.eq("")
    # A period or date written as text (e.g. "Month 12 2025/26") is kept as text, not scored.
    rows.text_kept = (
        kind.isin([KIND_VALUE, KIND_PUBLISHED])
        & ~blank
        & ~has_number
        & value_text.test(lambda v: bool(PERIOD_TEXT_RE.match(v)))
    )
    not_number = _needs_number(rows) & ~blank & ~has_number & ~rows.text_kept
    rows.errors.add(
        not_number,
        column,
        value_text,
        "Not a number: expected a number such as 85.2 (no % sign, no thousands separator).",
    )
    with np.errstate(invalid="ignore"):
        not_finite = ~blank & has_number & ~np.isfinite(number)
    rows.errors.add(not_finite, column, value_text, "Expected a finite number.")
    _check_valid_ranges(rows)
    rows.outside_scores = (
        has_number & (number != 0) & ((number < SCORE_RANGE[0]) | (number > SCORE_RANGE[1]))
    )
    rows.errors.add(
        kind.eq(KIND_SCORE) & rows.outside_scores, column, value_text, SCORE_OUT_OF_RANGE
    )


def _needs_number(rows: Rows) -> np.ndarray:
    """The rows whose value must be a number."""
    metric_id, value_text = rows.metric_id, rows.value_text
    numeric_kinds = rows.kind.isin([KIND_VALUE, KIND_SCORE, KIND_PUBLISHED])
    # A catalogue metric in a row without a known period: a number is needed when every
    # methodology's entry for it needs one (a rating may be a label).
    kinds_anywhere = rows.kinds_anywhere
    numeric_anywhere = (
        rows.kind.eq("")
        & ~rows.period_ok
        & metric_id.test(lambda m: _numeric_kinds(kinds_anywhere.get(m)))
    )
    # An unknown (or missing) metric: a value no metric would accept, i.e. not a number, a
    # yes/no flag or a rating label of any catalogue.
    accepted_text = (
        YES | NO | {label.lower() for t in rows.reference.metrics["ratings"] for label in t}
    )
    no_metric_accepts = (metric_id.eq("") | rows.unknown_metric) & ~value_text.test(
        lambda v: v.lower() in accepted_text
    )
    return numeric_kinds | numeric_anywhere | no_metric_accepts


def _check_valid_ranges(rows: Rows) -> None:
    """A value within its catalogue entry's valid range (``valid_min``, ``valid_max``)."""
    pair, pair_entry, number = rows.pair, rows.pair_entry, rows.number
    valid_min = np.array([_entry_bound(e, "valid_min") for e in pair_entry], dtype=float).take(pair)
    valid_max = np.array([_entry_bound(e, "valid_max") for e in pair_entry], dtype=float).take(pair)
    is_value = rows.kind.eq(KIND_VALUE)
    below = is_value & rows.has_number & ~np.isnan(valid_min) & (number < valid_min)
    above = is_value & rows.has_number & ~np.isnan(valid_max) & (number > valid_max)
    out_of_range = below | above
    if not out_of_range.any():
        return
    ranges = objects(
        [
            f"{_bound_or_any(_entry_bound(e, 'valid_min'))} to "
            f"{_bound_or_any(_entry_bound(e, 'valid_max'))}"
            for e in pair_entry
        ]
    )
    message = (
        "Out of range for "
        + rows.metric_id.values(out_of_range)
        + ": expected "
        + ranges.take(pair[out_of_range])
        + "."
    )
    rows.errors.add(out_of_range, rows.columns["value"], rows.value_text, message)


def check_ratings(rows: Rows) -> None:
    """A rating (e.g. the CQC safe inspection rating, OF1067) is a label of its scale,
    stored as text, or a score from 1 to 4 (or 0)."""
    value_text, column = rows.value_text, rows.columns["value"]
    is_rating = rows.kind.eq(KIND_RATING)
    rows.stored_kind = rows.row_kind.copy()
    kept, table = rows.text_kept, value_text.table
    rows.text_value = Coded(np.where(kept, value_text.codes, len(table)), objects([*table, ""]))
    if not is_rating.any():
        return
    as_score = is_rating & rows.has_number
    rows.stored_kind[as_score] = _kind_code(rows.kinds, KIND_SCORE)
    rows.errors.add(as_score & rows.outside_scores, column, value_text, SCORE_OUT_OF_RANGE)
    as_label = is_rating & ~rows.has_number & ~rows.blank
    rows.stored_kind[as_label] = _kind_code(rows.kinds, KIND_VALUE)
    labels = {}
    for p in pd.unique(rows.pair[as_label]):
        for label in rows.pair_entry[p].ratings:
            labels[label.lower()] = label
    canonical = value_text.per_entry(lambda v: labels.get(v.lower()))
    is_label = np.array([c is not None for c in canonical], dtype=bool).take(value_text.codes)
    rows.text_value = Coded(
        np.where(
            as_label & is_label,
            value_text.codes,
            np.where(kept, len(canonical) + value_text.codes, len(canonical) + len(table)),
        ),
        objects([*canonical, *table, ""]),
    )
    unknown_label = as_label & ~is_label
    if unknown_label.any():
        expected = objects(
            [
                "Not a rating: expected one of " + ", ".join(e.ratings) + "."
                if e is not None
                else ""
                for e in rows.pair_entry
            ]
        )
        rows.errors.add(unknown_label, column, value_text, expected.take(rows.pair[unknown_label]))


def check_flags(rows: Rows) -> None:
    """Yes/no flags (the financial override, OF5004; the programme, OF5007) are 1 or 0;
    sets the value to store, a flag as 1.0 or 0.0."""
    value_text, kind = rows.value_text, rows.kind
    rows.flag = flag = kind.isin([KIND_FLAG, KIND_PROGRAMME])
    flag_value = np.where(
        flag & value_text.test(lambda v: v.lower() in YES),
        1.0,
        np.where(flag & value_text.test(lambda v: v.lower() in NO), 0.0, np.nan),
    )
    bad_flag = flag & ~rows.blank & np.isnan(flag_value)
    rows.errors.add(
        bad_flag, rows.columns["value"], value_text, "Expected 1 (yes) or 0 (no) for this flag."
    )
    rows.value = np.where(flag, flag_value, rows.number)


def check_published(rows: Rows) -> None:
    """NHS England's published results are in range: segments 1-5, averages 0-4."""
    published_id, metric_id, number = rows.published_id, rows.metric_id, rows.number
    if not published_id.any():
        return
    low = metric_id.per_entry(lambda m: PUBLISHED_IDS.get(m, ("", 0, 5))[1], float)
    high = metric_id.per_entry(lambda m: PUBLISHED_IDS.get(m, ("", 0, 5))[2], float)
    row_low, row_high = low.take(metric_id.codes), high.take(metric_id.codes)
    bad_published = (
        published_id & rows.has_number & (number != 0) & ((number < row_low) | (number > row_high))
    )
    if not bad_published.any():
        return
    ranges = objects([f"{_bound(lo)} to {_bound(hi)}" for lo, hi in zip(low, high, strict=True)])
    message = (
        "Out of range for "
        + metric_id.values(bad_published)
        + ": expected "
        + ranges.take(metric_id.codes[bad_published])
        + "."
    )
    rows.errors.add(bad_published, rows.columns["value"], rows.value_text, message)


def check_cqc(rows: Rows) -> None:
    """A CQC overall rating is a label, with the date it was published."""
    columns = rows.columns
    is_cqc = rows.metric_id.eq(CQC_OVERALL_ID)
    rows.errors.add(
        is_cqc & rows.has_number,
        columns["value"],
        rows.value_text,
        "Expected a CQC rating: Outstanding, Good, Requires improvement or Inadequate.",
    )
    rows.errors.add(
        is_cqc & rows.reporting.eq("") & ~rows.blank,
        columns["reporting"] if "reporting" in columns else columns["value"],
        rows.reporting,
        "A CQC overall rating needs reporting_date: the date it was published.",
    )


def read_reporting_dates(rows: Rows, *, workbook: bool = False) -> None:
    """Reporting dates: ISO (``2025-06-30``) or day/month/year (``30/06/2025``) dates, and
    in a workbook Excel's date serial numbers, become dates; a period written as text
    (NHS England's "Month 12 2025/26", "Jun-25", "Q4 2024-25") is kept as text. Anything
    that looks like a date but is not one (``2025-02-30``, ``06/30/2025``; a serial number
    in CSV) is an error, and so is text longer than is kept: nothing is guessed or cut."""
    reporting = rows.reporting
    read = reporting.per_entry(lambda t: reporting_date(t, workbook=workbook))
    dates = objects([d if isinstance(d, datetime.date) else None for d in read])
    problems = objects([d if isinstance(d, str) else "" for d in read])
    wrong = reporting.with_table(problems)
    mask = wrong.test(bool)
    rows.errors.add(mask, rows.columns.get("reporting", ""), reporting, wrong.values(mask))
    rows.reporting_date = reporting.with_table(dates)
    rows.reporting_text = reporting.with_table(
        objects(
            [
                t if d is None and not p else ""
                for t, d, p in zip(reporting.table, dates, problems, strict=True)
            ]
        )
    )


def check_notes(rows: Rows, max_chars: int) -> None:
    """A note longer than ``max_chars`` is an error (it would not be cut short)."""
    long = rows.note.test(lambda t: len(t) > max_chars)
    rows.errors.add(
        long,
        rows.columns.get("note", "note"),
        rows.note,
        f"The note is longer than {max_chars:,} characters; shorten it (a note is never cut "
        "short).",
    )


def find_duplicates(rows: Rows) -> None:
    """The same organisation, metric and period twice: an error when the values differ;
    an exact repeat is stored once. Sets the rows to store."""
    n = rows.count
    stored = ~rows.kind.eq("") & rows.known_org & rows.period_ok & ~rows.blank
    key = combine(combine(rows.org_code.codes, rows.metric_id.codes)[0], rows.slug.codes)[0]
    candidates = np.flatnonzero(stored)
    duplicated = np.bincount(key[candidates]).take(key[candidates]) > 1
    rows.identical_duplicates = 0
    rows.stored = stored
    if not duplicated.any():
        return
    dup_rows = candidates[duplicated]
    dups = pd.DataFrame(
        {"k": key[dup_rows], "v": rows.value[dup_rows], "t": rows.text_value.values(dup_rows)},
        index=dup_rows,
    )
    group = dups.groupby("k")
    first_row = (
        pd.Series(rows.row_numbers[dup_rows], index=dup_rows).groupby(dups["k"]).transform("min")
    )
    first_value = group["v"].transform("first")
    first_text = group["t"].transform("first")
    same = ((dups["v"] == first_value) | (dups["v"].isna() & first_value.isna())) & (
        dups["t"] == first_text
    )
    conflicting = np.zeros(n, dtype=bool)
    conflicting[dup_rows] = ~same.to_numpy()
    message = (
        "Duplicate of row "
        + first_row.astype(str)
        + " (same organisation, metric and period) with a different value."
    )
    rows.errors.add(conflicting, rows.columns["value"], rows.value_text, message[~same].to_numpy())
    repeat = dups.duplicated(["k", "v", "t"], keep="first").to_numpy()
    rows.identical_duplicates = int(repeat.sum())
    stored[dup_rows[repeat]] = False


def _unknown_code_message(code: str) -> str:
    message = "Unknown organisation code: not an NHS trust or ICB in the reference data."
    unusual = unusual_characters(code)
    if unusual:
        message += f" It holds characters that look like others or cannot be seen: {unusual}."
    return message


# --- Small helpers --------------------------------------------------------------------------


def _strip(value: Any) -> str:
    return "" if value is None or value != value else str(value).strip()


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


def _kind_code(kinds: list[str], kind: str) -> int:
    """The code of ``kind`` in ``kinds`` (added at the end when it is not there yet)."""
    if kind not in kinds:
        kinds.append(kind)
    return kinds.index(kind)


def _numeric_kinds(kinds: frozenset | None) -> bool:
    return bool(kinds) and kinds <= {KIND_VALUE, KIND_SCORE}


def _entry_bound(entry: Any, name: str) -> float:
    """A catalogue entry's ``valid_min`` or ``valid_max``; NaN when there is none."""
    value = getattr(entry, name) if entry is not None else None
    return np.nan if value is None or value != value else float(value)


def _bound(x: float) -> str:
    return f"{x:g}"


def _bound_or_any(x: float) -> str:
    return "any" if x != x else _bound(x)

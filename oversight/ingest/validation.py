"""Checking every row of a metric file against the reference data, all errors at once.

Pure pandas: the caller passes the reference data (:class:`Reference`) and the table read
from the file; the result is either rows ready to store or the full list of problems.
Every check is vectorised, so a million-row file is checked in seconds.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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

# NHS England's identifiers that are not metrics of a methodology's catalogue.
OVERRIDE_FLAG_ID = "OF5004"
PROGRAMME_ID = "OF5007"
# A provider's CQC overall rating (for earned autonomy), in the template: the rating as the
# value and the date it was published as reporting_date.
CQC_OVERALL_ID = "CQC_OVERALL"
PUBLISHED_IDS = {
    "OF5000": ("adjusted segment", 1, 4),
    "OF5002": ("average metric score", 0, 4),
    "OF5003": ("unadjusted segment", 1, 4),
    "OF5005": ("final segment", 1, 5),
}
PUBLISHED_DOMAIN_RE = r"^OF4[01]\d\d$"
# The league-table rank NHS England publishes in the Rank column of the OF5002 (average
# score) row, kept as a published result under this id (inferred from the published files).
PUBLISHED_RANK_ID = "NHSE_RANK"
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


def per_unique(series: pd.Series, func) -> pd.Series:
    """``func`` applied once per distinct value (files repeat codes, ids and periods on
    every row), as an object Series aligned with ``series``."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [func(u) for u in uniques]
    return pd.Series(mapped.take(codes), index=series.index, dtype=object)


def _strip(value) -> str:
    return "" if value is None or value != value else str(value).strip()


def _strip_upper(value) -> str:
    return _strip(value).upper()


class _Errors:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame, mask: pd.Series, column: str, values, message) -> None:
        if not mask.any():
            return
        selected = frame.loc[mask]
        part = pd.DataFrame(
            {
                ROW: selected[ROW].to_numpy(),
                "column": column,
                "value": (
                    values[mask].astype(str).to_numpy() if isinstance(values, pd.Series) else values
                ),
                "message": (
                    message[mask].to_numpy() if isinstance(message, pd.Series) else message
                ),
            }
        )
        self.parts.append(part)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=ERROR_COLUMNS)
        return pd.concat(self.parts, ignore_index=True).sort_values(ROW, kind="stable")


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
    errors = _Errors()

    def text(canonical: str) -> pd.Series:
        column = cols.get(canonical)
        if column is None or column not in raw.columns:
            return pd.Series("", index=raw.index, dtype=object)
        return per_unique(raw[column], _strip)

    frame = pd.DataFrame({ROW: raw[ROW].to_numpy()}, index=raw.index)
    org_code = per_unique(text("org_code"), str.upper)
    metric_id = per_unique(text("metric_id"), str.upper)
    period_text = text("period")
    value_text = text("value")
    reporting = text("reporting")
    note = text("note")

    # Required cells.
    for canonical, series in (
        ("org_code", org_code),
        ("metric_id", metric_id),
        ("period", period_text),
    ):
        errors.add(frame, series.eq(""), cols[canonical], series, "A value is required here.")

    # Periods.
    periods = reference.periods
    slug = per_unique(period_text, _period_slug)
    bad_form = period_text.ne("") & slug.eq("")
    errors.add(
        frame,
        bad_form,
        cols["period"],
        period_text,
        "Not a period: expected a quarter such as 'Q1 2025/26'.",
    )
    unknown_period = slug.ne("") & ~slug.isin(periods.index)
    known_labels = ", ".join(periods["label"]) if len(periods) else "none"
    errors.add(
        frame,
        unknown_period,
        cols["period"],
        period_text,
        f"This period does not exist here; the periods are: {known_labels}.",
    )
    period_ok = slug.isin(periods.index)
    p = periods.reindex(slug.where(period_ok))
    period_id = pd.Series(p["id"].to_numpy(), index=raw.index)
    methodology = pd.Series(p["methodology"].to_numpy(), index=raw.index)
    start = pd.Series(pd.to_datetime(p["start_date"]).to_numpy(), index=raw.index)
    end = pd.Series(pd.to_datetime(p["end_date"]).to_numpy(), index=raw.index)

    # Organisations.
    orgs = reference.organisations
    known_org = org_code.isin(orgs.index)
    errors.add(
        frame,
        org_code.ne("") & ~known_org,
        cols["org_code"],
        org_code,
        "Unknown organisation code: not an NHS trust or ICB in the reference data.",
    )
    if allowed is not None:
        outside = known_org & ~org_code.isin(allowed)
        errors.add(
            frame,
            outside,
            cols["org_code"],
            org_code,
            "Outside your scope: you may upload only for your ICB and the trusts it hosts.",
        )
        known_org = known_org & ~outside
    o = orgs.reindex(org_code.where(known_org))
    org_id = pd.Series(o["id"].to_numpy(), index=raw.index)
    peer_group = pd.Series(o["peer_group"].to_numpy(), index=raw.index)
    opened = pd.Series(pd.to_datetime(o["open_date"]).to_numpy(), index=raw.index)
    closed = pd.Series(pd.to_datetime(o["close_date"]).to_numpy(), index=raw.index)
    not_open = known_org & period_ok & ((opened > end) | (closed <= start))
    if not_open.any():
        when = np.where(
            (opened > end)[not_open],
            "opened on " + opened[not_open].dt.strftime("%d %B %Y"),
            "closed on " + closed[not_open].dt.strftime("%d %B %Y"),
        )
        message = pd.Series("", index=raw.index, dtype=object)
        message[not_open] = (
            "This organisation was not open in " + period_text[not_open] + " (it " + when + ")."
        )
        errors.add(frame, not_open, cols["org_code"], org_code, message)

    # Metrics: the period's methodology catalogue, plus NHS England's result identifiers.
    kind = pd.Series("", index=raw.index, dtype=object)
    catalogue = reference.metrics.set_index(["methodology", "metric_id"])
    keys = pd.MultiIndex.from_arrays([methodology.fillna(""), metric_id])
    found = catalogue.reindex(keys)
    in_catalogue = pd.Series(found["kind"].notna().to_numpy(), index=raw.index)
    kind[in_catalogue] = found["kind"].to_numpy()[in_catalogue.to_numpy()]
    kind[metric_id.eq(OVERRIDE_FLAG_ID)] = KIND_FLAG
    kind[metric_id.eq(PROGRAMME_ID)] = KIND_PROGRAMME
    domain_re = re.compile(PUBLISHED_DOMAIN_RE)
    published = per_unique(
        metric_id, lambda m: m in PUBLISHED_IDS or bool(domain_re.match(m))
    ).astype(bool)
    kind[published] = KIND_PUBLISHED
    unknown_metric = metric_id.ne("") & kind.eq("") & period_ok
    if unknown_metric.any():
        message = (
            "Unknown metric: not in the "
            + methodology[unknown_metric]
            + " catalogue, nor one of NHS England's result identifiers (OF4xxx, OF50xx)."
        )
        errors.add(frame, unknown_metric, cols["metric_id"], metric_id, message.reindex(raw.index))

    # Peer group: the metric must apply to the organisation's peer group.
    groups = pd.Series(found["peer_groups"].to_numpy(), index=raw.index)
    checkable = in_catalogue & known_org
    if checkable.any():
        allowed = reference.metrics[["methodology", "metric_id", "peer_groups"]].explode(
            "peer_groups"
        )
        allowed_index = pd.MultiIndex.from_frame(allowed.dropna())
        applies = pd.Series(
            pd.MultiIndex.from_arrays([methodology, metric_id, peer_group]).isin(allowed_index),
            index=raw.index,
        )
        wrong = checkable & ~applies
        if wrong.any():
            message = (
                metric_id[wrong]
                + " applies to "
                + groups[wrong].map(lambda g: ", ".join(g))
                + "; "
                + org_code[wrong]
                + " is in the "
                + peer_group[wrong]
                + " peer group."
            )
            errors.add(frame, wrong, cols["metric_id"], metric_id, message.reindex(raw.index))

    # Values.
    number = pd.to_numeric(value_text.where(value_text.ne("")), errors="coerce")
    blank = value_text.eq("")
    numeric_kinds = kind.isin([KIND_VALUE, KIND_SCORE, KIND_PUBLISHED])
    not_number = numeric_kinds & ~blank & number.isna()
    errors.add(
        frame,
        not_number,
        cols["value"],
        value_text,
        "Not a number: expected a number such as 85.2 (no % sign, no thousands separator).",
    )
    not_finite = ~blank & number.notna() & ~np.isfinite(number.fillna(0))
    errors.add(frame, not_finite, cols["value"], value_text, "Expected a finite number.")

    valid_min = pd.Series(found["valid_min"].to_numpy(dtype=float), index=raw.index)
    valid_max = pd.Series(found["valid_max"].to_numpy(dtype=float), index=raw.index)
    is_value = kind.eq(KIND_VALUE)
    below = is_value & number.notna() & valid_min.notna() & (number < valid_min)
    above = is_value & number.notna() & valid_max.notna() & (number > valid_max)
    out_of_range = below | above
    if out_of_range.any():
        message = (
            "Out of range for "
            + metric_id[out_of_range]
            + ": expected "
            + valid_min[out_of_range].map(_bound, na_action="ignore").fillna("any")
            + " to "
            + valid_max[out_of_range].map(_bound, na_action="ignore").fillna("any")
            + "."
        )
        errors.add(frame, out_of_range, cols["value"], value_text, message.reindex(raw.index))

    is_score = kind.eq(KIND_SCORE)
    bad_score = (
        is_score
        & number.notna()
        & number.ne(0)
        & ((number < SCORE_RANGE[0]) | (number > SCORE_RANGE[1]))
    )
    errors.add(
        frame,
        bad_score,
        cols["value"],
        value_text,
        "A score must be from 1 to 4 (or 0 for no score).",
    )

    # Ratings (e.g. the CQC safe inspection rating, OF1067): a label, or a score.
    is_rating = kind.eq(KIND_RATING)
    stored_kind = kind.copy()
    text_value = pd.Series("", index=raw.index, dtype=object)
    if is_rating.any():
        ratings = pd.Series(found["ratings"].to_numpy(), index=raw.index)
        as_score = is_rating & number.notna()
        stored_kind[as_score] = KIND_SCORE
        bad_rating_score = (
            as_score & number.ne(0) & ((number < SCORE_RANGE[0]) | (number > SCORE_RANGE[1]))
        )
        errors.add(
            frame,
            bad_rating_score,
            cols["value"],
            value_text,
            "A score must be from 1 to 4 (or 0 for no score).",
        )
        as_label = is_rating & number.isna() & ~blank
        stored_kind[as_label] = KIND_VALUE
        labels = {}
        for labels_tuple in ratings[as_label].unique() if as_label.any() else []:
            for label in labels_tuple:
                labels[label.lower()] = label
        canonical = value_text[as_label].str.lower().map(labels)
        text_value[as_label] = canonical.fillna("")
        unknown_label = pd.Series(False, index=raw.index)
        unknown_label[as_label] = canonical.isna().to_numpy()
        if unknown_label.any():
            message = "Not a rating: expected one of " + ratings[unknown_label].map(
                lambda t: ", ".join(t)
            )
            errors.add(
                frame, unknown_label, cols["value"], value_text, message.reindex(raw.index) + "."
            )

    # Yes/no flags: the financial override (OF5004) and the programme (OF5007).
    flag = kind.isin([KIND_FLAG, KIND_PROGRAMME])
    lowered = value_text[flag].str.lower().reindex(raw.index, fill_value="")
    flag_value = pd.Series(np.nan, index=raw.index)
    flag_value[flag & lowered.isin(YES)] = 1.0
    flag_value[flag & lowered.isin(NO)] = 0.0
    bad_flag = flag & ~blank & flag_value.isna()
    errors.add(
        frame, bad_flag, cols["value"], value_text, "Expected 1 (yes) or 0 (no) for this flag."
    )

    # NHS England's published results: segments 1-5, averages 0-4.
    if published.any():
        low = pd.Series(0.0, index=raw.index)
        high = pd.Series(5.0, index=raw.index)
        for metric, (_, lo, hi) in PUBLISHED_IDS.items():
            is_metric = metric_id.eq(metric)
            low[is_metric], high[is_metric] = lo, hi
        bad_published = (
            published & number.notna() & number.ne(0) & ((number < low) | (number > high))
        )
        message = (
            "Out of range for "
            + metric_id[bad_published]
            + ": expected "
            + low[bad_published].map(_bound)
            + " to "
            + high[bad_published].map(_bound)
            + "."
        )
        errors.add(frame, bad_published, cols["value"], value_text, message.reindex(raw.index))

    is_cqc = metric_id.eq(CQC_OVERALL_ID)
    errors.add(
        frame,
        is_cqc & number.notna(),
        cols["value"],
        value_text,
        "Expected a CQC rating: Outstanding, Good, Requires improvement or Inadequate.",
    )
    errors.add(
        frame,
        is_cqc & reporting.eq("") & ~blank,
        cols["reporting"] if "reporting" in cols else cols["value"],
        reporting,
        "A CQC overall rating needs reporting_date: the date it was published.",
    )

    value = number.where(~flag, flag_value)

    # Reporting dates: ISO or day/month/year dates become dates; anything else is kept as
    # text (NHS England writes e.g. "Month 12 2025/26").
    reporting_date = per_unique(reporting, _parse_date)
    reporting_text = reporting.where(reporting_date.isna(), "")

    # Duplicates: the same organisation, metric and period twice.
    stored = kind.ne("") & known_org & period_ok & ~blank
    key = pd.DataFrame({"o": org_code, "m": metric_id, "p": slug, "v": value, "t": text_value})
    keyed = key[stored]
    duplicated = keyed.duplicated(["o", "m", "p"], keep=False)
    identical_duplicates = 0
    if duplicated.any():
        dups = keyed[duplicated]
        group = [dups["o"], dups["m"], dups["p"]]
        first_row = frame.loc[dups.index, ROW].groupby(group).transform("min")
        first_value = dups["v"].groupby(group).transform("first")
        first_text = dups["t"].groupby(group).transform("first")
        same = ((dups["v"] == first_value) | (dups["v"].isna() & first_value.isna())) & (
            dups["t"] == first_text
        )
        conflicting = pd.Series(False, index=raw.index)
        conflicting[dups.index] = (~same).to_numpy()
        message = pd.Series("", index=raw.index, dtype=object)
        message[dups.index] = (
            "Duplicate of row "
            + first_row.astype(str)
            + " (same organisation, metric and period) with a different value."
        )
        errors.add(frame, conflicting, cols["value"], value_text, message)
        repeat = keyed.duplicated(["o", "m", "p", "v", "t"], keep="first")
        identical_duplicates = int(repeat.sum())
        stored[repeat[repeat].index] = False

    error_frame = errors.frame()
    blank_values = int((blank & kind.ne("")).sum())
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

    rows = (
        pd.DataFrame(
            {
                "period_id": period_id[stored].astype("int64"),
                "organisation_id": org_id[stored].astype("int64"),
                "metric_id": metric_id[stored],
                "kind": stored_kind[stored],
                "value": value[stored].astype("float64"),
                "text": text_value[stored],
                "reporting_date": reporting_date[stored],
                "reporting_period_text": per_unique(reporting_text[stored], lambda t: t[:60]),
                "note": note[stored],
                ROW: frame.loc[stored, ROW],
            }
        )
        if error_frame.empty
        else pd.DataFrame()
    )
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


def _with_published_ranks(rows: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    averages = rows[rows["metric_id"].eq("OF5002") & rows["kind"].eq(KIND_PUBLISHED)]
    rank = pd.to_numeric(raw.loc[averages.index, "Rank"].astype(str).str.strip(), errors="coerce")
    ranked = averages[rank.notna() & (rank >= 1)].copy()
    if ranked.empty:
        return rows
    ranked["metric_id"] = PUBLISHED_RANK_ID
    ranked["value"] = rank[ranked.index].astype("float64")
    ranked["text"] = ""
    return pd.concat([rows, ranked], ignore_index=True)


def _parse_date(text: str):
    """A date from ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (a time part is ignored); else None."""
    head = text.split("T")[0].split(" ")[0]
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    return None


def _bound(x: float) -> str:
    return f"{x:g}"


def _reference_warnings(
    raw: pd.DataFrame,
    fmt: FileFormat,
    org_code: pd.Series,
    known_org: pd.Series,
    reference: Reference,
    filename: str,
) -> list[Problem]:
    """Names and regions that differ from the reference data (one warning per code)."""
    warnings = []
    if "name" not in fmt.mapping:
        return warnings
    firsts_index = org_code[known_org].drop_duplicates().index
    firsts = pd.DataFrame(
        {
            "code": org_code[firsts_index],
            "name": raw.loc[firsts_index, fmt.mapping["name"]].map(_strip),
            "region": raw.loc[firsts_index, fmt.mapping["region"]].map(_strip),
            ROW: raw.loc[firsts_index, ROW],
        }
    )
    orgs = reference.organisations
    for code, name, region, row in firsts.itertuples(index=False):
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

"""Checking every row of a metric file against the reference data, all errors at once.

Pure pandas: the caller passes the reference data (:class:`Reference`) and the table read
from the file; the result is either rows ready to store or the full list of problems.
This module knows the two file formats and runs the checks (:mod:`.checks`) in order.
A file repeats a few codes, ids and periods on every row, so each check runs once per
distinct value (:class:`~.coded.Coded`) and is looked up for every row with integer
operations: a million-row file is checked in well under a second. Every check runs on
every row, whatever else is wrong with it, so a row's problems are all listed at once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metric_ids import PUBLISHED_RANK_ID
from .authority import Authority, check_authority
from .checks import (
    ADD_METRICS,
    KIND_PUBLISHED,
    Reference,
    Rows,
    check_cqc,
    check_flags,
    check_notes,
    check_open_in_period,
    check_organisations,
    check_peer_groups,
    check_periods,
    check_published,
    check_ratings,
    check_required,
    check_values,
    classify_metrics,
    find_duplicates,
    read_reporting_dates,
)
from .coded import Coded, objects
from .league import LEAGUE, LEAGUE_COLUMNS, LEAGUE_OPTIONAL, LEAGUE_REQUIRED, check_league
from .names import reference_warnings
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

FORMATS[LEAGUE] = FileFormat(
    LEAGUE,
    "NHS England league table",
    required=LEAGUE_REQUIRED,
    optional=LEAGUE_OPTIONAL,
)

HEADER_SETS = [set(f.required) for f in FORMATS.values()]
# Every column :func:`validate` reads, in any format (the others are only named).
USED_COLUMNS = (
    frozenset(c for f in FORMATS.values() for c in f.mapping.values())
    | {"Rank"}
    | set(LEAGUE_COLUMNS)
    | {"Reporting_date"}
)


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
                        + ") or NHS England's league table ("
                        + ", ".join(LEAGUE_COLUMNS)
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


def validate(
    raw: pd.DataFrame,
    reference: Reference,
    *,
    requested: str = "",
    filename: str = "",
    header: list[str] | None = None,
    allowed: set[str] | None = None,
    authority: Authority | None = None,
    file_type: str = "csv",
    max_note_chars: int = 1_000,
) -> Validated:
    """Check every row of ``raw`` (text cells plus ``_row``); rows are stored only when
    ``errors`` is empty. ``header`` is the file's full header row when ``raw`` holds only
    the columns that are used; ``allowed`` (codes) limits whom the uploader may upload for
    and ``authority`` which kinds of input they may supply (``None``: no limit)."""
    header = header or [c for c in raw.columns if c != ROW]
    fmt = detect_format(header, requested, filename)
    warnings = _unused_columns(header, fmt, filename)
    if fmt.slug == LEAGUE:
        stored, errors, more, blank = check_league(
            raw, reference, header, allowed=allowed, authority=authority, filename=filename
        )
        return Validated(LEAGUE, stored, errors, warnings + more, blank_values=blank)
    rows = Rows.read(raw, fmt.mapping, reference)
    # In this order: a row's problems in one column are listed in the order found.
    check_required(rows)
    check_periods(rows)
    check_organisations(rows, allowed)
    check_open_in_period(rows)
    classify_metrics(rows)
    check_peer_groups(rows)
    check_values(rows)
    check_ratings(rows)
    check_flags(rows)
    check_authority(rows, authority)
    check_published(rows)
    check_cqc(rows)
    read_reporting_dates(rows, workbook=file_type == "xlsx")
    check_notes(rows, max_note_chars)
    find_duplicates(rows)

    errors = with_unknown_metrics(rows.errors.frame(header), rows)
    blank = blank_values(rows)
    warnings += count_warnings(rows, blank, filename)
    warnings += reference_warnings(rows, filename)
    stored = pd.DataFrame()
    if errors.empty:
        stored = stored_rows(rows)
        if fmt.slug == NHSE and "Rank" in raw.columns:
            stored = with_published_ranks(stored, raw)
    return Validated(
        format=fmt.slug,
        rows=stored,
        errors=errors,
        warnings=warnings,
        blank_values=blank,
        identical_duplicates=rows.identical_duplicates,
    )


def _unused_columns(header: list[str], fmt: FileFormat, filename: str) -> list[Problem]:
    """A warning naming the file's columns the format does not use, if any."""
    unexpected = [c for c in header if c != ROW and c not in fmt.columns]
    if not unexpected:
        return []
    return [
        Problem(
            f"Columns not used by the {fmt.name} format were ignored: {', '.join(unexpected)}.",
            row=1,
            severity="warning",
            file=filename,
        )
    ]


# --- What comes out -------------------------------------------------------------------------


def blank_values(rows: Rows) -> int:
    """Rows of a known kind of metric with no value (not stored, not scored)."""
    return int((rows.blank & ~rows.kind.eq("")).sum())


def count_warnings(rows: Rows, blank: int, filename: str) -> list[Problem]:
    """Warnings for the ``blank`` rows with no value and for the exact repeats."""
    warnings = []
    if blank:
        warnings.append(
            Problem(
                f"{blank:,} rows have no value (not submitted or suppressed); they were "
                "not stored and those metrics are not scored.",
                column=rows.columns["value"],
                severity="warning",
                file=filename,
            )
        )
    kept = int(rows.text_kept.sum())
    if kept:
        example = rows.value_text.values(rows.text_kept)[0]
        warnings.append(
            Problem(
                f"{kept:,} values are text such as '{example}' (a period or a date); they "
                "were kept as text and are not scored.",
                column=rows.columns["value"],
                severity="warning",
                file=filename,
            )
        )
    if rows.identical_duplicates:
        warnings.append(
            Problem(
                f"{rows.identical_duplicates:,} rows repeat an earlier row exactly; each was "
                "stored once.",
                severity="warning",
                file=filename,
            )
        )
    return warnings


def with_unknown_metrics(errors: pd.DataFrame, rows: Rows) -> pd.DataFrame:
    """``errors`` headed, on the header row, by one error per methodology naming every
    metric id of the file its catalogue does not know, and how to add them."""
    unknown = rows.unknown_metric & (rows.row_methodology >= 0)
    if not unknown.any():
        return errors
    methodology = np.asarray(rows.methodologies, dtype=object).take(rows.row_methodology[unknown])
    found = pd.DataFrame({"methodology": methodology, "metric_id": rows.metric_id.values(unknown)})
    heads = []
    for name, ids in found.groupby("methodology", sort=True)["metric_id"]:
        listed = sorted(set(ids))
        heads.append(
            {
                ROW: 1,
                "column": rows.columns["metric_id"],
                "value": ", ".join(listed),
                "message": (
                    f"{len(listed)} metric id{'s' if len(listed) != 1 else ''} of this file "
                    f"{'are' if len(listed) != 1 else 'is'} not in the {name} catalogue: "
                    f"{', '.join(listed)}." + ADD_METRICS.format(methodology=name)
                ),
            }
        )
    return pd.concat([pd.DataFrame(heads), errors], ignore_index=True)


def stored_rows(rows: Rows) -> pd.DataFrame:
    """The rows to store: ids, metric, kind, value, text, reporting date and note."""
    where = np.flatnonzero(rows.stored)
    return pd.DataFrame(
        {
            "period_id": rows.period_id[where].astype("int64"),
            "organisation_id": rows.org_id[where].astype("int64"),
            # Text and dates as categoricals: a code per row, each value once.
            "metric_id": rows.metric_id.categorical(where),
            "kind": Coded(rows.stored_kind, objects(rows.kinds)).categorical(where),
            "value": rows.value[where].astype("float64"),
            "text": rows.text_value.categorical(where),
            "reporting_date": rows.reporting_date.categorical(where),
            "reporting_period_text": rows.reporting_text.categorical(where),
            "note": rows.note.categorical(where),
            ROW: rows.row_numbers[where],
        },
        index=rows.raw.index[where],
    )


def with_published_ranks(stored: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """``stored`` plus NHS England's league-table rank: the ``Rank`` of each published
    adjusted segment (``OF5000``) row, as its own row. (The ``Rank`` of the average score
    row, ``OF5002``, ranks the averages alone, ignoring the segments and the override.)"""
    averages = stored[stored["metric_id"].eq("OF5000") & stored["kind"].eq(KIND_PUBLISHED)]
    rank = pd.to_numeric(raw.loc[averages.index, "Rank"].astype(str).str.strip(), errors="coerce")
    ranked = averages[rank.notna() & (rank >= 1)].copy()
    if ranked.empty:
        return stored
    ranked["value"] = rank[ranked.index].astype("float64")
    stored = pd.concat([stored, ranked], ignore_index=True)  # categorical columns stay so
    added = np.arange(len(stored)) >= len(stored) - len(ranked)
    for column, value in (("metric_id", PUBLISHED_RANK_ID), ("text", "")):
        values = stored[column]
        if value not in values.cat.categories:
            values = values.cat.add_categories([value])
        stored[column] = values.where(~added, value)
    return stored

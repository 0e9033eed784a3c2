"""NHS England's league-table file: one row per trust and quarter, NHS England's published
results (average score and its likely range, adjusted segment, financial deficit, rank and
its likely range), checked cell by cell and kept as *published* inputs.

Two releases of the header exist: the first column is ``Quarter`` or, later,
``Reporting_date`` (holding the same ``Q2 2025/26``). A league table never changes our
own results: its rows are stored as published values beside ours, for the comparison.
Pure pandas, like the data-file checks whose period and organisation checks it reuses.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..metric_ids import (
    PUBLISHED_AVERAGE_HIGH_ID,
    PUBLISHED_AVERAGE_LOW_ID,
    PUBLISHED_DEFICIT_ID,
    PUBLISHED_RANK_HIGH_ID,
    PUBLISHED_RANK_ID,
    PUBLISHED_RANK_LOW_ID,
)
from .authority import Authority
from .checks import (
    KIND_PUBLISHED,
    NO,
    YES,
    Reference,
    Rows,
    check_open_in_period,
    check_organisations,
    check_periods,
)
from .coded import Coded, combine
from .names import reference_warnings
from .problems import Problem
from .readers import ROW

LEAGUE = "league"
LEAGUE_COLUMNS = [
    "Quarter",
    "Region",
    "Trust_type",
    "Trust_subtype",
    "Trust_code",
    "Trust_name",
    "Average_score",
    "Likely_range_of_average_score",
    "Segment",
    "Trust_in_financial_deficit",
    "Rank",
    "Likely_range_of_rank",
]
LEAGUE_REQUIRED = (
    "Trust_code",
    "Average_score",
    "Likely_range_of_average_score",
    "Segment",
    "Trust_in_financial_deficit",
    "Rank",
    "Likely_range_of_rank",
)
# The later release names its first column Reporting_date; either holds the quarter.
PERIOD_COLUMNS = ("Quarter", "Reporting_date")
LEAGUE_OPTIONAL = (
    "Quarter",
    "Reporting_date",
    "Region",
    "Trust_type",
    "Trust_subtype",
    "Trust_name",
)
RANGE_RE = re.compile(r"^\s*(-?[0-9.]+)\s+to\s+(-?[0-9.]+)\s*$", re.IGNORECASE)

AVERAGE = "a number from 1 to 4, such as 2.35"
SEGMENT = "a segment: a whole number from 1 to 4"
RANK = "a rank: a whole number from 1"
AVERAGE_RANGE = "two scores from 1 to 4 written 'low to high', such as '2.10 to 2.60'"
RANK_RANGE = "two ranks written 'low to high', such as '3 to 12'"
DEFICIT = "Yes or No"


def league_mapping(header: list[str]) -> dict[str, str]:
    """The checks' canonical names for a league table's columns (its period column is
    ``Quarter``, or ``Reporting_date`` in the later release)."""
    period = next((c for c in PERIOD_COLUMNS if c in header), "Quarter")
    mapping = {"period": period, "org_code": "Trust_code"}
    if "Trust_name" in header and "Region" in header:  # compared with the reference data
        mapping.update(name="Trust_name", region="Region")
    return mapping


def check_league(
    raw: pd.DataFrame,
    reference: Reference,
    header: list[str],
    *,
    allowed: set[str] | None = None,
    authority: Authority | None = None,
    filename: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem], int]:
    """Every cell of a league table checked: the rows to store (published values), the
    errors (row, column, value, message), the warnings and how many cells were blank.
    Every row is NHS England's published results: ``authority`` must allow them."""
    mapping = league_mapping(header)
    rows = Rows.read(raw, mapping, reference)
    if mapping["period"] not in raw.columns:
        rows.errors.add(
            np.ones(rows.count, dtype=bool),
            "Quarter",
            rows.period_text,
            "The league table needs its quarter: a column Quarter (or Reporting_date, as in "
            "later releases) holding e.g. 'Q2 2025/26'.",
        )
    else:
        rows.errors.add(
            rows.period_text.eq(""),
            mapping["period"],
            rows.period_text,
            "A value is required here.",
        )
    rows.errors.add(rows.org_code.eq(""), "Trust_code", rows.org_code, "A value is required here.")
    check_periods(rows)
    check_organisations(rows, allowed)
    if authority is not None:
        authority.refuse(rows, rows.known_org, KIND_PUBLISHED, "Trust_code", rows.org_code)
    check_open_in_period(rows)
    cells = {c: Coded.of(raw[c]).map(_text) for c in LEAGUE_REQUIRED[1:]}
    values: dict[str, np.ndarray] = {}
    values["OF5002"] = _number(rows, cells, "Average_score", 1, 4, AVERAGE)
    values["OF5000"] = _number(rows, cells, "Segment", 1, 4, SEGMENT, whole=True)
    values[PUBLISHED_RANK_ID] = _number(rows, cells, "Rank", 1, np.inf, RANK, whole=True)
    low, high = _range(rows, cells, "Likely_range_of_average_score", 1, 4, AVERAGE_RANGE)
    values[PUBLISHED_AVERAGE_LOW_ID], values[PUBLISHED_AVERAGE_HIGH_ID] = low, high
    low, high = _range(rows, cells, "Likely_range_of_rank", 1, np.inf, RANK_RANGE, whole=True)
    values[PUBLISHED_RANK_LOW_ID], values[PUBLISHED_RANK_HIGH_ID] = low, high
    values[PUBLISHED_DEFICIT_ID] = _deficit(rows, cells["Trust_in_financial_deficit"])
    usable = rows.known_org & rows.period_ok
    identical = _duplicates(rows, values, usable)
    errors = rows.errors.frame(header)
    blank = sum(int((c.eq("") & usable).sum()) for c in cells.values())
    warnings = reference_warnings(rows, filename)
    if blank:
        warnings.append(
            Problem(
                f"{blank:,} cells are blank; nothing was stored for them.",
                severity="warning",
                file=filename,
            )
        )
    if not errors.empty:
        return pd.DataFrame(), errors, warnings, blank
    return _stored(rows, values, usable & ~identical), errors, warnings, blank


def _text(value: object) -> str:
    return "" if value is None or value != value else str(value).strip()


def _number(
    rows: Rows,
    cells: dict[str, Coded],
    column: str,
    low: float,
    high: float,
    expected: str,
    *,
    whole: bool = False,
) -> np.ndarray:
    """Each row's number in ``column`` (NaN when blank); anything else is an error."""
    cell = cells[column]
    parsed = cell.per_entry(lambda t: _parse(t, low, high, whole), dtype=float)
    bad = ~cell.eq("") & np.isnan(parsed).take(cell.codes)
    rows.errors.add(bad, column, cell, f"Expected {expected}.")
    return parsed.take(cell.codes)


def _parse(text: str, low: float, high: float, whole: bool) -> float:
    try:
        number = float(text)
    except ValueError:
        return np.nan
    if not np.isfinite(number) or not low <= number <= high or (whole and number % 1):
        return np.nan
    return number


def _range(
    rows: Rows,
    cells: dict[str, Coded],
    column: str,
    low: float,
    high: float,
    expected: str,
    *,
    whole: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's 'a to b' range in ``column`` as two numbers (a ≤ b), NaN when blank."""
    cell = cells[column]

    def bounds(text: str) -> tuple[float, float]:
        match = RANGE_RE.match(text)
        if not match:
            return (np.nan, np.nan)
        a, b = (_parse(t, low, high, whole) for t in match.groups())
        return (a, b) if a <= b else (np.nan, np.nan)

    pairs = [bounds(t) for t in cell.table]
    lows = np.array([p[0] for p in pairs], dtype=float)
    highs = np.array([p[1] for p in pairs], dtype=float)
    bad = ~cell.eq("") & np.isnan(lows).take(cell.codes)
    rows.errors.add(bad, column, cell, f"Expected {expected}.")
    return lows.take(cell.codes), highs.take(cell.codes)


def _deficit(rows: Rows, cell: Coded) -> np.ndarray:
    flag = cell.per_entry(
        lambda t: 1.0 if t.lower() in YES else 0.0 if t.lower() in NO else np.nan, dtype=float
    )
    bad = ~cell.eq("") & np.isnan(flag).take(cell.codes)
    rows.errors.add(bad, "Trust_in_financial_deficit", cell, f"Expected {DEFICIT}.")
    return flag.take(cell.codes)


def _duplicates(rows: Rows, values: dict[str, np.ndarray], usable: np.ndarray) -> np.ndarray:
    """A trust twice in a quarter: an error when the rows differ; an identical repeat is
    stored once (returned, to leave out)."""
    key = combine(rows.org_code.codes, rows.slug.codes)[0]
    repeat = np.zeros(rows.count, dtype=bool)
    where = np.flatnonzero(usable)
    if not len(where):
        return repeat
    table = pd.DataFrame({"k": key[where], **{m: v[where] for m, v in values.items()}})
    first = table.groupby("k").cumcount().eq(0).to_numpy()
    same = table.duplicated(keep="first").to_numpy()
    differing = ~first & ~same
    if differing.any():
        first_row = pd.Series(rows.row_numbers[where]).groupby(table["k"]).transform("min")
        mask = np.zeros(rows.count, dtype=bool)
        mask[where[differing]] = True
        rows.errors.add(
            mask,
            rows.columns["org_code"],
            rows.org_code,
            (
                "Duplicate of row "
                + first_row[differing].astype(str)
                + " (same trust and quarter) with different results."
            ).to_numpy(),
        )
    repeat[where[same]] = True
    return repeat


def _stored(rows: Rows, values: dict[str, np.ndarray], keep: np.ndarray) -> pd.DataFrame:
    """One published value per filled cell of the rows kept, as the data file's rows are
    stored (:func:`.validation.stored_rows`)."""
    parts = []
    for metric_id, value in values.items():
        where = np.flatnonzero(keep & ~np.isnan(value))
        parts.append(
            pd.DataFrame(
                {
                    "period_id": rows.period_id[where].astype("int64"),
                    "organisation_id": rows.org_id[where].astype("int64"),
                    "metric_id": metric_id,
                    "kind": KIND_PUBLISHED,
                    "value": value[where].astype("float64"),
                    "text": "",
                    "reporting_date": None,
                    "reporting_period_text": "",
                    "note": "",
                    ROW: rows.row_numbers[where],
                }
            )
        )
    stored = pd.concat(parts, ignore_index=True)
    for column in ("metric_id", "kind", "text", "reporting_period_text", "note"):
        stored[column] = stored[column].astype("category")
    return stored

"""What is wrong with a file, said so a person can find and fix it."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

REPORT_COLUMNS = ["severity", "file", "sheet", "row", "column", "value", "message"]


@dataclass(frozen=True)
class Problem:
    """One error or warning: where it is (file, sheet, row, column), what was there and
    what was expected. ``row`` is the spreadsheet row number (the header is row 1)."""

    message: str
    row: int | None = None
    column: str = ""
    value: str = ""
    sheet: str = ""
    file: str = ""
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FileRejected(Exception):
    """The file cannot be read at all (size, type, encoding, structure)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def unusual_characters(text: str) -> str:
    """The characters of ``text`` a reader would not see or would take for others
    (invisible, control, or letters outside Latin script), named: "U+200B ZERO WIDTH
    SPACE". Empty when there are none."""
    found = []
    for char in dict.fromkeys(text):
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp") or (
            ord(char) > 0x7F and category.startswith("L") and "LATIN" not in _name(char)
        ):
            found.append(f"U+{ord(char):04X} {_name(char)}")
    return ", ".join(found)


def _name(char: str) -> str:
    return unicodedata.name(char, "a control character")


def unreadable(exc: BaseException, filename: str) -> Problem:
    """What to say of a file that stopped the reader in a way no check foresaw."""
    detail = str(exc).strip()[:200] or "no detail"
    return Problem(
        f"The file could not be read: it holds something the reader does not handle "
        f"({type(exc).__name__}: {detail}). Nothing was stored. Check that it is CSV or an "
        ".xlsx workbook in one of the accepted formats, saved from a spreadsheet.",
        file=filename,
    )


# A file with many problems is mostly one mistake repeated: the first PER_KIND of each kind
# (same column, same message but for its numbers and quoted values) are listed, at most
# MAX_LISTED in all, and every kind is counted.
PER_KIND = 100
MAX_LISTED = 1_000
_VARIES = re.compile(r"'[^']*'|\d[\d,.]*")


def capped(problems: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The problems to list (``problems`` has ``column`` and ``message`` columns, in
    report order) and one entry per kind: its column, first message, count and how many
    are listed."""
    if problems.empty:
        return problems, []
    messages = problems["message"].astype("category")
    kinds = messages.cat.categories.map(lambda m: _VARIES.sub("…", str(m)))
    key = pd.Series(kinds.take(messages.cat.codes), index=problems.index)
    column = problems["column"].astype(str)
    group = [column, key]
    listed_mask = problems.groupby(group, sort=False).cumcount() < PER_KIND
    listed = problems[listed_mask.to_numpy()].head(MAX_LISTED)
    counts = problems.groupby(group, sort=False).size()
    shown = listed.groupby([column[listed.index], key[listed.index]], sort=False).size()
    first = problems.groupby(group, sort=False)["message"].first()
    return listed, [
        {
            "column": col,
            "message": str(first[(col, kind)]),
            "count": int(count),
            "listed": int(shown.get((col, kind), 0)),
        }
        for (col, kind), count in counts.items()
    ]


def report_csv(problems: list[dict[str, Any]], kinds: list[dict[str, Any]] | None = None) -> str:
    """The problems as CSV text (for download), one line each, in report order; then, for
    each kind with problems not listed, a line counting them."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for problem in problems:
        writer.writerow({k: _safe_cell(problem.get(k)) for k in REPORT_COLUMNS})
    for kind in kinds or []:
        if kind["count"] > kind["listed"]:
            writer.writerow(
                {
                    "severity": "not listed",
                    "column": _safe_cell(kind["column"]),
                    "message": _safe_cell(
                        f"{kind['count'] - kind['listed']:,} more problems like this one: "
                        f"{kind['message']}"
                    ),
                }
            )
    return buffer.getvalue()


def _safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value

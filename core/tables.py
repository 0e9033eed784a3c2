"""Tables shown on dashboards: sortable, and downloadable as CSV or XLSX.

A :class:`Table` holds display-ready rows; the same object renders the HTML table
(``templates/dashboards/_table.html``), sorts by a column named in the query string and
writes the download. Cells that a spreadsheet would run as a formula (starting ``=``,
``+``, ``-``, ``@``, tab or carriage return) are written as text.

Rows hold values, not display text: a column's ``places`` formats its numbers on the page
(scores and averages to 2 decimal places, "3.00" beside "2.92") and a date is shown as
"31 Jan 2027", while sorting and downloads use the number itself and the ISO date.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
from django.utils.dateformat import format as format_date

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAGE_DATE = "j M Y"  # 31 Jan 2027, as everywhere on the pages
#: Tables with this many columns or more are set smaller and tighter (see site.css).
WIDE_COLUMNS = 8


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    link: str = ""  # the row key holding this cell's URL
    places: int | None = None  # decimal places a number is shown with on the page
    download_only: bool = False  # in the files, not on the page (e.g. the same every row)
    figure: str = ""  # the row key holding a small chart shown before the value, page only


@dataclass
class Table:
    slug: str
    caption: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    sort: str = ""
    descending: bool = False
    empty: str = "Nothing to show."

    def sorted_by(self, sort: str) -> Table:
        """Sorted by ``sort`` (a column key, ``-`` first for descending); unknown keys are
        ignored. Missing values sort last either way."""
        descending = sort.startswith("-")
        key = sort.lstrip("-")
        if key not in {c.key for c in self.columns}:
            return self
        present = [r for r in self.rows if r.get(key) not in (None, "")]
        missing = [r for r in self.rows if r.get(key) in (None, "")]
        present.sort(key=lambda r: _sortable(r[key]), reverse=descending)
        self.rows, self.sort, self.descending = present + missing, key, descending
        return self

    @property
    def shown(self) -> list[Column]:
        """The columns on the page; downloads have every column."""
        return [c for c in self.columns if not c.download_only]

    @property
    def wide(self) -> bool:
        """Many columns: the page sets this table smaller so that more of it fits."""
        return len(self.shown) >= WIDE_COLUMNS

    @property
    def headers(self) -> list[dict[str, Any]]:
        out = []
        for c in self.shown:
            active = c.key == self.sort
            out.append(
                {
                    "column": c,
                    # A long heading gets room for two lines, not a word a line.
                    "length": _heading_length(c.label),
                    "next_sort": f"-{c.key}" if active and not self.descending else c.key,
                    "aria_sort": (
                        ("descending" if self.descending else "ascending") if active else "none"
                    ),
                }
            )
        return out

    @property
    def cells(self) -> list[list[dict[str, Any]]]:
        return [
            [
                {
                    "value": _shown(r.get(c.key), c),
                    "numeric": c.numeric,
                    "date": isinstance(r.get(c.key), datetime.date),
                    "url": r.get(c.link) if c.link else "",
                    "figure": r.get(c.figure, "") if c.figure else "",
                }
                for c in self.shown
            ]
            for r in self.rows
        ]

    def as_rows(self) -> list[list[Any]]:
        return [[c.label for c in self.columns]] + [
            [_cell(r.get(c.key)) for c in self.columns] for r in self.rows
        ]

    def download(self, fmt: str, filename: str) -> HttpResponse:
        if fmt == "xlsx":
            return _xlsx(self, filename)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(self.as_rows())
        response = HttpResponse(
            "\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response


def _heading_length(label: str) -> str:
    if len(label) > 24:
        return "longer"
    return "long" if len(label) > 16 else ""


def _shown(value: Any, column: Column) -> Any:
    """A value as the page shows it: numbers to the column's places, dates as 31 Jan 2027."""
    if isinstance(value, datetime.date):
        return format_date(value, PAGE_DATE)
    if column.places is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{column.places}f}"
    return value


def _sortable(value: Any) -> tuple:
    if isinstance(value, int | float):
        return (0, value, "")
    if isinstance(value, datetime.date):
        return (1, 0, value.isoformat())
    return (1, 0, str(value).lower())


def _cell(value: Any) -> Any:
    """A value as written to a file: numbers stay numbers, text that looks like a formula
    is prefixed with an apostrophe so it is shown, never run."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _xlsx(table: Table, filename: str) -> HttpResponse:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.slug[:31] or "table")
    for row in table.as_rows():
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response

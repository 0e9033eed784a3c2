"""Tables shown on dashboards: sortable, and downloadable as CSV or XLSX.

A :class:`Table` holds display-ready rows; the same object renders the HTML table
(``templates/dashboards/_table.html``), sorts by a column named in the query string and
writes the download. Cells that a spreadsheet would run as a formula (starting ``=``,
``+``, ``-``, ``@``, tab or carriage return) are written as text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    link: str = ""  # the row key holding this cell's URL


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
    def headers(self) -> list[dict[str, Any]]:
        out = []
        for c in self.columns:
            active = c.key == self.sort
            out.append(
                {
                    "column": c,
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
                    "value": r.get(c.key),
                    "numeric": c.numeric,
                    "url": r.get(c.link) if c.link else "",
                }
                for c in self.columns
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


def _sortable(value: Any) -> tuple:
    if isinstance(value, int | float):
        return (0, value, "")
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

"""What is wrong with a file, said so a person can find and fix it."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from typing import Any

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


def unreadable(exc: BaseException, filename: str) -> Problem:
    """What to say of a file that stopped the reader in a way no check foresaw."""
    detail = str(exc).strip()[:200] or "no detail"
    return Problem(
        f"The file could not be read: it holds something the reader does not handle "
        f"({type(exc).__name__}: {detail}). Nothing was stored. Check that it is CSV or an "
        ".xlsx workbook in one of the accepted formats, saved from a spreadsheet.",
        file=filename,
    )


def report_csv(problems: list[dict[str, Any]]) -> str:
    """The problems as CSV text (for download), one line each, in report order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for problem in problems:
        writer.writerow({k: _safe_cell(problem.get(k)) for k in REPORT_COLUMNS})
    return buffer.getvalue()


def _safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value

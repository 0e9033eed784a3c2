"""Reading an .xlsx workbook: the archive checked before it is opened (zip bombs, size,
shape), then the first sheet with a format's columns read cell by cell as text."""

from __future__ import annotations

import datetime
import io
import itertools
import re
import zipfile
from typing import Any

import pandas as pd

from .problems import FileRejected, Problem
from .shape import ShapeLimits, check_header, check_recognised, check_sheet_shape
from .tables import CHUNK_ROWS, ROW, Limits, Progress, RawTable, size_text

MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _check_archive(data: bytes, filename: str, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileRejected(
            [Problem("The file is not a valid .xlsx workbook (damaged zip).", file=filename)]
        ) from exc
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > limits.max_uncompressed_bytes:
            raise FileRejected(
                [
                    Problem(
                        f"The workbook expands to {size_text(total)}, over the "
                        f"{size_text(limits.max_uncompressed_bytes)} limit; it was not opened.",
                        file=filename,
                    )
                ]
            )
        for member in members:
            if member.file_size > (1 << 20) and member.file_size > (
                limits.max_compression_ratio * max(member.compress_size, 1)
            ):
                raise FileRejected(
                    [
                        Problem(
                            f"The workbook part {member.filename} is compressed "
                            f"{member.file_size // max(member.compress_size, 1)}:1, which "
                            "looks like a zip bomb; it was not opened.",
                            file=filename,
                        )
                    ]
                )
        if "xl/workbook.xml" not in archive.namelist():
            raise FileRejected(
                [Problem("The file is a zip archive but not an Excel workbook.", file=filename)]
            )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _merged_ranges(archive: zipfile.ZipFile, path: str) -> list[tuple[str, int, str, int]]:
    found = []
    tail = b""
    with archive.open(path) as stream:
        while block := stream.read(1 << 20):
            text = tail + block
            found.extend(MERGE_RE.findall(text))
            tail = text[-200:]
    unique = {(a.decode(), int(r1), (b or a).decode(), int(r2 or r1)) for a, r1, b, r2 in found}
    return sorted(unique, key=lambda m: (m[1], m[0]))


def read_xlsx(
    data: bytes, filename: str, header_sets: list[set[str]], limits: Limits, progress: Progress
) -> RawTable:
    _check_archive(data, filename, limits)
    from openpyxl import load_workbook  # defusedxml is installed, so openpyxl parses safely

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged parts
        raise FileRejected(
            [Problem(f"The workbook cannot be opened: {exc}", file=filename)]
        ) from exc
    try:
        for sheet in workbook.worksheets:
            check_sheet_shape(
                workbook._archive, sheet._worksheet_path, limits.shape, filename, sheet.title
            )
        return _read_workbook(workbook, filename, header_sets, progress, limits.shape)
    finally:
        workbook.close()


def _read_workbook(
    workbook: Any,
    filename: str,
    header_sets: list[set[str]],
    progress: Progress,
    limits: ShapeLimits,
) -> RawTable:
    """The first sheet with a format's columns, every cell as text; formulas and merged
    cells are refused, and the other sheets are named in a warning."""
    chosen, headers = _choose_sheet(workbook, filename, header_sets)
    warnings = []
    if len(workbook.worksheets) > 1:
        warnings.append(
            Problem(
                f"The workbook has {len(workbook.worksheets)} sheets "
                f"({', '.join(s.title for s in workbook.worksheets)}); read '{chosen.title}', "
                "the first with the expected columns. The others were ignored.",
                sheet=chosen.title,
                file=filename,
                severity="warning",
            )
        )
    problems = _merged_cells(workbook, chosen, filename)
    header = [_cell_text(v) for v in headers[chosen.title]]
    while header and not header[-1]:
        header.pop()
    header_problems = check_header(header, filename, chosen.title)
    if header_problems:
        raise FileRejected(problems + header_problems)
    check_recognised(header, header_sets, filename, chosen.title)
    records, rows, cell_problems = _sheet_rows(chosen, header, filename, progress, limits)
    problems += cell_problems
    if problems:
        raise FileRejected(problems)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame[ROW] = rows
    if frame.empty:
        raise FileRejected(
            [
                Problem(
                    "The sheet has a header row but no data rows.",
                    row=1,
                    sheet=chosen.title,
                    file=filename,
                )
            ]
        )
    return RawTable(
        frame=frame, file_type="xlsx", sheet=chosen.title, warnings=warnings, header=header
    )


def _choose_sheet(
    workbook: Any, filename: str, header_sets: list[set[str]]
) -> tuple[Any, dict[str, list[str]]]:
    """The first sheet whose first row holds one of ``header_sets`` (a workbook's only
    sheet, whatever it holds), and every sheet's first row by title."""
    headers: dict[str, list[str]] = {}
    chosen = None
    for sheet in workbook.worksheets:
        first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        names = [_cell_text(v) for v in first]
        headers[sheet.title] = names
        if chosen is None and any(req <= set(names) for req in header_sets):
            chosen = sheet
    if chosen is not None:
        return chosen, headers
    if len(workbook.worksheets) == 1 or not header_sets:
        return workbook.worksheets[0], headers
    listing = "; ".join(
        f"'{title}': {', '.join(n[:40] for n in names[:8] if n) or 'empty'}"
        for title, names in itertools.islice(headers.items(), 10)
    )
    if len(headers) > 10:
        listing += f"; and {len(headers) - 10} more sheets"
    raise FileRejected(
        [
            Problem(
                f"No sheet has the expected columns. Sheets and their first rows: {listing}.",
                file=filename,
            )
        ]
    )


def _merged_cells(workbook: Any, sheet: Any, filename: str) -> list[Problem]:
    """A problem for each range of merged cells in ``sheet``."""
    problems = []
    for first_col, first_row, last_col, last_row in _merged_ranges(
        workbook._archive, sheet._worksheet_path
    ):
        where = "header" if first_row == 1 else "data"
        problems.append(
            Problem(
                f"Cells {first_col}{first_row}:{last_col}{last_row} are merged ({where} "
                "row); unmerge them so every column has its own cell.",
                row=first_row,
                column=first_col,
                sheet=sheet.title,
                file=filename,
            )
        )
    return problems


def _sheet_rows(
    sheet: Any, header: list[str], filename: str, progress: Progress, limits: ShapeLimits
) -> tuple[list[list[str]], list[int], list[Problem]]:
    """The sheet's data rows as text (blank rows skipped, short rows padded: an empty
    cell is not stored in a workbook), their row numbers, and a problem for each formula,
    value beyond the header's last column and over-long cell."""
    width = len(header)
    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    for number, cells in enumerate(sheet.iter_rows(min_row=2), start=2):
        values = [_cell_text(cell.value) for cell in cells]
        problems += _cell_problems(cells, values, header, number, limits, sheet.title, filename)
        if len(problems) > MAX_SHEET_PROBLEMS:
            break
        values = values[:width]
        if not any(values):
            continue
        values.extend([""] * (width - len(values)))
        records.append(values)
        rows.append(number)
        if len(records) % CHUNK_ROWS == 0:
            progress(50, f"Read {len(records):,} rows")
    return records, rows, problems


# A workbook with more problems than this in its cells is refused on them: they are the
# same mistake repeated (a formula filled down, a column pasted beside the table).
MAX_SHEET_PROBLEMS = 1_000


def _cell_problems(
    cells: tuple[Any, ...],
    values: list[str],
    header: list[str],
    number: int,
    limits: ShapeLimits,
    sheet: str,
    filename: str,
) -> list[Problem]:
    """A problem for each formula, each value beyond the header's last column and each
    cell longer than ``max_cell_chars`` in one row."""
    width = len(header)
    problems = []
    for position, (cell, text) in enumerate(zip(cells, values, strict=True)):
        if not text:
            continue
        column = header[position] if position < width else _letters(position + 1)
        value = cell.value
        if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
            message = f"Cell holds a formula ({text[:60]}); paste values only."
        elif position >= width:
            message = (
                f"A value in column {_letters(position + 1)}, after the header's last column "
                f"({_letters(width)}, {header[-1]}); it belongs to no column. Delete it, or "
                "give its column a name."
            )
        elif len(text) > limits.max_cell_chars:
            message = (
                f"The cell is {len(text):,} characters long; a cell may hold at most "
                f"{limits.max_cell_chars:,}."
            )
        else:
            continue
        problems.append(
            Problem(
                message,
                row=number,
                column=column,
                value=text[:200],
                sheet=sheet,
                file=filename,
            )
        )
    return problems


def _letters(index: int) -> str:
    """A spreadsheet column's letters: 1 is A, 27 is AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters

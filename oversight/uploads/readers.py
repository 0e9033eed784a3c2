"""Reading a CSV or XLSX file into a table of text, refusing what cannot be read safely.

Every cell comes back as text (``str``; a CSV's columns are categorical: each distinct text
once, and a code per row), so numbers are converted later with explicit, reported errors.
A ``_row`` column holds each line's spreadsheet row number.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import os
import re
import warnings as python_warnings
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from .problems import FileRejected, Problem
from .shape import (
    ShapeLimits,
    check_columns,
    check_csv_shape,
    check_header,
    check_sheet_shape,
    first_line_end,
)

ROW = "_row"
CHUNK_ROWS = 250_000

Progress = Callable[[int, str], None]


@dataclass
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_compression_ratio: int = 100
    max_rows: int = 2_000_000
    max_columns: int = 100
    max_cell_chars: int = 5_000

    @property
    def shape(self) -> ShapeLimits:
        return ShapeLimits(self.max_rows, self.max_columns, self.max_cell_chars)


@dataclass
class RawTable:
    frame: pd.DataFrame
    file_type: str
    encoding: str = ""
    sheet: str = ""
    warnings: list[Problem] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


def _noop(percent: int, detail: str) -> None:
    return None


def read_table(
    data: bytes,
    filename: str,
    *,
    header_sets: Iterable[set[str]] = (),
    limits: Limits | None = None,
    progress: Progress = _noop,
    columns: Iterable[str] | None = None,
) -> RawTable:
    """Read ``data`` (the file's bytes) as CSV or XLSX, whichever its content is.

    ``header_sets`` are the column sets of the accepted formats; in a workbook the first
    sheet holding one of them is read. ``columns``, when given, are the only columns the
    caller uses: a CSV's other columns are still parsed (so every row's number of cells
    is checked) but not turned into text or kept; ``header`` always names them all. Raises
    :class:`FileRejected` with every reason.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise FileRejected(
            [
                Problem(
                    f"The file is {_size(len(data))}; the largest accepted is "
                    f"{_size(limits.max_bytes)}. Split it by quarter and upload each part.",
                    file=filename,
                )
            ]
        )
    if not NOT_BLANK.search(data):
        raise FileRejected([Problem("The file is empty.", file=filename)])
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, filename, list(header_sets), limits, progress)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRejected(
            [
                Problem(
                    "This is an Excel 97-2003 workbook (.xls), which is not accepted; "
                    "save it as an Excel workbook (.xlsx) or as CSV UTF-8.",
                    file=filename,
                )
            ]
        )
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise FileRejected(
            [Problem("The file is named .xlsx but is not an Excel workbook.", file=filename)]
        )
    keep = None if columns is None else set(columns)
    return _read_csv(data, filename, progress, keep, limits.shape)


# --- CSV -----------------------------------------------------------------------------------

# Any byte other than a byte-order mark's or white space: the file is not empty. (A search
# stops at the first one; stripping would copy the whole file.)
NOT_BLANK = re.compile(rb"[^\xef\xbb\xbf \t\r\n]")
BOM = b"\xef\xbb\xbf"
NEWLINE = b"\n"


def _decode_check(data: bytes, filename: str) -> str:
    """The encoding to read ``data`` with: UTF-8 (with or without BOM) or Windows-1252."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileRejected(
            [
                Problem(
                    "The file is UTF-16 text ('Unicode Text' in Excel); save it as "
                    "'CSV UTF-8 (Comma delimited)'.",
                    file=filename,
                )
            ]
        )
    nul = data.find(b"\x00", 0, 1 << 20)
    if nul >= 0:
        raise FileRejected(
            [
                Problem(
                    f"The file holds binary data (a NUL byte at position {nul}); "
                    "expected CSV text or an .xlsx workbook.",
                    file=filename,
                )
            ]
        )
    bom = data.startswith(BOM)
    # ASCII is UTF-8: checked without decoding (and copying) the whole file.
    if _is_ascii(data, 3 if bom else 0):
        return "utf-8-sig" if bom else "utf-8"
    try:
        data.decode("utf-8")
        return "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as utf8_error:
        _refuse_mixed(data, bom, utf8_error, filename)
        try:
            data.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise FileRejected(
                [
                    Problem(
                        f"The file is neither UTF-8 nor Windows-1252 text: byte "
                        f"0x{data[exc.start]:02x} on line {line} cannot be read (as UTF-8: "
                        f"{utf8_error.reason}). Save it as 'CSV UTF-8'.",
                        row=line,
                        file=filename,
                    )
                ]
            ) from exc


# A character written as UTF-8 (two to four bytes): in Windows-1252 text these pairs are
# letters such as "Ã©", which no file of ours holds.
UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _refuse_mixed(data: bytes, bom: bool, error: UnicodeDecodeError, filename: str) -> None:
    """Refuse text that is partly UTF-8 (a byte-order mark or a UTF-8 character) and partly
    not: read either way, some of its text would come out wrong."""
    utf8 = UTF8_SEQUENCE.search(data)
    if not bom and utf8 is None:
        return
    line = data.count(b"\n", 0, error.start) + 1
    if bom or utf8 is None:
        evidence = "it starts with a UTF-8 byte-order mark"
    else:
        evidence = f"line {data.count(NEWLINE, 0, utf8.start()) + 1} holds UTF-8 text"
    raise FileRejected(
        [
            Problem(
                f"The file mixes text encodings: {evidence}, but byte 0x{data[error.start]:02x} "
                f"on line {line} is not UTF-8 (Windows-1252, perhaps, pasted from another "
                "file). Nothing was guessed: save the whole file as 'CSV UTF-8' and upload it "
                "again.",
                row=line,
                file=filename,
            )
        ]
    )


def _is_ascii(data: bytes, start: int) -> bool:
    bytes_ = np.frombuffer(data, dtype=np.uint8)[start:]
    return not bytes_.size or int(bytes_.max()) < 0x80


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(
    data: bytes, filename: str, progress: Progress, keep: set[str] | None, limits: ShapeLimits
) -> RawTable:
    encoding = _decode_check(data, filename)
    start = 3 if encoding == "utf-8-sig" else 0
    end = first_line_end(data, start, limits, filename)
    first_line = data[start:end].decode(encoding.replace("-sig", ""), "replace")
    delimiter = _delimiter(first_line)
    try:
        header = next(csv.reader([first_line], delimiter=delimiter))
    except csv.Error as exc:  # a header cell over the csv module's limit (131,072)
        raise FileRejected(
            [Problem(f"The header row cannot be read: {exc}.", row=1, file=filename)]
        ) from exc
    header = [h.strip() for h in header]
    check_columns(len(header), limits, filename)
    problems = check_header(header, filename)
    if problems:
        raise FileRejected(problems)
    check_csv_shape(data, start, delimiter, len(header), limits, filename)

    kept = header if keep is None else [c for c in header if c in keep]
    chunks = _parse_csv(data, filename, encoding, delimiter, header, kept, progress, text=False)
    if chunks is None:  # a column of categories that are not text: read plain text instead
        chunks = _parse_csv(data, filename, encoding, delimiter, header, kept, progress, text=True)
    frame = _concat(chunks, kept)
    # With na_filter off, empty and missing cells (a short row) are read as "": no NaN.
    # Spreadsheet row numbers: the header is row 1 (blank lines are not counted).
    frame[ROW] = frame.index + 2
    if frame.empty:
        raise FileRejected(
            [Problem("The file has a header row but no data rows.", row=1, file=filename)]
        )
    return RawTable(
        frame=frame,
        file_type="csv",
        encoding=encoding.replace("cp1252", "windows-1252"),
        header=header,
    )


# A CSV this large is parsed in parts, in threads (pandas' parser releases the GIL while it
# tokenises, so the parts are read side by side on a multi-core machine).
PARALLEL_BYTES = 16 * 1024 * 1024
PARALLEL_PARTS = 4
PARALLEL_THREADS = min(2, os.cpu_count() or 1)


def _parse_csv(
    data: bytes,
    filename: str,
    encoding: str,
    delimiter: str,
    header: list[str],
    kept: list[str],
    progress: Progress,
    *,
    text: bool,
) -> list[pd.DataFrame] | None:
    """As :func:`_parse_rows`, with any warning from the parser (data it would drop or
    move) refused as an error."""
    with python_warnings.catch_warnings():
        python_warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return _parse_rows(
                data, filename, encoding, delimiter, header, kept, progress, text=text
            )
        except pd.errors.ParserWarning as exc:
            raise FileRejected(
                [Problem(f"The rows do not line up with the header: {exc}", file=filename)]
            ) from exc


def _parse_rows(
    data: bytes,
    filename: str,
    encoding: str,
    delimiter: str,
    header: list[str],
    kept: list[str],
    progress: Progress,
    *,
    text: bool,
) -> list[pd.DataFrame] | None:
    """The file's rows in chunks, with the ``kept`` columns only.

    Kept columns are categorical (each distinct text once, and codes) unless ``text``:
    then plain text. pandas turns categories that all look like numbers or booleans into
    numbers or booleans unless a thousands separator is set, so one that never occurs is;
    if a column still comes back with categories that are not text (e.g. only TRUE and
    FALSE), this returns ``None`` and the caller reads the file again as plain text.
    Columns not kept are parsed as one-byte strings (so every row's cells are counted)
    without making a text object per cell.
    """
    options = {
        "sep": delimiter,
        "names": header,
        "dtype": {c: (object if text else "category") if c in kept else "S1" for c in header},
        "keep_default_na": False,
        "na_filter": False,
        "thousands": None if text else "\x1f",
        "skip_blank_lines": True,
        "chunksize": CHUNK_ROWS,
        "engine": "c",
        # Never an implicit index column: a row with an extra cell is an error (the shape
        # check refuses it first), not a row whose cells all move one column right.
        "index_col": False,
    }
    ranges = _line_ranges(data, PARALLEL_PARTS) if len(data) >= PARALLEL_BYTES else []
    if len(ranges) > 1 and PARALLEL_THREADS > 1:
        try:
            parts = _parse_in_parts(data, ranges, encoding, options, kept, text=text)
        except pd.errors.ParserError:
            pass  # reported from the whole-file read below, with the file's line number
        else:
            if any(p is None for p in parts):
                return None
            chunks = [chunk for p in parts for chunk in p]
            progress(60, f"Read {sum(len(c) for c in chunks):,} rows")
            return chunks
    try:
        return _parse_whole(data, encoding, options, kept, progress, text=text)
    except pd.errors.ParserError as exc:
        raise _unreadable(exc, delimiter, filename) from exc


def _parse_in_parts(
    data: bytes,
    ranges: list[tuple[int, int]],
    encoding: str,
    options: dict[str, Any],
    kept: list[str],
    *,
    text: bool,
) -> list[list[pd.DataFrame] | None]:
    """Each byte range of ``data`` parsed in its own thread, as :func:`_parse_csv` reads
    the whole file (a part is ``None`` when a column's categories are not text). The
    first part holds the header row (and any byte-order mark); the others start on a row.
    """

    def part(bounds: tuple[int, int]) -> list[pd.DataFrame] | None:
        first = bounds[0] == 0
        stream = io.BytesIO(data[bounds[0] : bounds[1]])
        chunks = []
        for chunk in pd.read_csv(
            stream,
            encoding=encoding if first else encoding.replace("-sig", ""),
            header=0 if first else None,
            **options,
        ):
            chunk = chunk[kept]
            if not _categories_are_text(chunk, kept, text=text):
                return None
            chunks.append(chunk)
        return chunks

    with ThreadPoolExecutor(PARALLEL_THREADS) as pool:
        return list(pool.map(part, ranges))


def _parse_whole(
    data: bytes,
    encoding: str,
    options: dict[str, Any],
    kept: list[str],
    progress: Progress,
    *,
    text: bool,
) -> list[pd.DataFrame] | None:
    """The whole file parsed in one pass, chunk by chunk, reporting progress."""
    chunks = []
    total = len(data)
    reader = pd.read_csv(io.BytesIO(data), encoding=encoding, header=0, **options)
    read = 0
    for chunk in reader:
        chunk = chunk[kept]
        if not _categories_are_text(chunk, kept, text=text):
            return None
        chunks.append(chunk)
        read += len(chunk)
        done = min(99, int(100 * read * 60 / max(total, 1)))
        progress(done, f"Read {read:,} rows")
    return chunks


def _unreadable(exc: pd.errors.ParserError, delimiter: str, filename: str) -> FileRejected:
    """The parse error said so a person can find the row (a cell count that differs from
    the header's, most often an unquoted delimiter)."""
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if match:
        expected, line, saw = map(int, match.groups())
        return FileRejected(
            [
                Problem(
                    f"Row {line} has {saw} cells but the header has {expected}; check for "
                    f"an unquoted '{delimiter}' inside a value.",
                    row=line,
                    file=filename,
                )
            ]
        )
    return FileRejected([Problem(f"The file is not readable as CSV: {exc}", file=filename)])


def _line_ranges(data: bytes, parts: int) -> list[tuple[int, int]]:
    """About ``parts`` byte ranges covering ``data``, each ending just after a line break
    that is outside quotes (an even number of ``"`` before it), so each is whole rows."""
    bounds = [0]
    quotes = 0  # quote characters in data[:counted]
    counted = 0
    for i in range(1, parts):
        end = data.find(b"\n", max(bounds[-1], len(data) * i // parts))
        while end >= 0:
            quotes += data.count(b'"', counted, end)
            counted = end
            if quotes % 2 == 0:
                break
            end = data.find(b"\n", end + 1)
        if end < 0:
            break
        bounds.append(end + 1)
    bounds.append(len(data))
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _categories_are_text(chunk: pd.DataFrame, kept: list[str], *, text: bool) -> bool:
    """Whether every kept column of ``chunk`` holds text (always, when read as ``text``)."""
    return text or all(_text_categories(chunk[c]) for c in kept)


def _text_categories(column: pd.Series) -> bool:
    categories = column.cat.categories
    return pd.api.types.is_string_dtype(categories) or categories.empty


def _concat(chunks: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """One table of the chunks (categorical columns stay categorical)."""
    if not chunks:
        return pd.DataFrame(columns=columns)
    if len(chunks) == 1:
        return chunks[0].reset_index(drop=True)
    joined = {}
    for c in columns:
        parts = [chunk[c] for chunk in chunks]
        if isinstance(parts[0].dtype, pd.CategoricalDtype):
            joined[c] = union_categoricals(parts, ignore_order=True)
        else:
            joined[c] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(joined)


# --- XLSX ----------------------------------------------------------------------------------

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
                        f"The workbook expands to {_size(total)}, over the "
                        f"{_size(limits.max_uncompressed_bytes)} limit; it was not opened.",
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


def _read_xlsx(
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
    problems += check_header(header, filename, chosen.title)
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
        f"'{title}': {', '.join(n for n in names if n) or 'empty'}"
        for title, names in headers.items()
    )
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


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"

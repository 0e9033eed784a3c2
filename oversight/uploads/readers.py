"""Reading a CSV or XLSX file into a table of text, refusing what cannot be read safely.

Every cell comes back as text (``str``; a CSV's columns are categorical: each distinct text
once, and a code per row), so numbers are converted later with explicit, reported errors.
A ``_row`` column holds each line's spreadsheet row number.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import warnings as python_warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
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
    check_recognised,
    first_line_end,
)
from .tables import CHUNK_ROWS, ROW, Limits, Progress, RawTable, size_text
from .workbook import read_xlsx

__all__ = ["ROW", "Limits", "RawTable", "read_table"]


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
                    f"The file is {size_text(len(data))}; the largest accepted is "
                    f"{size_text(limits.max_bytes)}. Split it by quarter and upload each part.",
                    file=filename,
                )
            ]
        )
    if not NOT_BLANK.search(data):
        raise FileRejected([Problem("The file is empty.", file=filename)])
    if data[:4] == b"PK\x03\x04":
        return read_xlsx(data, filename, list(header_sets), limits, progress)
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
    return _read_csv(data, filename, progress, keep, limits.shape, list(header_sets))


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
    data: bytes,
    filename: str,
    progress: Progress,
    keep: set[str] | None,
    limits: ShapeLimits,
    header_sets: list[set[str]],
) -> RawTable:
    encoding = _decode_check(data, filename)
    start = 3 if encoding == "utf-8-sig" else 0
    if data.find(b"\n") < 0 and data.find(b"\r") >= 0:
        raise FileRejected(
            [
                Problem(
                    "The lines of the file end with carriage returns only (the old Mac "
                    "format), so it reads as one line; save it as 'CSV UTF-8'.",
                    file=filename,
                )
            ]
        )
    end = first_line_end(data, start, limits, filename)
    first_line = data[start:end].decode(encoding.replace("-sig", ""), "replace")
    delimiter = _delimiter(first_line)
    try:
        header = next(csv.reader([first_line], delimiter=delimiter))
    except csv.Error as exc:  # a header cell over the csv module's limit (131,072)
        raise FileRejected(
            [
                Problem(
                    f"A cell of the header row is too long to read ({exc}); a cell may hold "
                    f"at most {limits.max_cell_chars:,} characters.",
                    row=1,
                    file=filename,
                )
            ]
        ) from exc
    header = [h.strip() for h in header]
    check_columns(len(header), limits, filename)
    problems = check_header(header, filename)
    if problems:
        raise FileRejected(problems)
    check_recognised(header, header_sets, filename)
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

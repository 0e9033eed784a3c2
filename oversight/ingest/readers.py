"""Reading a CSV or XLSX file into a table of text, refusing what cannot be read safely.

Every cell comes back as text (``str``), so numbers are converted later with explicit,
reported errors. A ``_row`` column holds each line's spreadsheet row number.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from .problems import FileRejected, Problem

ROW = "_row"
CHUNK_ROWS = 250_000

Progress = Callable[[int, str], None]


@dataclass
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_compression_ratio: int = 100


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
) -> RawTable:
    """Read ``data`` (the file's bytes) as CSV or XLSX, whichever its content is.

    ``header_sets`` are the column sets of the accepted formats; in a workbook the first
    sheet holding one of them is read. Raises :class:`FileRejected` with every reason.
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
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
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
    return _read_csv(data, filename, progress)


# --- CSV -----------------------------------------------------------------------------------


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
    try:
        data.decode("utf-8")
        return "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError as utf8_error:
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


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(data: bytes, filename: str, progress: Progress) -> RawTable:
    encoding = _decode_check(data, filename)
    text_start = data[3:] if encoding == "utf-8-sig" else data
    first_line = text_start.split(b"\n", 1)[0].decode(encoding.replace("-sig", ""), "replace")
    delimiter = _delimiter(first_line)
    header = next(csv.reader([first_line], delimiter=delimiter))
    header = [h.strip() for h in header]
    seen: dict[str, int] = {}
    problems = []
    for position, name in enumerate(header, start=1):
        if not name:
            problems.append(
                Problem(f"Column {position} has no name in the header row.", row=1, file=filename)
            )
        elif name in seen:
            problems.append(
                Problem(
                    f"The column '{name}' appears twice (columns {seen[name]} and {position}).",
                    row=1,
                    column=name,
                    file=filename,
                )
            )
        seen.setdefault(name, position)
    if problems:
        raise FileRejected(problems)

    chunks = []
    total = len(data)
    try:
        reader = pd.read_csv(
            io.BytesIO(data),
            encoding=encoding,
            sep=delimiter,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            chunksize=CHUNK_ROWS,
            engine="c",
        )
        for chunk in reader:
            chunks.append(chunk)
            done = min(99, int(100 * sum(len(c) for c in chunks) * 60 / max(total, 1)))
            progress(done, f"Read {sum(len(c) for c in chunks):,} rows")
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = map(int, match.groups())
            raise FileRejected(
                [
                    Problem(
                        f"Row {line} has {saw} cells but the header has {expected}; check for "
                        f"an unquoted '{delimiter}' inside a value.",
                        row=line,
                        file=filename,
                    )
                ]
            ) from exc
        raise FileRejected(
            [Problem(f"The file is not readable as CSV: {exc}", file=filename)]
        ) from exc
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=header)
    frame.columns = header
    frame = frame.fillna("")
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
        return _read_workbook(workbook, filename, header_sets, progress)
    finally:
        workbook.close()


def _read_workbook(workbook, filename: str, header_sets: list[set[str]], progress: Progress):
    headers: dict[str, list[str]] = {}
    chosen = None
    for sheet in workbook.worksheets:
        first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        names = [_cell_text(v) for v in first]
        headers[sheet.title] = names
        if chosen is None and any(req <= set(names) for req in header_sets):
            chosen = sheet
    if chosen is None:
        if len(workbook.worksheets) == 1 or not header_sets:
            chosen = workbook.worksheets[0]
        else:
            listing = "; ".join(
                f"'{title}': {', '.join(n for n in names if n) or 'empty'}"
                for title, names in headers.items()
            )
            raise FileRejected(
                [
                    Problem(
                        f"No sheet has the expected columns. Sheets and their first rows: "
                        f"{listing}.",
                        file=filename,
                    )
                ]
            )
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

    problems = []
    merged = _merged_ranges(workbook._archive, chosen._worksheet_path)
    for first_col, first_row, last_col, last_row in merged:
        where = "header" if first_row == 1 else "data"
        problems.append(
            Problem(
                f"Cells {first_col}{first_row}:{last_col}{last_row} are merged ({where} "
                "row); unmerge them so every column has its own cell.",
                row=first_row,
                column=first_col,
                sheet=chosen.title,
                file=filename,
            )
        )

    header = [_cell_text(v) for v in headers[chosen.title]]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    for position, name in enumerate(header, start=1):
        if not name:
            problems.append(
                Problem(
                    f"Column {position} has no name in the header row.",
                    row=1,
                    sheet=chosen.title,
                    file=filename,
                )
            )
    records: list[list[str]] = []
    rows: list[int] = []
    for number, cells in enumerate(chosen.iter_rows(min_row=2), start=2):
        values = []
        for position, cell in enumerate(cells[:width]):
            value = cell.value
            if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
                problems.append(
                    Problem(
                        f"Cell holds a formula ({str(value)[:60]}); paste values only.",
                        row=number,
                        column=header[position] if position < width else "",
                        value=str(value)[:200],
                        sheet=chosen.title,
                        file=filename,
                    )
                )
            values.append(_cell_text(value))
        if not any(values):
            continue
        values.extend([""] * (width - len(values)))
        records.append(values)
        rows.append(number)
        if len(records) % CHUNK_ROWS == 0:
            progress(50, f"Read {len(records):,} rows")
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


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"

"""The shape of a file, checked before it is parsed: how many rows, how many cells in each
row, how long each cell is. Every check here is a linear pass over the bytes (NumPy), so a
hostile file is refused in about the time it takes to read it, and no row can shift its
cells into the wrong columns unnoticed.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

import numpy as np

from .problems import FileRejected, Problem, unusual_characters

# At most this many rows are named in one message; the rest are counted.
NAMED_ROWS = 20


@dataclass(frozen=True)
class ShapeLimits:
    """The most a file may hold. Each is a setting (``METRIC_UPLOAD_MAX_*``)."""

    max_rows: int = 2_000_000
    max_columns: int = 100
    max_cell_chars: int = 5_000


def check_header(header: list[str], filename: str, sheet: str = "") -> list[Problem]:
    """A problem for each unnamed or repeated column of the header row."""
    seen: dict[str, int] = {}
    problems = []
    for position, name in enumerate(header, start=1):
        if not name:
            problems.append(
                Problem(
                    f"Column {position} has no name in the header row.",
                    row=1,
                    sheet=sheet,
                    file=filename,
                )
            )
        elif unusual := unusual_characters(name):
            problems.append(
                Problem(
                    f"The name of column {position} holds characters that cannot be seen or "
                    f"look like others ({unusual}); retype it as plain text"
                    + (
                        " (U+FEFF is a byte-order mark: the file has two of them at its start)."
                        if "FEFF" in unusual
                        else "."
                    ),
                    row=1,
                    column=name,
                    sheet=sheet,
                    file=filename,
                )
            )
        elif name in seen:
            problems.append(
                Problem(
                    f"The column '{name}' appears twice (columns {seen[name]} and {position}).",
                    row=1,
                    column=name,
                    sheet=sheet,
                    file=filename,
                )
            )
        seen.setdefault(name, position)
    return problems


def check_recognised(
    header: list[str], header_sets: list[set[str]], filename: str, sheet: str = ""
) -> None:
    """Refuse a first row that is no format's header (fewer than two of any format's
    required columns): a title row, a web page or JSON saved as CSV."""
    if not header_sets or any(len(required & set(header)) >= 2 for required in header_sets):
        return
    shown = ", ".join(f"'{name[:40]}'" for name in header[:8] if name) or "nothing"
    more = f" and {len(header) - 8:,} more" if len(header) > 8 else ""
    raise FileRejected(
        [
            Problem(
                f"The columns are not recognised: the first row must be the header row of "
                f"our template or of one of NHS England's files (their columns are listed on "
                f"the metric catalogue page). Found: {shown}{more}. If the header is lower "
                "down, delete the rows above it.",
                row=1,
                sheet=sheet,
                file=filename,
            )
        ]
    )


def first_line_end(data: bytes, start: int, limits: ShapeLimits, filename: str) -> int:
    """Where the header line ends, refusing a header longer than the limits allow."""
    longest = limits.max_columns * (limits.max_cell_chars + 3)
    end = data.find(b"\n", start, start + longest + 2)
    if end < 0:
        end = len(data)
    if end - start > longest:
        raise FileRejected(
            [
                Problem(
                    f"The header row is over {longest:,} characters long; a file may have "
                    f"at most {limits.max_columns} columns of at most "
                    f"{limits.max_cell_chars:,} characters.",
                    row=1,
                    file=filename,
                )
            ]
        )
    return end


def check_columns(count: int, limits: ShapeLimits, filename: str, sheet: str = "") -> None:
    if count > limits.max_columns:
        raise FileRejected(
            [
                Problem(
                    f"The header row has {count:,} columns; at most {limits.max_columns} are "
                    "accepted. Remove the columns that are not part of the format.",
                    row=1,
                    sheet=sheet,
                    file=filename,
                )
            ]
        )


def check_csv_shape(
    data: bytes, start: int, delimiter: str, width: int, limits: ShapeLimits, filename: str
) -> None:
    """Every record of the CSV text ``data[start:]`` (the header first) has ``width``
    cells, there are at most ``max_rows`` data rows and no cell is longer than
    ``max_cell_chars`` bytes. Delimiters and line breaks inside double quotes do not
    count. Blank lines are skipped, as the parser skips them; rows are numbered as a
    spreadsheet numbers them (the header is row 1)."""
    body = np.frombuffer(data, dtype=np.uint8)[start:]
    quotes = np.flatnonzero(body == ord('"'))
    breaks = _outside(np.flatnonzero(body == ord("\n")), quotes)
    ends = np.append(breaks, body.size)  # each record's end (exclusive)
    starts = np.concatenate(([0], breaks + 1))
    lengths = ends - starts
    # A record that is empty, or only a carriage return, is a blank line.
    last = np.clip(ends - 1, 0, max(body.size - 1, 0))
    blank = (lengths == 0) | ((lengths == 1) & (body[last] == ord("\r")) if body.size else True)
    kept = ~blank
    numbers = np.cumsum(kept)  # spreadsheet row number of each kept record
    data_rows = int(numbers[-1]) - 1 if numbers.size else 0
    if data_rows > limits.max_rows:
        raise FileRejected(
            [
                Problem(
                    f"The file has {data_rows:,} data rows; at most {limits.max_rows:,} are "
                    "accepted. Split it by quarter and upload each part.",
                    file=filename,
                )
            ]
        )
    separators = _outside(np.flatnonzero(body == ord(delimiter)), quotes)
    record_of = np.searchsorted(ends, separators, side="left")
    cells = np.bincount(record_of, minlength=ends.size) + 1
    _check_cell_lengths(separators, starts, ends, numbers, kept, limits, filename)
    wrong = np.flatnonzero(kept & (cells != width))
    if wrong.size:
        raise FileRejected(_cell_count_problems(wrong, cells, numbers, width, delimiter, filename))


def _outside(positions: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The ``positions`` not inside double quotes (an even number of quotes before them;
    an escaped quote ``""`` counts twice, so it changes nothing)."""
    if not quotes.size:
        return positions
    return positions[np.searchsorted(quotes, positions) % 2 == 0]


def _check_cell_lengths(
    separators: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    numbers: np.ndarray,
    kept: np.ndarray,
    limits: ShapeLimits,
    filename: str,
) -> None:
    """Refuse the file at its first cell longer than ``max_cell_chars`` bytes."""
    if int((ends - starts).max(initial=0)) <= limits.max_cell_chars:
        return  # no record is that long, so no cell is
    bounds = np.sort(np.concatenate((starts - 1, separators, ends)))
    widths = np.diff(bounds) - 1
    long = np.flatnonzero(widths > limits.max_cell_chars)
    if not long.size:
        return
    at = bounds[long[0]] + 1
    record = int(np.searchsorted(ends, at, side="left"))
    column = int(np.searchsorted(separators, at) - np.searchsorted(separators, starts[record]))
    row = int(numbers[record]) if kept[record] else None
    raise FileRejected(
        [
            Problem(
                f"Row {row}, cell {column + 1} is {int(widths[long[0]]):,} characters long; "
                f"a cell may hold at most {limits.max_cell_chars:,}.",
                row=row,
                file=filename,
            )
        ]
    )


def _cell_count_problems(
    wrong: np.ndarray,
    cells: np.ndarray,
    numbers: np.ndarray,
    width: int,
    delimiter: str,
    filename: str,
) -> list[Problem]:
    problems = []
    for record in wrong[:NAMED_ROWS]:
        row, saw = int(numbers[record]), int(cells[record])
        hint = (
            "an extra cell: a leading or trailing delimiter, or an unquoted "
            f"'{delimiter}' inside a value"
            if saw > width
            else f"missing cells: each row needs all {width}, empty ones included"
        )
        problems.append(
            Problem(
                f"Row {row} has {saw:,} cell{'s' if saw != 1 else ''} but the header has "
                f"{width}; check for {hint}. "
                "A row whose cells do not line up with the header is never read.",
                row=row,
                file=filename,
            )
        )
    if wrong.size > NAMED_ROWS:
        problems.append(
            Problem(
                f"{wrong.size - NAMED_ROWS:,} more rows have a number of cells that differs "
                "from the header's.",
                file=filename,
            )
        )
    return problems


# --- XLSX ----------------------------------------------------------------------------------

ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>]")
CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d+)"')


def check_sheet_shape(
    archive: zipfile.ZipFile, path: str, limits: ShapeLimits, filename: str, sheet: str
) -> None:
    """Refuse a sheet with more rows or columns than the limits, from its XML alone (a
    regular-expression pass, so before any cell is parsed)."""
    rows = 0
    widest = 0
    widest_at = ""
    tail = b""
    with archive.open(path) as stream:
        while block := stream.read(1 << 20):
            text = tail + block
            cut = max(text.rfind(b"<"), 0) if len(block) == 1 << 20 else len(text)
            scan, tail = text[:cut], text[cut:]
            rows += len(ROW_TAG.findall(scan))
            for letters, number in set(CELL_REF.findall(scan)):
                index = column_index(letters.decode())
                if index > widest:
                    widest, widest_at = index, f"{letters.decode()}{int(number)}"
    if rows - 1 > limits.max_rows:
        raise FileRejected(
            [
                Problem(
                    f"The sheet has {rows - 1:,} data rows; at most {limits.max_rows:,} are "
                    "accepted. Split it by quarter and upload each part.",
                    sheet=sheet,
                    file=filename,
                )
            ]
        )
    if widest > limits.max_columns:
        raise FileRejected(
            [
                Problem(
                    f"The sheet has a cell in column {widest:,} ({widest_at}); at most "
                    f"{limits.max_columns} columns are accepted. Delete the columns after "
                    "the last one of the format.",
                    sheet=sheet,
                    file=filename,
                )
            ]
        )


def column_index(letters: str) -> int:
    """1 for A, 27 for AA."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index

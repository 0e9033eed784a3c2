"""Hostile files: shapes that have made readers slow, wrong or silent, each with the words
its refusal must contain.

Each case is built from code (the largest are megabytes of one repeated byte, so they are
not kept in the repository). ``python -m tests.ingest.corpus DIR`` writes every file out,
to open one in a spreadsheet or try it on the upload page. ``bench/bench_hostile.py`` times
the same cases.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

T = ["org_code", "metric_id", "period", "value"]
GOOD = ["RHA", "OF0082", "Q1 2025/26", "4.8"]
NHSE = (
    "Quarter,Region,Trust_type,Trust_subtype,Trust_code,Trust_name,Domain,Sub-domain,"
    "Metric_ID,Metric_description,Reporting_date,Units,Value,Median_value,Lower_quartile,"
    "Upper_quartile,Rank"
)
NHSE_ROW = (
    "Q1 2025/26,Midlands,Mental health and community trust,Mental health,RHA,"
    "Nottinghamshire Healthcare NHS Foundation Trust,Finance and productivity,Workforce,"
    "OF0082,Sickness absence rate,Q1 2025/26,%,4.8,4.9,4.5,5.2,"
)
MB = 1024 * 1024


@dataclass
class Hostile:
    name: str
    filename: str
    build: Callable[[], bytes]
    expect: str  # words a problem's message must contain (the first, mostly)
    # Settings lowered for this case (so a limit is reached without a huge file).
    settings: dict[str, int] = field(default_factory=dict)
    refused_at_receipt: bool = False  # refused before it is kept (size, emptiness)


def lines(*rows: str, bom: bool = False, end: str = "\r\n") -> bytes:
    text = end.join(rows) + end
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def template(*rows: str, header: str = ",".join(T), **kwargs) -> bytes:
    return lines(header, *rows, **kwargs)


GOOD_LINE = ",".join(GOOD)


def workbook(rows: list[list], *, more: Callable | None = None, sheets: int = 1) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    for row in rows:
        sheet.append(row)
    if more:
        more(sheet)
    for n in range(1, sheets):
        book.create_sheet(f"Notes {n}").append(["nothing", "here"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sheet_xml(rows: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    ).encode()


def raw_workbook(sheet: bytes, *, prolog: bytes = b"") -> bytes:
    """A minimal workbook around one sheet's XML (for shapes openpyxl will not write)."""
    ns = "http://schemas.openxmlformats.org/"
    return zipped(
        {
            "[Content_Types].xml": (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<Types xmlns="{ns}package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                'package.relationships+xml"/><Default Extension="xml" ContentType="application'
                '/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
                'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
                'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxml'
                'formats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
            ).encode(),
            "_rels/.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}package/'
                f'2006/relationships"><Relationship Id="rId1" Type="{ns}officeDocument/2006/'
                'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ).encode(),
            "xl/workbook.xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}spreadsheetml/'
                f'2006/main" xmlns:r="{ns}officeDocument/2006/relationships"><sheets><sheet '
                'name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ).encode(),
            "xl/_rels/workbook.xml.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}package/'
                f'2006/relationships"><Relationship Id="rId1" Type="{ns}officeDocument/2006/'
                'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
            ).encode(),
            "xl/worksheets/sheet1.xml": prolog + sheet,
        }
    )


def inline_row(number: int, values: list[str], start: int = 1) -> str:
    cells = "".join(
        f'<c r="{_letters(start + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def _letters(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _wide_header_sheet() -> bytes:
    header = inline_row(1, T)
    far = '<row r="2"><c r="A2" t="inlineStr"><is><t>RHA</t></is></c>'
    far += '<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>'
    return raw_workbook(sheet_xml(header + far))


def _million_cell_row() -> bytes:
    return template("," * 999_999)


def _million_column_header() -> bytes:
    return lines(",".join(f"c{i}" for i in range(1_000_000)), "1")


def _note_of(chars: int) -> bytes:
    return template(GOOD_LINE + "," + "n" * chars, header=",".join(T) + ",note")


def _rows(count: int, line: str = GOOD_LINE) -> bytes:
    return template(*([line] * count))


def _bomb() -> bytes:
    return zipped({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b" " * 200 * MB})


def _billion_laughs() -> bytes:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    prolog = f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'.encode()
    sheet = sheet_xml(inline_row(1, T) + inline_row(2, ["&a9;", "OF0082", "Q1 2025/26", "1"]))
    return raw_workbook(sheet.split(b"?>", 1)[1], prolog=prolog)


def _xxe() -> bytes:
    prolog = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    sheet = sheet_xml(inline_row(1, T) + inline_row(2, ["&x;", "OF0082", "Q1 2025/26", "1"]))
    return raw_workbook(sheet.split(b"?>", 1)[1], prolog=prolog)


def _extra_cell_in_workbook() -> bytes:
    return workbook([T, [*GOOD, "stray"]])


def _far_cell_in_workbook() -> bytes:
    return workbook([T, GOOD], more=lambda s: s.cell(row=2, column=150, value="x"))


def _dates(value: str) -> bytes:
    return template(GOOD_LINE + "," + value, header=",".join(T) + ",reporting_date")


CASES: list[Hostile] = [
    # --- size and shape: refused before any cell is parsed ---------------------------------
    Hostile("one row of a million cells", "wide-row.csv", _million_cell_row, "1,000,000 cells"),
    Hostile(
        "a million columns", "wide-header.csv", _million_column_header, "The header row is over"
    ),
    Hostile(
        "150 columns",
        "150-columns.csv",
        lambda: lines(",".join(T + [f"extra {i}" for i in range(146)]), GOOD_LINE + "," * 146),
        "150 columns; at most 100",
    ),
    Hostile("a 20 MB note", "huge-note.csv", lambda: _note_of(20 * MB), "a cell may hold at most"),
    Hostile("a 6,000-character note", "long-note.csv", lambda: _note_of(6_000), "at most 5,000"),
    Hostile(
        "a 2,000-character note", "note.csv", lambda: _note_of(2_000), "The note is longer than"
    ),
    Hostile(
        "a header cell over 131,072 characters",
        "long-header-cell.csv",
        lambda: lines("org_code,metric_id,period,v" + "a" * 200_000, GOOD_LINE),
        "at most 5,000",
    ),
    Hostile(
        "a value over 131,072 characters",
        "long-value.csv",
        lambda: template("RHA,OF0082,Q1 2025/26," + "9" * 200_000),
        "a cell may hold at most",
    ),
    Hostile(
        "more rows than allowed",
        "many-rows.csv",
        lambda: _rows(1_001),
        "1,001 data rows; at most 1,000",
        settings={"METRIC_UPLOAD_MAX_ROWS": 1_000},
    ),
    Hostile(
        "a workbook with more rows than allowed",
        "many-rows.xlsx",
        lambda: workbook([T] + [GOOD] * 101),
        "101 data rows; at most 100",
        settings={"METRIC_UPLOAD_MAX_ROWS": 100},
    ),
    Hostile(
        "a workbook cell in column XFD",
        "far-column.xlsx",
        _wide_header_sheet,
        "column 16,384 (XFD2)",
    ),
    Hostile(
        "a workbook cell in column 150",
        "column-150.xlsx",
        _far_cell_in_workbook,
        "at most 100 columns",
    ),
    Hostile(
        "a workbook cell of 6,000 characters",
        "long-cell.xlsx",
        lambda: workbook([[*T, "note"], [*GOOD, "n" * 6_000]]),
        "6,000 characters long",
    ),
    Hostile(
        "a workbook expanding past the limit",
        "big.xlsx",
        lambda: workbook([T] + [GOOD] * 2_000),
        "over the",
        settings={"METRIC_UPLOAD_MAX_UNCOMPRESSED_BYTES": 64 * 1024},
    ),
    Hostile("a zip bomb", "bomb.xlsx", _bomb, "zip bomb"),
    Hostile("nested entities", "laughs.xlsx", _billion_laughs, "cannot be opened"),
    Hostile("an external entity", "xxe.xlsx", _xxe, "cannot be opened"),
    Hostile(
        "larger than the upload limit",
        "huge.csv",
        lambda: _rows(3_000),
        "the largest file accepted",
        settings={"METRIC_UPLOAD_MAX_BYTES": 50_000},
        refused_at_receipt=True,
    ),
    # --- cells that do not line up: never read into the wrong column -----------------------
    Hostile(
        "a leading extra field on every row",
        "leading.csv",
        lambda: template("X," + GOOD_LINE, "X," + GOOD_LINE),
        "Row 2 has 5 cells but the header has 4",
    ),
    Hostile(
        "NHS England's file with a leading extra field",
        "nhse-leading.csv",
        lambda: lines(NHSE, "RXX," + NHSE_ROW, bom=True),
        "Row 2 has 18 cells but the header has 17",
    ),
    Hostile(
        "a trailing comma on the first data row",
        "trailing.csv",
        lambda: template(GOOD_LINE + ",", GOOD_LINE.replace("4.8", "4.9")),
        "Row 2 has 5 cells",
    ),
    Hostile(
        "a trailing comma on every row",
        "trailing-all.csv",
        lambda: template(GOOD_LINE + ",", header=",".join(T) + ","),
        "Column 5 has no name",
    ),
    Hostile(
        "a short row",
        "short.csv",
        lambda: template(GOOD_LINE, "RHA,OF0084,Q1 2025/26"),
        "Row 3 has 3 cells",
    ),
    Hostile(
        "an unquoted comma in a value",
        "comma.csv",
        lambda: template("RHA,OF0082,Q1 2025/26,4,8"),
        "Row 2 has 5 cells",
    ),
    Hostile(
        "an unbalanced quote",
        "quote.csv",
        lambda: template('RHA,OF0082,"Q1 2025/26,4.8', GOOD_LINE, GOOD_LINE),
        "cells but the header has 4",
    ),
    Hostile(
        "rows separated by semicolons under a comma header",
        "mixed-separators.csv",
        lambda: template("RHA;OF0082;Q1 2025/26;4.8"),
        "Row 2 has 1 cell but the header has 4",
    ),
    Hostile(
        "an extra tab in a tab-separated file",
        "tabs.tsv",
        lambda: lines("\t".join(T), "\t".join(GOOD) + "\t"),
        "Row 2 has 5 cells",
    ),
    Hostile(
        "a cell count error on row 100,000",
        "late.csv",
        lambda: template(*([GOOD_LINE] * 99_998), GOOD_LINE + ",x"),
        "Row 100000 has 5 cells",
    ),
    Hostile(
        "a thousand rows with too many cells",
        "many-bad-rows.csv",
        lambda: _rows(1_000, GOOD_LINE + ",x"),
        "980 more rows",
    ),
    Hostile(
        "old Mac line endings",
        "cr.csv",
        lambda: template(GOOD_LINE, end="\r"),
        "carriage returns",
    ),
    Hostile(
        "an extra value after the header's last workbook column",
        "extra.xlsx",
        _extra_cell_in_workbook,
        "after the header's last column",
    ),
    Hostile(
        "a repeated workbook column name",
        "repeated.xlsx",
        lambda: workbook([[*T, "value"], [*GOOD, "5"]]),
        "appears twice",
    ),
    Hostile(
        "a repeated CSV column name",
        "repeated.csv",
        lambda: template(GOOD_LINE + ",5", header=",".join(T) + ",value"),
        "appears twice",
    ),
    Hostile(
        "a workbook formula",
        "formula.xlsx",
        lambda: workbook([T, ["RHA", "OF0082", "Q1 2025/26", "=1+1"]]),
        "formula",
    ),
    Hostile(
        "merged workbook cells",
        "merged.xlsx",
        lambda: workbook([T, GOOD, GOOD], more=lambda s: s.merge_cells("A2:A3")),
        "merged",
    ),
    # --- text encodings ---------------------------------------------------------------------
    Hostile(
        "UTF-8 and Windows-1252 mixed",
        "mixed.csv",
        lambda: (
            template(
                "RHA,OF0082,Q1 2025/26,4.8,café".encode().decode(), header=",".join(T) + ",note"
            )
            + "RHA,OF0084,Q1 2025/26,6.8,caf\xe9\r\n".encode("cp1252")
        ),
        "mixes text encodings",
    ),
    Hostile(
        "a byte-order mark over Windows-1252 text",
        "bom-1252.csv",
        lambda: (
            b"\xef\xbb\xbf"
            + (",".join(T) + ",note\r\n" + GOOD_LINE + ",d\xe9j\xe0 vu\r\n").encode("cp1252")
        ),
        "byte-order mark",
    ),
    Hostile(
        "two byte-order marks",
        "double-bom.csv",
        lambda: b"\xef\xbb\xbf" + template(GOOD_LINE, bom=True),
        "U+FEFF",
    ),
    Hostile(
        "a zero-width space in a column name",
        "zwsp.csv",
        lambda: template(GOOD_LINE, header="org_code,metric_id\u200b,period,value"),
        "U+200B",
    ),
    Hostile(
        "neither UTF-8 nor Windows-1252",
        "neither.csv",
        lambda: template(GOOD_LINE).replace(b"4.8", b"4\x818"),
        "neither UTF-8 nor Windows-1252",
    ),
    Hostile(
        "UTF-16",
        "utf16.csv",
        lambda: ("\ufeff" + ",".join(T) + "\r\n" + GOOD_LINE + "\r\n").encode("utf-16-le"),
        "UTF-16",
    ),
    Hostile("a NUL byte", "nul.csv", lambda: template(GOOD_LINE).replace(b"RHA", b"R\0A"), "NUL"),
    Hostile(
        "control characters in a code",
        "bell.csv",
        lambda: template("RH\x07A,OF0082,Q1 2025/26,4.8"),
        "U+0007",
    ),
    # --- dates that are not dates -----------------------------------------------------------
    Hostile("30 February", "feb30.csv", lambda: _dates("2025-02-30"), "'2025-02-30' is not a date"),
    Hostile("month 13", "month13.csv", lambda: _dates("31/13/2025"), "'31/13/2025' is not a date"),
    Hostile("an American date", "us-date.csv", lambda: _dates("06/30/2025"), "'06/30/2025' is not"),
    Hostile(
        "an Excel serial date in CSV", "serial.csv", lambda: _dates("45838"), "Excel date serial"
    ),
    Hostile(
        "a reporting date of 200 characters",
        "long-date.csv",
        lambda: _dates("x" * 200),
        "at most 60 are kept",
    ),
    # --- not a metric file at all -----------------------------------------------------------
    Hostile("empty", "empty.csv", lambda: b"", "empty", refused_at_receipt=True),
    Hostile(
        "white space only",
        "blank.csv",
        lambda: b" \r\n\t\r\n",
        "empty",
    ),
    Hostile("a header and blank lines", "blank-rows.csv", lambda: template("", ""), "no data rows"),
    Hostile(
        "a header and a million blank lines",
        "million-blank.csv",
        lambda: lines(",".join(T)) + b"\r\n" * 1_000_000,
        "no data rows",
    ),
    Hostile(
        "a web page saved as CSV",
        "page.csv",
        lambda: b"<!DOCTYPE html><html><body><table><tr><td>RHA</td></tr></table></body></html>",
        "not recognised",
    ),
    Hostile("JSON", "data.csv", lambda: b'[{"org_code": "RHA", "value": 4.8}]', "not recognised"),
    Hostile(
        "an Excel 97-2003 workbook",
        "old.xls",
        lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
        ".xls",
    ),
    Hostile("a CSV named .xlsx", "named.xlsx", lambda: template(GOOD_LINE), "not an Excel"),
    Hostile("a damaged zip", "damaged.xlsx", lambda: b"PK\x03\x04" + b"\0" * 100, "damaged"),
    Hostile(
        "a zip that is not a workbook",
        "archive.xlsx",
        lambda: zipped({"readme.txt": b"hello"}),
        "not an Excel workbook",
    ),
    Hostile(
        "a workbook whose first row is a title",
        "title.xlsx",
        lambda: workbook([["Oversight metrics, Q1"], [], T, GOOD]),
        "not recognised",
    ),
    Hostile(
        "a workbook of 200 sheets, none with the columns",
        "sheets.xlsx",
        lambda: workbook([["a", "b"]], sheets=200),
        "No sheet has the expected columns",
    ),
    # --- values that would be read wrongly --------------------------------------------------
    Hostile("not a number", "nan.csv", lambda: template("RHA,OF0082,Q1 2025/26,NaN"), "number"),
    Hostile("infinity", "inf.csv", lambda: template("RHA,OF0082,Q1 2025/26,inf"), "finite"),
    Hostile(
        "an overflowing number",
        "big.csv",
        lambda: template("RHA,OF0082,Q1 2025/26,1e400"),
        "finite",
    ),
    Hostile(
        "a thousands separator",
        "thousands.csv",
        lambda: template('RHA,OF0082,Q1 2025/26,"1,234"'),
        "no thousands separator",
    ),
    Hostile(
        "a decimal comma under semicolons",
        "decimal-comma.csv",
        lambda: lines(";".join(T), "RHA;OF0082;Q1 2025/26;4,8"),
        "Not a number",
    ),
    Hostile(
        "a look-alike letter in a code",
        "cyrillic.csv",
        lambda: template("RH\u0410,OF0082,Q1 2025/26,4.8"),
        "U+0410",
    ),
    Hostile(
        "a hundred thousand unknown organisations",
        "unknown-orgs.csv",
        lambda: template(*(f"Z{i:05d},OF0082,Q1 2025/26,4.8" for i in range(100_000))),
        "organisation",
    ),
    Hostile(
        "a hundred thousand conflicting duplicates",
        "duplicates.csv",
        lambda: template(*(f"RHA,OF0082,Q1 2025/26,{i}" for i in range(100_000))),
        "Duplicate of row 2",
    ),
]


def write_all(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, case in enumerate(CASES, start=1):
        (folder / f"{number:02d}-{case.filename}").write_bytes(case.build())


if __name__ == "__main__":
    write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-files"))

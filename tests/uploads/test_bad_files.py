"""A corpus of bad files: each gets its own specific message, and none stores anything.

Every case goes through the real service on PostgreSQL (receive → validate → store), so
"stores nothing" is checked against the database, not assumed.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import pytest

from oversight.models import MetricUpload, MetricValue, UploadStatus
from oversight.uploads.services import UploadRefused, process_upload, receive_upload
from systems.models import AuditEvent

from .files import csv_bytes, nhse_file, nhse_line, template_file, xlsx_file

# Also run on SQLite, the embedded default of `make run`.
pytestmark = pytest.mark.sqlite

T = ["org_code", "metric_id", "period", "value"]
GOOD = ["RHA", "OF0082", "Q1 2025/26", "4.8"]  # a mental health trust's sickness absence
OTHER = ["RHA", "OF0084", "Q1 2025/26", "6.8"]


@dataclass
class Case:
    name: str
    content: object  # bytes, or a callable taking the Django ``Organisation`` model
    message: str
    row: int | None = None
    column: str = ""
    filename: str = "metrics.csv"
    requested: str = ""

    def bytes(self) -> bytes:
        return self.content() if callable(self.content) else self.content


def _nhse_for(code: str, metric: str, value, *, period="Q1 2025/26", **kw):
    def build():
        from systems.models import Organisation

        org = Organisation.objects.select_related("region").get(code=code)
        return nhse_file([nhse_line(period, org, metric, value, **kw)])

    return build


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CASES = [
    # --- the file as a whole ---------------------------------------------------------------
    Case("only a byte-order mark", b"\xef\xbb\xbf\r\n", "The file is empty."),
    Case("header only", template_file([]), "header row but no data rows", row=1),
    Case(
        "columns not recognised",
        csv_bytes(["a", "b", "c"], [["1", "2", "3"]]),
        "The columns are not recognised",
        row=1,
    ),
    Case(
        "template without value column",
        template_file([GOOD[:3]], header=T[:3]),
        "The required column 'value' is missing",
        row=1,
        column="value",
    ),
    Case(
        "template column renamed",
        template_file([GOOD], header=["Org Code", "metric_id", "period", "value"]),
        "The column 'Org Code' should be named 'org_code'",
        row=1,
        column="Org Code",
    ),
    Case(
        "NHS England column renamed",
        lambda: _nhse_for("RHA", "OF0082", "4.8")().replace(b"Trust_code", b"Trust code"),
        "The column 'Trust code' should be named 'Trust_code'",
        row=1,
    ),
    Case(
        "column twice",
        csv_bytes([*T, "value"], [[*GOOD, "5"]]),
        "The column 'value' appears twice (columns 4 and 5)",
        row=1,
    ),
    Case(
        "column without a name",
        csv_bytes([*T, ""], [[*GOOD, "x"]]),
        "Column 5 has no name in the header row",
        row=1,
    ),
    Case(
        "a row with an unquoted comma",
        b"org_code,metric_id,period,value\r\nRHA,OF0082,Q1 2025/26,4.8\r\n"
        b"RHA,OF0084,Q1 2025/26,6,8\r\n",
        "Row 3 has 5 cells but the header has 4",
        row=3,
    ),
    Case(
        "format asked for does not match",
        template_file([OTHER]),
        "The required column 'Quarter' is missing",
        row=1,
        requested="nhse",
    ),
    # --- encodings and file types --------------------------------------------------------
    Case(
        "UTF-16 text",
        "org_code,metric_id,period,value\r\nRHA,OF0082,Q1 2025/26,4.8\r\n".encode("utf-16"),
        "UTF-16",
    ),
    Case(
        "neither UTF-8 nor Windows-1252",
        b"org_code,metric_id,period,value\r\nRHA,OF0082,Q1 2025/26,4.8\x81\x8d\r\n",
        "neither UTF-8 nor Windows-1252",
        row=2,
    ),
    Case("binary data", b"\x00\x01\x02binary\x00", "binary data (a NUL byte"),
    Case(
        "Excel 97-2003 workbook",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
        "Excel 97-2003 workbook (.xls)",
        filename="metrics.xls",
    ),
    Case(
        "CSV named .xlsx",
        template_file([OTHER]),
        "named .xlsx but is not an Excel workbook",
        filename="metrics.xlsx",
    ),
    Case(
        "damaged zip",
        b"PK\x03\x04" + b"\x00garbage" * 20,
        "not a valid .xlsx workbook (damaged zip)",
        filename="metrics.xlsx",
    ),
    Case(
        "zip that is not a workbook",
        _zip({"readme.txt": b"hello"}),
        "a zip archive but not an Excel workbook",
        filename="metrics.xlsx",
    ),
    Case(
        "zip bomb",
        _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\x00" * (40 << 20)}),
        "looks like a zip bomb",
        filename="metrics.xlsx",
    ),
    # --- workbooks -----------------------------------------------------------------------
    Case(
        "formula in a workbook",
        xlsx_file({"Data": [T, GOOD, ["RHA", "OF0084", "Q1 2025/26", 6.8]]}, formula_at="D3"),
        "holds a formula (=1+1); paste values only",
        row=3,
        column="value",
        filename="metrics.xlsx",
    ),
    Case(
        "merged header cells",
        xlsx_file({"Data": [T, GOOD]}, merge="A1:B1"),
        "Cells A1:B1 are merged (header row)",
        row=1,
        filename="metrics.xlsx",
    ),
    Case(
        "no sheet has the columns",
        xlsx_file({"Notes": [["read me"]], "Figures": [["a", "b"], [1, 2]]}),
        "No sheet has the expected columns",
        filename="metrics.xlsx",
    ),
    Case(
        "workbook with a header only",
        xlsx_file({"Data": [T]}),
        "The sheet has a header row but no data rows",
        row=1,
        filename="metrics.xlsx",
    ),
    # --- rows ----------------------------------------------------------------------------
    Case(
        "unknown organisation",
        template_file([["ZZZ99", "OF0082", "Q1 2025/26", "4.8"]]),
        "Unknown organisation code",
        row=2,
        column="org_code",
    ),
    Case(
        "organisation closed before the period",
        template_file([["RXH", "OF0082", "Q1 2025/26", "4.8"]]),
        "was not open in Q1 2025/26 (it closed on 31 March 2021)",
        row=2,
        column="org_code",
    ),
    Case(
        "unknown metric",
        template_file([["RHA", "OF9999", "Q1 2025/26", "4.8"]]),
        "Unknown metric: not in the nof-2025-26 catalogue",
        row=2,
        column="metric_id",
    ),
    Case(
        "metric for another peer group",
        template_file([["RHA", "OF0017", "Q1 2025/26", "31"]]),
        "OF0017 applies to ambulance; RHA is in the mental-health-and-community peer group",
        row=2,
        column="metric_id",
    ),
    Case(
        "not a period",
        template_file([["RHA", "OF0082", "June 2025", "4.8"]]),
        "Not a period: expected a quarter such as 'Q1 2025/26'",
        row=2,
        column="period",
    ),
    Case(
        "period that does not exist",
        template_file([["RHA", "OF0082", "Q1 2030/31", "4.8"]]),
        "This period does not exist here",
        row=2,
        column="period",
    ),
    Case(
        "text where a number is required",
        template_file([["RHA", "OF0082", "Q1 2025/26", "n/a"]]),
        "Not a number",
        row=2,
        column="value",
    ),
    Case(
        "per cent sign",
        template_file([["RHA", "OF0082", "Q1 2025/26", "4.8%"]]),
        "no % sign",
        row=2,
        column="value",
    ),
    Case(
        "percentage over 100",
        template_file([["RHA", "OF0082", "Q1 2025/26", "140"]]),
        "Out of range for OF0082: expected 0 to 100",
        row=2,
        column="value",
    ),
    Case(
        "negative percentage",
        template_file([["RHA", "OF0016", "Q1 2025/26", "-5"]]),
        "Out of range for OF0016: expected 0 to 100",
        row=2,
        column="value",
    ),
    Case(
        "staff survey score out of 10",
        template_file([["RHA", "OF0084", "Q1 2025/26", "11"]]),
        "Out of range for OF0084: expected 0 to 10",
        row=2,
        column="value",
    ),
    Case(
        "infinite value",
        template_file([["RHA", "OF0041", "Q1 2025/26", "inf"]]),
        "Expected a finite number",
        row=2,
        column="value",
    ),
    Case(
        "score outside 1 to 4",
        template_file([["RHA", "OF1035", "Q1 2025/26", "5"]]),
        "A score must be from 1 to 4 (or 0 for no score)",
        row=2,
        column="value",
    ),
    Case(
        "rating that is not a CQC rating",
        template_file([["RHA", "OF1067", "Q1 2025/26", "Great"]]),
        "Not a rating: expected one of Outstanding, Good, Requires improvement, Inadequate",
        row=2,
        column="value",
    ),
    Case(
        "override flag that is not yes or no",
        template_file([["RHA", "OF5004", "Q1 2025/26", "maybe"]]),
        "Expected 1 (yes) or 0 (no) for this flag",
        row=2,
        column="value",
    ),
    Case(
        "published segment out of range",
        _nhse_for("RHA", "OF5000", "7"),
        "Out of range for OF5000: expected 1 to 4",
        row=2,
        column="Value",
    ),
    Case(
        "duplicate rows with different values",
        template_file([GOOD, ["RHA", "OF0084", "Q1 2025/26", "6.8"], [*GOOD[:3], "5.1"]]),
        "Duplicate of row 2 (same organisation, metric and period) with a different value",
        row=4,
        column="value",
    ),
    Case(
        "missing organisation code",
        template_file([["", "OF0082", "Q1 2025/26", "4.8"]]),
        "A value is required here",
        row=2,
        column="org_code",
    ),
    Case(
        "NHS England file with text in Value",
        _nhse_for("RHA", "OF1005", "Month 12 2025/26"),
        "Not a number",
        row=2,
        column="Value",
    ),
]


def test_the_corpus_is_large_enough():
    assert len(CASES) + 2 >= 30  # plus the two refused before they are kept, below


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_file_is_rejected_with_its_reason_and_stores_nothing(case, methodologies, settings):
    good = receive_upload(
        content=template_file([GOOD]), filename="good.csv", actor="test", enqueue=False
    )
    assert process_upload(upload_id=good.upload.pk).status == UploadStatus.DONE
    values_before = list(MetricValue.objects.values_list("pk", "superseded_at"))

    received = receive_upload(
        content=case.bytes(),
        filename=case.filename,
        actor="analyst",
        requested_format=case.requested,
        enqueue=False,
    )
    upload = process_upload(upload_id=received.upload.pk)

    assert upload.status == UploadStatus.INVALID, upload.failure_reason
    messages = [e["message"] for e in upload.errors]
    matching = [e for e in upload.errors if case.message in e["message"]]
    assert matching, f"{case.message!r} not in {messages}"
    if case.row is not None:
        assert matching[0]["row"] == case.row
    if case.column:
        assert matching[0]["column"] == case.column
    assert matching[0]["file"] == case.filename
    assert upload.error_count == len(upload.errors)
    assert upload.imported_at is None
    assert list(MetricValue.objects.values_list("pk", "superseded_at")) == values_before
    assert not upload.values.exists()
    assert AuditEvent.objects.filter(action="upload.rejected", object_id=str(upload.pk)).exists()


def test_every_error_is_listed_at_once(methodologies):
    content = template_file(
        [
            ["ZZZ99", "OF0082", "Q1 2025/26", "4.8"],
            ["RHA", "OF9999", "Q1 2025/26", "4.8"],
            ["RHA", "OF0082", "Q9 2025/26", "4.8"],
            ["RHA", "OF0084", "Q1 2025/26", "lots"],
            ["RHA", "OF0016", "Q1 2025/26", "101"],
        ]
    )
    received = receive_upload(content=content, filename="many.csv", actor="t", enqueue=False)
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.INVALID
    assert [(e["row"], e["column"]) for e in upload.errors] == [
        (1, "metric_id"),  # every unknown metric id of the file, and how to add them
        (2, "org_code"),
        (3, "metric_id"),
        (4, "period"),
        (5, "value"),
        (6, "value"),
    ]
    assert MetricValue.objects.count() == 0


ALL_AT_ONCE = [
    (
        ["ZZZ", "OF0001", "Q9 2099/00", "abc"],
        [
            ("org_code", "ZZZ", "Unknown organisation code"),
            ("metric_id", "OF0001", "Unknown metric: not in any methodology's catalogue"),
            ("period", "Q9 2099/00", "Not a period: expected a quarter such as 'Q1 2025/26'"),
            ("value", "abc", "Not a number: expected a number such as 85.2"),
        ],
    ),
    (
        ["ZZZ", "OF0001", "Q1 2025/26", "abc"],
        [
            ("org_code", "ZZZ", "Unknown organisation code"),
            ("metric_id", "OF0001", "Unknown metric: not in the nof-2025-26 catalogue"),
            ("value", "abc", "Not a number"),
        ],
    ),
    (
        ["RHA", "OF0001", "Q1 2030/31", "abc"],
        [
            ("metric_id", "OF0001", "Unknown metric: not in any methodology's catalogue"),
            ("period", "Q1 2030/31", "This period does not exist here"),
            ("value", "abc", "Not a number"),
        ],
    ),
    (  # a catalogue metric needing a number, in a row whose period is not known
        ["RHA", "OF0082", "Q9 2025/26", "abc"],
        [
            ("period", "Q9 2025/26", "Not a period"),
            ("value", "abc", "Not a number"),
        ],
    ),
    (  # no metric at all: the value is still one no metric accepts
        ["RHA", "", "", "abc"],
        [
            ("metric_id", "", "A value is required here."),
            ("period", "", "A value is required here."),
            ("value", "abc", "Not a number"),
        ],
    ),
    (  # an unknown metric with a value some metric accepts (a rating): only the metric
        ["RHA", "OF0001", "Q1 2025/26", "Good"],
        [("metric_id", "OF0001", "Unknown metric: not in the nof-2025-26 catalogue")],
    ),
    (  # a rating metric without a known period: a label may be right, so only the period
        ["RHA", "OF1067", "Q9 2025/26", "Good"],
        [("period", "Q9 2025/26", "Not a period")],
    ),
]


@pytest.mark.parametrize("line, expected", ALL_AT_ONCE, ids=[",".join(r) for r, _ in ALL_AT_ONCE])
def test_every_error_of_a_row_is_listed_at_once(line, expected, methodologies):
    received = receive_upload(
        content=template_file([line]), filename="row.csv", actor="t", enqueue=False
    )
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.INVALID
    # Unknown metric ids of a known period are also listed together on the header row.
    summary = [e for e in upload.errors if e["row"] == 1]
    assert [(e["column"], e["value"]) for e in summary] == [
        (c, v) for c, v, m in expected if m.startswith("Unknown metric: not in the nof")
    ]
    assert all("add_metrics_from_file" in e["message"] for e in summary)
    found = [(e["column"], e["value"], e["message"]) for e in upload.errors if e["row"] != 1]
    assert [(c, v) for c, v, _ in found] == [(c, v) for c, v, _ in expected], found
    for (_, _, message), (_, _, start) in zip(found, expected, strict=True):
        assert message.startswith(start), message
    assert {(e["file"], e["sheet"], e["row"], e["severity"]) for e in upload.errors} - {
        ("row.csv", "", 1, "error")
    } == {("row.csv", "", 2, "error")}
    assert upload.error_count == len(expected) + len(summary)
    assert MetricValue.objects.count() == 0


def test_every_error_of_a_workbook_row_names_its_sheet(methodologies):
    content = xlsx_file({"Data": [T, ["ZZZ", "OF0001", "Q9 2099/00", "abc"]]})
    received = receive_upload(content=content, filename="row.xlsx", actor="t", enqueue=False)
    upload = process_upload(upload_id=received.upload.pk)
    assert [(e["sheet"], e["row"], e["column"]) for e in upload.errors] == [
        ("Data", 2, "org_code"),
        ("Data", 2, "metric_id"),
        ("Data", 2, "period"),
        ("Data", 2, "value"),
    ]


def test_oversized_file_is_refused_before_it_is_kept(methodologies, settings):
    settings.METRIC_UPLOAD_MAX_BYTES = 100
    with pytest.raises(UploadRefused, match="the largest file accepted is"):
        receive_upload(content=b"x" * 101, filename="big.csv", actor="t", enqueue=False)
    assert not MetricUpload.objects.exists()


def test_empty_file_is_refused_before_it_is_kept(methodologies):
    with pytest.raises(UploadRefused, match="is empty"):
        receive_upload(content=b"", filename="empty.csv", actor="t", enqueue=False)
    assert not MetricUpload.objects.exists()


def test_workbook_expanding_past_the_limit_is_not_opened(methodologies, settings):
    settings.METRIC_UPLOAD_MAX_UNCOMPRESSED_BYTES = 1000
    content = xlsx_file({"Data": [T] + [GOOD] * 50})
    received = receive_upload(content=content, filename="w.xlsx", actor="t", enqueue=False)
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.INVALID
    assert "over the 1,000 bytes limit; it was not opened" in upload.errors[0]["message"]

"""Good files end to end: stored with provenance, segmented, idempotent, superseding."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from oversight.models import (
    InputKind,
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
    SegmentationRun,
    UploadStatus,
)
from oversight.runs import publish_run
from oversight.services import pin_cut_points
from oversight.uploads.selectors import reconciliation
from oversight.uploads.services import process_upload, receive_upload
from systems.models import AuditEvent, Organisation
from tests.conftest import EXAMPLES

from .files import csv_bytes, nhse_file, nhse_line, nhse_rows_for, template_file, xlsx_file

# Also run on SQLite, the embedded default of `make run`.
pytestmark = pytest.mark.sqlite

EXAMPLE = EXAMPLES / "nof-synthetic-mhc-q2-2025-26.csv"
EXPECTED = EXAMPLES / "nof-synthetic-mhc-q2-2025-26.expected.csv"


def upload(content: bytes, filename: str = "file.csv", **kwargs):
    received = receive_upload(content=content, filename=filename, actor="analyst", **kwargs)
    if not received.created:
        return received
    received.upload = process_upload(upload_id=received.upload.pk)
    return received


@pytest.fixture
def two_quarters(q1, q2):
    """NHS England's format, two quarters, every real trust open then (three peer groups),
    one trust in the programme in Q2 (OF5007)."""
    lines = nhse_rows_for(q1) + nhse_rows_for(q2)
    member = Organisation.objects.select_related("region").get(code="RHA")
    lines.append(nhse_line("Q2 2025/26", member, "OF5007", "1"))
    return nhse_file(lines)


def test_nhs_england_file_goes_through_to_provisional_runs(
    two_quarters, q1, q2, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        received = receive_upload(content=two_quarters, filename="nof.csv", actor="analyst")
    u = received.upload
    u.refresh_from_db()
    assert u.status == UploadStatus.DONE, u.failure_reason
    assert u.detected_format == "nhse"
    assert u.encoding == "utf-8-sig"
    assert u.errors == [] and u.warnings == []
    assert set(u.summary["by_period"]) == {"Q1 2025/26", "Q2 2025/26"}
    assert u.summary["created"] == u.summary["rows"] > 5000

    for period in (q1, q2):
        period.refresh_from_db()
        run = period.latest_run
        assert run is not None and run.trigger == "upload"
        assert run.state == "provisional" and period.current_run is None
        assert run in u.runs.all()
        groups = set(
            OrganisationAssessment.objects.filter(run=run, segmented=True).values_list(
                "peer_group", flat=True
            )
        )
        assert groups == {"acute", "mental-health-and-community", "ambulance"}
        assert {"1", "2", "3", "4"} <= set(run.segment_counts)

    member = OrganisationAssessment.objects.get(run=q2.latest_run, organisation__code="RHA")
    assert member.in_programme and member.final_segment == 5
    assert not OrganisationAssessment.objects.get(
        run=q1.latest_run, organisation__code="RHA"
    ).in_programme

    value = MetricValue.objects.current().filter(period=q2, metric_id="OF0082").first()
    assert value.upload_id == u.pk
    assert value.recorded_by_label == "analyst"
    assert value.source == f"upload {u.pk}: nof.csv"
    actions = set(
        AuditEvent.objects.filter(
            object_id=str(u.pk), object_type="oversight.MetricUpload"
        ).values_list("action", flat=True)
    )
    assert actions == {"upload.received", "upload.imported", "upload.recomputed"}


def test_the_same_content_again_is_recognised_and_not_imported_twice(
    two_quarters, q2, django_capture_on_commit_callbacks
):
    first = upload(two_quarters, "nof.csv").upload
    values = MetricValue.objects.count()
    runs = SegmentationRun.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        again = receive_upload(content=two_quarters, filename="copy.csv", actor="someone")
    assert not again.created
    assert again.upload.pk == first.pk
    assert again.message == "This file was already imported; it was not imported again."
    assert MetricValue.objects.count() == values
    assert SegmentationRun.objects.count() == runs
    assert AuditEvent.objects.filter(action="upload.repeated").count() == 1


def test_a_newer_value_supersedes_without_deleting(q2):
    upload(template_file([["RHA", "OF0082", "Q2 2025/26", "4.8"]]), segment=False)
    newer = upload(
        template_file(
            [["RHA", "OF0082", "Q2 2025/26", "5.1"], ["RHA", "OF0084", "Q2 2025/26", "7"]]
        ),
        segment=False,
    ).upload
    assert newer.summary["created"] == 2
    assert newer.summary["superseded"] == 1
    history = MetricValue.objects.filter(period=q2, metric_id="OF0082").order_by("recorded_at")
    assert [(v.value, v.superseded_at is None) for v in history] == [(4.8, False), (5.1, True)]
    assert history.last().upload_id == newer.pk

    same = upload(template_file([["RHA", "OF0082", "Q2 2025/26", "5.10"]]), segment=False).upload
    assert same.summary == {**same.summary, "created": 0, "superseded": 0, "unchanged": 1}


def test_template_with_dates_notes_and_a_cqc_rating(q2):
    content = csv_bytes(
        ["org_code", "metric_id", "period", "value", "reporting_date", "note"],
        [
            ["rha", "OF1067", "q2 2025/26", "good", "2024-05-01", "Inspection report"],
            ["RHA", "OF0082", "2025-26-q2", "4.8", "30/06/2025", ""],
            ["RHA", "OF5004", "Q2 2025/26", "Yes", "", "Deficit support"],
        ],
        bom=False,
    )
    u = upload(content, segment=False).upload
    assert u.status == UploadStatus.DONE, u.errors
    assert u.detected_format == "template" and u.encoding == "utf-8"
    rating = MetricValue.objects.get(metric_id="OF1067")
    assert (rating.kind, rating.text, rating.reporting_date.isoformat(), rating.note) == (
        InputKind.VALUE,
        "Good",
        "2024-05-01",
        "Inspection report",
    )
    assert MetricValue.objects.get(metric_id="OF0082").reporting_date.isoformat() == "2025-06-30"
    flag = MetricValue.objects.get(metric_id="OF5004")
    assert (flag.kind, flag.value) == (InputKind.OVERRIDE_FLAG, 1.0)


def test_excel_windows_1252_and_semicolons_are_accepted(q2):
    org = Organisation.objects.select_related("region").get(code="RHA")
    line = nhse_line("Q2 2025/26", org, "OF0082", "4.8", name=org.name + " \u2013 Trust\u2019s")
    content = nhse_file([line], bom=False, sep=";", encoding="cp1252")
    u = upload(content, segment=False).upload
    assert u.status == UploadStatus.DONE, u.errors
    assert u.encoding == "windows-1252"
    assert "differs from the reference name" in u.warnings[0]["message"]
    assert u.warnings[0]["severity"] == "warning"


def test_workbook_says_which_sheet_was_read(q2):
    content = xlsx_file(
        {
            "Notes": [["Synthetic values for tests"]],
            "Data": [
                ["org_code", "metric_id", "period", "value"],
                ["RHA", "OF0082", "Q2 2025/26", 4.8],
                ["RHA", "OF0084", "Q2 2025/26", 7],
            ],
        }
    )
    u = upload(content, "metrics.xlsx", segment=False).upload
    assert u.status == UploadStatus.DONE, u.errors
    assert (u.file_type, u.sheet_name) == ("xlsx", "Data")
    assert "read 'Data'" in u.warnings[0]["message"]
    assert MetricValue.objects.get(metric_id="OF0084").value == 7.0


def test_blank_values_are_not_stored_and_said(q2):
    u = upload(
        template_file([["RHA", "OF0082", "Q2 2025/26", ""], ["RHA", "OF0084", "Q2 2025/26", "7"]]),
        segment=False,
    ).upload
    assert u.summary["rows"] == 1
    assert "1 rows have no value" in u.warnings[0]["message"]


def _example_with_published() -> bytes:
    """The worked example plus NHS England's published results for it (OF5002 average,
    OF5003 unadjusted and OF5000 adjusted segment with its league rank)."""
    text = EXAMPLE.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, lines = rows[0], rows[1:]
    orgs = Organisation.objects.select_related("region").in_bulk(field_name="code")
    with EXPECTED.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            org = orgs[row["org_code"]]
            lines.append(nhse_line("Q2 2025/26", org, "OF5002", row["average_score"], rank="7"))
            lines.append(nhse_line("Q2 2025/26", org, "OF5003", row["unadjusted_segment"]))
            lines.append(
                nhse_line(
                    "Q2 2025/26", org, "OF5000", row["adjusted_segment"], rank=row["league_rank"]
                )
            )
    return csv_bytes(header, lines)


def test_reconciliation_with_published_results(q2):
    pin_cut_points(period=q2, cut_points=(2.0, 2.35, 2.7), reason="Worked example", actor="t")
    u = upload(_example_with_published(), "nof-q2.csv").upload
    assert u.status == UploadStatus.DONE, (u.errors, u.failure_reason)
    assert u.summary["by_kind"]["published"] == 14 * 4  # three results and the rank

    q2.refresh_from_db()
    publish_run(run=q2.latest_run, actor="t", reason="NHS England's published quarter")
    table = reconciliation(ReportingPeriod.objects.get(pk=q2.pk))
    assert len(table.compared) == 14
    assert table.differing == []
    row = next(r for r in table.rows if r.code == "RKL")
    assert row.ours["average_score"] == row.theirs["average_score"] == 2.34
    assert row.ours["league_rank"] == row.theirs["league_rank"] == 2

    org = Organisation.objects.select_related("region").get(code="RKL")
    upload(nhse_file([nhse_line("Q2 2025/26", org, "OF5000", "3")]), segment=False)
    table = reconciliation(ReportingPeriod.objects.get(pk=q2.pk))
    assert [(r.code, r.differences) for r in table.differing] == [("RKL", ["adjusted_segment"])]
    exported = list(csv.DictReader(io.StringIO(table.as_csv())))
    assert exported[0]["org_code"] == "RKL"
    assert (exported[0]["ours_adjusted_segment"], exported[0]["published_adjusted_segment"]) == (
        "2",
        "3",
    )
    assert exported[0]["differences"] == "adjusted_segment"


def test_import_metrics_command(q2, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(template_file([["RHA", "OF0082", "Q2 2025/26", "4.8"]]))
    out = io.StringIO()
    call_command("import_metrics", str(good), "--no-segment", stdout=out)
    assert "1 rows; 1 new values, 0 replaced, 0 unchanged" in out.getvalue()
    assert "Q2 2025/26: 1 rows" in out.getvalue()

    out = io.StringIO()
    call_command("import_metrics", str(good), stdout=out)
    assert "already imported; it was not imported again. Upload " in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_bytes(template_file([["RHA", "OF0082", "Q2 2025/26", "lots"]]))
    report = tmp_path / "report.csv"
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "import_metrics", str(bad), "--format", "template", "--report", str(report), stderr=err
        )
    assert "bad.csv, row 2, column value: Not a number" in err.getvalue()
    assert "Not a number" in report.read_text()
    assert MetricValue.objects.count() == 1

    with pytest.raises(CommandError, match="No such file"):
        call_command("import_metrics", str(tmp_path / "missing.csv"))


STORED = [
    "metric_id",
    "kind",
    "value",
    "text",
    "reporting_date",
    "reporting_period_text",
    "note",
    "recorded_by_id",
    "recorded_by_label",
    "superseded_at",
]


def test_a_first_import_and_a_merge_store_the_same_values(q1, q2, django_user_model):
    """A period's first import is streamed straight into the values table; a later one
    is merged with the values already current. Both store every field the same way."""
    user = django_user_model.objects.create_user("uploader")
    header = ["org_code", "metric_id", "period", "value", "reporting_date", "note"]
    lines = [
        ["rha", "OF1067", "good", "2024-05-01", "Inspection report, café"],
        ["RHA", "OF0082", "4.8", "30/06/2025", ""],
        ["RHA", "OF0084", "6.75", "Month 12 2025/26", "x" * 300],
        ["RHA", "OF5004", "Yes", "", ""],
        ["RKL", "OF1067", "2", "", ""],
    ]

    def stored(period: str, name: str):
        content = csv_bytes(header, [[*line[:2], period, *line[2:]] for line in lines])
        received = receive_upload(content=content, filename=name, actor=user, segment=False)
        u = process_upload(upload_id=received.upload.pk)
        assert u.status == UploadStatus.DONE, u.errors
        values = list(
            MetricValue.objects.filter(upload=u)
            .select_related("organisation")
            .order_by("organisation__code", "metric_id")
        )
        assert {v.source for v in values} == {f"upload {u.pk}: {name}"}
        assert {v.recorded_at for v in values} == {values[0].recorded_at}
        return u, [(v.organisation.code, *(getattr(v, f) for f in STORED)) for v in values]

    first, first_values = stored("Q1 2025/26", "q1.csv")
    # Q2 already has a current value, so its upload is merged with it.
    upload(template_file([["RHA", "OF0016", "Q2 2025/26", "50"]]), segment=False)
    second, second_values = stored("Q2 2025/26", "q2.csv")
    assert first.summary["created"] == second.summary["created"] == 5
    assert (
        first_values
        == second_values
        == [
            (
                "RHA",
                "OF0082",
                "value",
                4.8,
                "",
                datetime.date(2025, 6, 30),
                "",
                "",
                user.pk,
                "uploader",
                None,
            ),
            (
                "RHA",
                "OF0084",
                "value",
                6.75,
                "",
                None,
                "Month 12 2025/26",
                "x" * 300,
                user.pk,
                "uploader",
                None,
            ),
            (
                "RHA",
                "OF1067",
                "value",
                None,
                "Good",
                datetime.date(2024, 5, 1),
                "",
                "Inspection report, café",
                user.pk,
                "uploader",
                None,
            ),
            ("RHA", "OF5004", "override_flag", 1.0, "", None, "", "", user.pk, "uploader", None),
            ("RKL", "OF1067", "score", 2.0, "", None, "", "", user.pk, "uploader", None),
        ]
    )

"""The upload pages as an analyst uses them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError

from oversight.models import MetricUpload, MetricValue, UploadStatus
from oversight.uploads.services import process_upload, receive_upload
from systems.models import Role, Trust
from systems.services import grant_role

from .files import template_file


@pytest.fixture
def analyst(client, methodologies):
    """An analyst in the national team (may upload for any organisation)."""
    user = get_user_model().objects.create_user("analyst", password="x")
    grant_role(user=user, role=Role.NATIONAL, actor="test")
    client.force_login(user)
    return user


def icb_analyst_for(code: str):
    trust = Trust.objects.get(code=code)
    user = get_user_model().objects.create_user(f"icb-{code}")
    grant_role(user=user, role=Role.ICB_ANALYST, icb=trust.icb_from_2026, actor="test")
    return user


def post_file(client, content: bytes, name: str = "metrics.csv", fmt: str = ""):
    return client.post(
        "/uploads/",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "format": fmt},
    )


def test_pages_need_a_login(client, methodologies):
    for url in ("/uploads/", "/uploads/template.csv", "/reconciliation/"):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_upload_page_and_template(client, analyst):
    html = client.get("/uploads/").content.decode()
    assert "Upload metric files" in html
    assert 'type="file"' in html and "/uploads/template.csv" in html
    template = client.get("/uploads/template.csv")
    assert template["Content-Disposition"].endswith('metric-upload-template.csv"')
    header = template.content.decode("utf-8-sig").splitlines()[0]
    assert header == "org_code,metric_id,period,value,reporting_date,note"


def test_a_broken_file_shows_every_error_at_the_top(
    client, analyst, django_capture_on_commit_callbacks
):
    content = template_file(
        [["ZZZ99", "OF0082", "Q1 2025/26", "4.8"], ["RHA", "OF0082", "Q1 2025/26", "lots"]]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, content)
    upload = MetricUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/uploads/{upload.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert "2 problems in this file: nothing was stored" in html
    assert html.index("nhsuk-error-summary") < html.index("Steps")
    assert "Row 2, org_code: Unknown organisation code" in html
    assert "Row 3, value: Not a number" in html
    assert "Rejected" in html
    report = client.get(f"/uploads/{upload.pk}/problems.csv")
    rows = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert [(r["row"], r["column"], r["value"]) for r in rows] == [
        ("2", "org_code", "ZZZ99"),
        ("3", "value", "lots"),
    ]
    assert MetricValue.objects.count() == 0


def test_a_good_file_is_imported_and_segmented(client, analyst, django_capture_on_commit_callbacks):
    content = template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, content, fmt="template")
    upload = MetricUpload.objects.get()
    assert upload.status == UploadStatus.DONE
    html = client.get(response["Location"]).content.decode()
    assert "nhsuk-tag--green" in html and "Done" in html
    assert "Rows for Q1 2025/26" in html
    status = client.get(f"/uploads/{upload.pk}/status/").content.decode()
    assert "<html" not in status and "Done" in status

    # The same file again: recognised, pointed at the first upload.
    response = post_file(client, content)
    assert response["Location"] == f"/uploads/{upload.pk}/"
    assert "This file was already imported" in client.get(response["Location"]).content.decode()
    assert MetricUpload.objects.count() == 1


def test_no_file_chosen(client, analyst):
    response = client.post("/uploads/", {"format": ""})
    assert response.status_code == 200
    assert "Choose a CSV or Excel file to upload." in response.content.decode()


def test_oversized_file_is_refused_on_the_page(client, analyst, settings):
    settings.METRIC_UPLOAD_MAX_BYTES = 10
    response = post_file(client, b"org_code,metric_id,period,value\r\n")
    assert response.status_code == 200
    assert "the largest file accepted is" in response.content.decode()
    assert not MetricUpload.objects.exists()


def test_a_failed_upload_can_be_retried(
    client, analyst, monkeypatch, django_capture_on_commit_callbacks
):
    received = receive_upload(
        content=template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]]),
        filename="m.csv",
        actor=analyst,
        enqueue=False,
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("oversight.uploads.services.run_segmentation", broken)
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.FAILED
    assert upload.imported_at is not None
    html = client.get(f"/uploads/{upload.pk}/").content.decode()
    assert "Processing failed" in html and "database went away" in html and "Retry" in html

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/uploads/{upload.pk}/retry/")
    assert response.status_code == 302
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE and upload.attempts == 2
    assert upload.runs.count() == 1
    assert MetricValue.objects.count() == 1

    # Retrying a finished upload is refused with a reason.
    client.post(f"/uploads/{upload.pk}/retry/")
    html = client.get(f"/uploads/{upload.pk}/").content.decode()
    assert "only a failed or stalled upload can be retried" in html


def test_someone_elses_upload_is_not_found(client, analyst):
    other = get_user_model().objects.create_user("other")
    received = receive_upload(
        content=template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]]),
        filename="m.csv",
        actor=other,
        enqueue=False,
    )
    assert client.get(f"/uploads/{received.upload.pk}/").status_code == 200  # national
    client.force_login(icb_analyst_for("RHA"))
    assert client.get(f"/uploads/{received.upload.pk}/").status_code == 404
    assert client.get(f"/uploads/{received.upload.pk}/problems.csv").status_code == 404


def test_an_icb_analyst_uploads_only_for_their_icb(
    client, methodologies, django_capture_on_commit_callbacks
):
    client.force_login(icb_analyst_for("RHA"))
    content = template_file(
        [["RHA", "OF0082", "Q1 2025/26", "4.8"], ["RKL", "OF0082", "Q1 2025/26", "4.1"]]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, content)
    html = client.get(response["Location"]).content.decode()
    assert "Row 3, org_code: Outside your scope" in html
    assert MetricValue.objects.count() == 0


def test_a_role_without_uploads_cannot_post(client, methodologies):
    trust = Trust.objects.get(code="RHA")
    user = get_user_model().objects.create_user("director")
    grant_role(user=user, role=Role.REGIONAL, region=trust.region, actor="test")
    client.force_login(user)
    assert "does not include uploading" in client.get("/uploads/").content.decode()
    response = post_file(client, template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]]))
    assert response.status_code == 404
    assert not MetricUpload.objects.exists()


def test_reconciliation_page_without_published_results(client, analyst):
    html = client.get("/reconciliation/?period=2025-26-q2").content.decode()
    assert "No NHS England published results" in html
    assert "is not a period" in client.get("/reconciliation/?period=nope").content.decode()


STEP_RE = re.compile(r'<li class="upload-steps__item upload-steps__item--(\w+)">(.*?)</li>')


def steps_of(html: str) -> list[tuple[str, str]]:
    """The step list as (state, text), the visually hidden text included."""
    return [(state, re.sub(r"<[^>]+>", "", text)) for state, text in STEP_RE.findall(html)]


def test_a_rejected_upload_shows_where_it_stopped(client, analyst):
    received = receive_upload(
        content=template_file([["ZZZ", "OF0001", "Q9 2099/00", "abc"]]),
        filename="bad.csv",
        actor=analyst,
        enqueue=False,
    )
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.INVALID
    for url in (f"/uploads/{upload.pk}/", f"/uploads/{upload.pk}/status/"):
        html = client.get(url).content.decode()
        assert steps_of(html) == [
            ("done", "Received (done)"),
            ("failed", "Validating: rejected, nothing stored (stopped here)"),
            ("todo", "Imported"),
            ("todo", "Recomputing"),
            ("todo", "Done"),
        ]
        assert "(current step)" not in html


def test_a_failed_upload_shows_the_step_that_failed(client, analyst, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    def upload_failing(content):
        received = receive_upload(
            content=template_file(content), filename="m.csv", actor=analyst, enqueue=False
        )
        upload = process_upload(upload_id=received.upload.pk)
        assert upload.status == UploadStatus.FAILED
        return steps_of(client.get(f"/uploads/{upload.pk}/").content.decode())

    monkeypatch.setattr("oversight.uploads.services.run_segmentation", broken)
    assert upload_failing([["RHA", "OF0082", "Q1 2025/26", "4.8"]]) == [
        ("done", "Received (done)"),
        ("done", "Validating (done)"),
        ("done", "Imported (done)"),
        (
            "failed",
            "Recomputing: failed; the values were stored, the previous results stay current"
            " (stopped here)",
        ),
        ("todo", "Done"),
    ]
    monkeypatch.setattr("oversight.uploads.services.store_rows", broken)
    assert upload_failing([["RHA", "OF0082", "Q1 2025/26", "4.9"]])[1:3] == [
        ("done", "Validating (done)"),
        ("failed", "Imported: failed, nothing stored (stopped here)"),
    ]
    monkeypatch.setattr(
        "oversight.uploads.services.validate",
        lambda *a, **k: (_ for _ in ()).throw(DatabaseError("relation missing")),
    )
    assert upload_failing([["RHA", "OF0082", "Q1 2025/26", "5.0"]])[:3] == [
        ("done", "Received (done)"),
        ("failed", "Validating: failed, nothing stored (stopped here)"),
        ("todo", "Imported"),
    ]


def test_a_file_that_trips_the_checks_is_rejected_with_a_message(client, analyst, monkeypatch):
    """A code exception while reading or checking is the file's problem, said as such:
    rejected (not failed and retryable), nothing stored."""

    def tripped(*args, **kwargs):
        raise IndexError("index 7 is out of bounds")

    monkeypatch.setattr("oversight.uploads.services.validate", tripped)
    received = receive_upload(
        content=template_file([["RHA", "OF0082", "Q1 2025/26", "5.0"]]),
        filename="m.csv",
        actor=analyst,
        enqueue=False,
    )
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.INVALID
    [problem] = upload.errors
    assert problem["message"].startswith("The file could not be read")
    assert "IndexError: index 7 is out of bounds" in problem["message"]
    assert not MetricValue.objects.filter(upload=upload).exists()


def test_an_upload_in_progress_shows_its_current_step(client, analyst):
    received = receive_upload(
        content=template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]]),
        filename="m.csv",
        actor=analyst,
        enqueue=False,
    )
    MetricUpload.objects.filter(pk=received.upload.pk).update(status=UploadStatus.VALIDATING)
    html = client.get(f"/uploads/{received.upload.pk}/").content.decode()
    assert steps_of(html)[:3] == [
        ("done", "Received (done)"),
        ("current", "Validating (current step)"),
        ("todo", "Imported"),
    ]


def cells_of(html: str, table_start: str) -> list[list[str]]:
    """Each body row's cells as the text a phone shows stacked: label, then value."""
    table = html[html.index(table_start) :]
    body = table[table.index("<tbody") : table.index("</tbody>")]
    rows = re.findall(r"<tr\b.*?</tr>", body, re.S)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[dh]\b.*?</t[dh]>", row, re.S)
        ]
        for row in rows
    ]


def test_tables_carry_their_column_labels_when_stacked_on_a_phone(client, analyst):
    received = receive_upload(
        content=template_file([["ZZZ", "OF0001", "Q9 2099/00", "abc"]]),
        filename="bad.csv",
        actor=analyst,
        enqueue=False,
    )
    upload = process_upload(upload_id=received.upload.pk)
    html = client.get(f"/uploads/{upload.pk}/").content.decode()
    assert '<table role="table" class="nhsuk-table-responsive" id="problems">' in html
    problems = cells_of(html, 'id="problems"')
    assert len(problems) == 4
    assert problems[0][:4] == ["Sheet \N{EN DASH}", "Row 2", "Column org_code", "Value ZZZ"]
    assert problems[0][4].startswith("What is wrong Unknown organisation code")
    assert html.count('<span class="nhsuk-table-responsive__heading" aria-hidden="true">') == 20

    listing = client.get("/uploads/").content.decode()
    assert '<table role="table" class="nhsuk-table-responsive">' in listing
    [row] = cells_of(listing, "Recent uploads")
    assert row == [
        f"Upload Upload {upload.pk}",
        "File bad.csv",
        "By analyst",
        row[3],
        "Status Rejected",
    ]
    assert row[3].startswith("When ")


def test_the_reconciliation_table_carries_its_labels_when_stacked(client, analyst, q2):
    from oversight.services import pin_cut_points

    from .test_imports import _example_with_published, upload

    pin_cut_points(period=q2, cut_points=(2.0, 2.35, 2.7), reason="Worked example", actor="t")
    upload(_example_with_published(), "nof-q2.csv")
    html = client.get("/reconciliation/?period=2025-26-q2").content.decode()
    anchor = '<table role="table" class="nhsuk-table-responsive reconciliation">'
    assert anchor in html
    rows = cells_of(html, anchor)
    assert len(rows) == 14
    for row in rows:
        assert row[0].startswith("Organisation ")
        assert [cell.split(" (ours / published) ")[0] for cell in row[1:]] == [
            "Average score",
            "Unadjusted segment",
            "Adjusted segment",
            "Final segment",
            "League-table rank",
            "Financial override (in deficit)",
            "Likely range of average score",
            "Likely range of rank",
        ]

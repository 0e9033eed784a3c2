"""Uploads through the API: post a file, poll the upload; scope, duplicates, retry."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from oversight.models import MetricUpload, MetricValue, UploadStatus
from oversight.services import pin_cut_points
from systems.models import AuditEvent, Role, Trust
from systems.services import create_api_token, grant_role

from .files import template_file
from .test_imports import _example_with_published


def person(role: str, **scope):
    user = get_user_model().objects.create_user(f"{role}-{len(scope)}-{id(scope)}")
    grant_role(user=user, role=role, actor="test", **scope)
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def post(client, content: bytes, name: str = "m.csv", **fields):
    return client.post(
        "/api/v1/uploads/",
        {"file": SimpleUploadedFile(name, content), **fields},
        format="multipart",
    )


@pytest.fixture
def national(methodologies):
    return person(Role.NATIONAL)[1]


def test_post_a_file_then_poll_it(national, django_capture_on_commit_callbacks):
    content = template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(national, content, format="template")
    assert response.status_code == 202, response.content
    assert response["Location"] == response.json()["url"]
    body = national.get(response["Location"]).json()
    assert body["status"] == UploadStatus.DONE
    assert body["periods"] == ["2025-26-q1"]
    assert body["summary"]["created"] == 1
    assert len(body["runs"]) == 1

    again = post(national, content, name="again.csv")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    listed = national.get("/api/v1/uploads/").json()
    assert [u["id"] for u in listed["results"]] == [body["id"]]


def test_a_bad_file_reports_every_problem(national, django_capture_on_commit_callbacks):
    content = template_file([["RHA", "OF0082", "Q1 2025/26", "lots"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(national, content)
    body = national.get(response["Location"]).json()
    assert body["status"] == "invalid"
    assert body["errors"] == [
        {
            "severity": "error",
            "file": "m.csv",
            "sheet": "",
            "row": 2,
            "column": "value",
            "value": "lots",
            "message": "Not a number: expected a number such as 85.2 (no % sign, "
            "no thousands separator).",
        }
    ]
    assert MetricValue.objects.count() == 0


def test_request_errors_use_the_error_body(national, settings):
    response = national.post("/api/v1/uploads/", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"
    settings.METRIC_UPLOAD_MAX_BYTES = 5
    response = post(national, b"0123456789")
    assert response.status_code == 400
    assert "largest file accepted" in response.json()["errors"][0]["message"]
    assert not MetricUpload.objects.exists()


def test_scope_of_uploads(methodologies, django_capture_on_commit_callbacks):
    trust = Trust.objects.get(code="RHA")
    _analyst, analyst_client = person(Role.ICB_ANALYST, icb=trust.icb_from_2026)
    _, director = person(Role.REGIONAL, region=trust.region)
    _, other_analyst = person(Role.ICB_ANALYST, icb=Trust.objects.get(code="RKL").icb_from_2026)

    assert post(director, template_file([["RHA", "OF0082", "Q1 2025/26", "4"]])).status_code == 404
    content = template_file(
        [["RHA", "OF0082", "Q1 2025/26", "4.8"], ["RKL", "OF0082", "Q1 2025/26", "4"]]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(analyst_client, content)
    url = response["Location"]
    body = analyst_client.get(url).json()
    assert body["status"] == "invalid"
    assert body["errors"][0]["message"].startswith("Outside your scope")
    assert body["errors"][0]["row"] == 3
    assert other_analyst.get(url).status_code == 404
    assert director.get(url).status_code == 404
    assert APIClient().get(url).status_code == 401


def test_token_uploads_only_when_granted(methodologies, django_capture_on_commit_callbacks):
    admin = get_user_model().objects.create_superuser("admin")
    reader = create_api_token(name="BI", role=Role.NATIONAL, actor=admin)
    writer = create_api_token(name="Feed", role=Role.NATIONAL, can_upload=True, actor=admin)
    content = template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reader.raw}")
    assert post(client, content).status_code == 404
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {writer.raw}")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, content)
    assert response.status_code == 202
    assert client.get(response["Location"]).json()["status"] == "done"
    assert MetricUpload.objects.get().uploaded_by is None
    # The write that was let through is recorded against its token; the refused one is not.
    written = AuditEvent.objects.filter(action="api_token.used_for_write")
    assert [e.object_id for e in written] == [str(writer.token.pk)]


def test_retry_through_the_api(national, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr("oversight.uploads.services.run_segmentation", broken)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(national, template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]]))
    url = response["Location"]
    assert national.get(url).json()["status"] == "failed"
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        retried = national.post(url + "retry/", {"reason": "worker back"}, format="json")
    assert retried.status_code == 202
    assert national.get(url).json()["status"] == "done"
    refused = national.post(url + "retry/", {}, format="json")
    assert refused.status_code == 400
    assert "only a failed or stalled upload" in refused.json()["errors"][0]["message"]


def test_reconciliation_endpoint(national, q2, django_capture_on_commit_callbacks):
    pin_cut_points(period=q2, cut_points=(2.0, 2.35, 2.7), reason="example", actor="t")
    with django_capture_on_commit_callbacks(execute=True):
        post(national, _example_with_published(), "nof.csv")
    body = national.get("/api/v1/reconciliation/?period=2025-26-q2&run=provisional").json()
    assert (body["compared"], body["differing"]) == (14, 0)
    row = next(r for r in body["organisations"] if r["org_code"] == "RKL")
    assert row["ours"]["average_score"] == row["published"]["average_score"] == 2.34
    bad = national.get("/api/v1/reconciliation/?period=someday")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "period"

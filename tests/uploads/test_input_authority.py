"""Who may supply which input: every way round the rule is refused, row by row, and stores
nothing; the same rule holds for the decisions page, the API and a file."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from oversight.models import MetricUpload, MetricValue, ProgrammeMembership, UploadStatus
from oversight.uploads.services import process_upload, receive_upload
from systems.authorization import (
    INPUT_AUTHORITY,
    Input,
    Permission,
    TokenUser,
    grants,
    has_permission,
    input_refusal,
    upload_authority,
)
from systems.models import ApiToken, AuditEvent, IntegratedCareBoard, Region, Role, Trust
from systems.services import AccessError, create_api_token, grant_role

from .files import template_file
from .test_league_tables import league_file, league_row

NOTTS = "QT1"  # Nottingham and Nottinghamshire (Midlands)
OWN = ["RHA", "RK5"]  # two of its trusts


def person(name: str, *roles: tuple[str, dict]):
    user = get_user_model().objects.create_user(name, password="x")
    for role, scope in roles:
        grant_role(user=user, role=role, actor="test", **scope)
    return user


def notts():
    return {"icb": IntegratedCareBoard.objects.get(code=NOTTS)}


def midlands():
    return {"region": Region.objects.get(ods_code="Y60")}


def elsewhere_icb() -> IntegratedCareBoard:
    """An ICB outside the Midlands that hosts trusts."""
    trust = Trust.objects.exclude(region__ods_code="Y60").filter(icb_from_2026__isnull=False)
    return trust.order_by("code").first().icb_from_2026


def midlands_trust_outside_notts() -> str:
    return (
        Trust.objects.filter(region__ods_code="Y60", close_date__isnull=True)
        .exclude(icb_from_2026__code=NOTTS)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )


def upload_as(user, content: bytes, name: str = "m.csv"):
    received = receive_upload(
        content=content,
        filename=name,
        actor=user,
        enqueue=False,
        authority=upload_authority(user),
    )
    return process_upload(upload_id=received.upload.pk)


@pytest.fixture
def analyst(methodologies):
    return person("notts-analyst", (Role.ICB_ANALYST, notts()))


@pytest.mark.parametrize(
    ("metric", "value", "kind"),
    [
        ("OF5007", "1", Input.PROGRAMME),
        ("OF5004", "1", Input.OVERRIDE_FLAG),
        ("OF1082", "1.5", Input.SCORE),
        ("OF5000", "1", Input.PUBLISHED),
        ("OF5005", "5", Input.PUBLISHED),
        ("OF4100", "2.1", Input.PUBLISHED),
        ("OF1067", "Good", Input.RATING),
    ],
)
def test_an_analyst_may_not_supply_official_inputs_for_their_own_trusts(
    analyst, metric, value, kind
):
    content = template_file(
        [["RHA", "OF0082", "Q1 2025/26", "4.8"], ["RHA", metric, "Q1 2025/26", value]]
    )
    upload = upload_as(analyst, content)
    assert upload.status == UploadStatus.INVALID
    assert upload.errors == [
        {
            "severity": "error",
            "file": "m.csv",
            "sheet": "",
            "row": 3,
            "column": "metric_id",
            "value": metric,
            "message": input_refusal(kind),
        }
    ]
    assert MetricValue.objects.count() == 0
    assert ProgrammeMembership.objects.count() == 0


def test_the_refusal_says_what_the_input_takes_and_who_holds_it():
    message = input_refusal(Input.SCORE)
    assert message.startswith("You may not supply supplied scores for this organisation")
    assert "'Supply scores, the override flag, CQC ratings" in message
    assert "National team" in message and "Data steward" in message
    assert "Regional director" in input_refusal(Input.PROGRAMME)


def test_a_cqc_overall_rating_is_refused_and_a_blank_official_row_is_not_a_supply(analyst):
    content = template_file(
        [
            ["RHA", "OF0082", "Q1 2025/26", "4.8", ""],
            ["RHA", "CQC_OVERALL", "Q1 2025/26", "Good", "2025-03-01"],
            ["RK5", "OF5007", "Q1 2025/26", "", ""],
        ],
        header=["org_code", "metric_id", "period", "value", "reporting_date"],
    )
    upload = upload_as(analyst, content)
    assert [(e["row"], e["value"]) for e in upload.errors] == [(3, "CQC_OVERALL")]
    assert MetricValue.objects.count() == 0


def test_metric_values_for_their_own_trusts_are_still_accepted(analyst):
    content = template_file([[code, "OF0082", "Q1 2025/26", "4.8"] for code in OWN])
    upload = upload_as(analyst, content)
    assert upload.status == UploadStatus.DONE, upload.errors
    assert MetricValue.objects.count() == 2


def test_an_analyst_may_not_upload_a_league_table(analyst):
    org = Trust.objects.get(code="RHA")
    upload = upload_as(analyst, league_file(rows=[league_row(org, 1)]))
    assert upload.status == UploadStatus.INVALID
    assert [(e["column"], e["value"]) for e in upload.errors] == [("Trust_code", "RHA")]
    assert upload.errors[0]["message"] == input_refusal(Input.PUBLISHED)
    assert MetricValue.objects.count() == 0


def test_upload_scope_is_the_roles_that_upload_not_every_role_held(methodologies):
    """A Midlands regional role and an analyst role for an ICB elsewhere: the file may be
    about that ICB's organisations only, not every Midlands trust."""
    other = elsewhere_icb()
    both = person("both", (Role.REGIONAL, midlands()), (Role.ICB_ANALYST, {"icb": other}))
    authority = upload_authority(both)
    hosted = set(Trust.objects.filter(icb_from_2026=other).values_list("code", flat=True))
    assert hosted <= set(authority[Input.VALUE])
    assert "RHA" not in authority[Input.VALUE]
    # Programme membership takes the regional permission *and* the upload scope: none here.
    assert authority[Input.PROGRAMME] == []
    assert Input.SCORE not in authority

    upload = upload_as(both, template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]]))
    assert upload.status == UploadStatus.INVALID
    assert upload.errors[0]["column"] == "org_code"
    assert upload.errors[0]["message"].startswith("Outside your scope")
    assert MetricValue.objects.count() == 0


def test_programme_membership_follows_one_rule_on_every_path(methodologies):
    """A regional director who is also the ICB's analyst may record programme entry for
    the ICB's trusts on the decisions page, and so in a file; nobody else below national."""
    both = person("notts-both", (Role.REGIONAL, midlands()), (Role.ICB_ANALYST, notts()))
    analyst = person("notts-only", (Role.ICB_ANALYST, notts()))
    rha = Trust.objects.get(code="RHA")
    assert INPUT_AUTHORITY[Input.PROGRAMME] == Permission.MANAGE_PROGRAMME
    for user, may in ((both, True), (analyst, False)):
        assert has_permission(user, Permission.MANAGE_PROGRAMME, rha) is may
        assert ("RHA" in (upload_authority(user).get(Input.PROGRAMME) or [])) is may

    upload = upload_as(both, template_file([["RHA", "OF5007", "Q1 2025/26", "1"]]))
    assert upload.status == UploadStatus.DONE, upload.errors
    refused = upload_as(analyst, template_file([["RK5", "OF5007", "Q1 2025/26", "1"]]))
    assert refused.status == UploadStatus.INVALID

    client = APIClient()
    client.force_authenticate(analyst)
    response = client.post(
        "/api/v1/programme-memberships/",
        {"organisation": "RK5", "entered_on": "2025-07-01", "reason": "r"},
        format="json",
    )
    assert response.status_code in (403, 404)
    assert ProgrammeMembership.objects.count() == 0


def test_a_data_steward_may_supply_official_inputs_within_their_upload_scope(methodologies):
    steward = person("steward", (Role.ICB_ANALYST, notts()), (Role.DATA_STEWARD, {}))
    authority = upload_authority(steward)
    assert set(authority[Input.SCORE]) == set(authority[Input.VALUE])
    outside = midlands_trust_outside_notts()
    content = template_file(
        [["RHA", "OF1082", "Q1 2025/26", "1.5"], [outside, "OF1082", "Q1 2025/26", "1.5"]]
    )
    upload = upload_as(steward, content)
    assert [(e["row"], e["column"]) for e in upload.errors] == [(3, "org_code")]

    upload = upload_as(steward, template_file([["RHA", "OF1082", "Q1 2025/26", "1.5"]]))
    assert upload.status == UploadStatus.DONE, upload.errors
    # The steward role alone opens nothing and uploads nothing.
    alone = person("steward-alone", (Role.DATA_STEWARD, {}))
    assert upload_authority(alone) == {}


def test_the_national_team_may_supply_everything(methodologies):
    national = person("nat", (Role.NATIONAL, {}))
    assert upload_authority(national) == {kind: None for kind in INPUT_AUTHORITY}
    upload = upload_as(national, template_file([["RHA", "OF5007", "Q1 2025/26", "1"]]))
    assert upload.status == UploadStatus.DONE


def test_a_token_gets_no_right_its_role_lacks(methodologies):
    region = Region.objects.get(ods_code="Y60")
    with pytest.raises(AccessError, match="does not upload metric files"):
        create_api_token(name="r", role=Role.REGIONAL, region=region, can_upload=True, actor="t")
    assert ApiToken.objects.count() == 0
    assert not AuditEvent.objects.filter(action="api_token.created").exists()

    national = person("nat2", (Role.NATIONAL, {}))
    client = APIClient()
    client.force_authenticate(national)
    response = client.post(
        "/api/v1/tokens/",
        {"name": "r", "role": "regional", "region": "Y60", "can_upload": True},
        format="json",
    )
    assert response.status_code == 400
    assert "does not upload metric files" in response.json()["errors"][0]["message"]
    assert ApiToken.objects.count() == 0

    # A token made before the rule: the role still decides, so it may not upload.
    legacy = ApiToken.objects.create(
        name="old", role=Role.REGIONAL, region=region, can_upload=True, prefix="p", token_hash="h"
    )
    assert Permission.UPLOAD_METRICS not in grants(TokenUser(legacy))[0].permissions


def test_an_analyst_token_that_uploads_gets_values_only(methodologies):
    icb = IntegratedCareBoard.objects.get(code=NOTTS)
    token = create_api_token(name="a", role=Role.ICB_ANALYST, icb=icb, can_upload=True, actor="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.raw}")
    content = template_file([["RHA", "OF5004", "Q1 2025/26", "1"]])
    response = client.post(
        "/api/v1/uploads/", {"file": SimpleUploadedFile("f.csv", content)}, format="multipart"
    )
    assert response.status_code == 202, response.content
    upload = MetricUpload.objects.get()
    assert upload.input_authority is not None
    assert set(upload.input_authority) == {Input.VALUE}


def test_a_repeated_file_never_reveals_another_persons_upload(
    methodologies, client, django_capture_on_commit_callbacks
):
    content = template_file([["RHA", "OF0082", "Q1 2025/26", "4.8"]])
    first_person = person("first", (Role.ICB_ANALYST, notts()))
    first = upload_as(first_person, content, name="secret-board-paper.csv")
    assert first.status == UploadStatus.DONE

    second = person("second", (Role.ICB_ANALYST, notts()))
    client.force_login(second)
    response = client.post("/uploads/", {"file": SimpleUploadedFile("mine.csv", content)})
    assert response.status_code == 302 and response["Location"] == "/uploads/"
    page = client.get("/uploads/").content.decode()
    assert "This file was already imported" in page
    assert "secret-board-paper" not in page and "first" not in page
    assert client.get(f"/uploads/{first.pk}/").status_code == 404

    api = APIClient()
    api.force_authenticate(second)
    answer = api.post(
        "/api/v1/uploads/", {"file": SimpleUploadedFile("mine.csv", content)}, format="multipart"
    )
    assert answer.status_code == 409
    assert answer.json() == {
        "errors": [
            {
                "field": "file",
                "message": "This file was already imported; it was not imported again.",
                "code": "already_imported",
            }
        ]
    }
    # Its uploader is still pointed at it.
    api.force_authenticate(first_person)
    again = api.post(
        "/api/v1/uploads/", {"file": SimpleUploadedFile("again.csv", content)}, format="multipart"
    )
    assert again.status_code == 200 and again.json()["id"] == first.pk
    assert MetricUpload.objects.count() == 1

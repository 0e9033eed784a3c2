"""The autonomy endpoints: scope, decisions by the right people, history."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from oversight.models import FreedomGrant, Notification, OversightAction
from systems.models import Organisation, Role
from systems.services import grant_role

from .test_autonomy import A, B, C, quarter, universe  # noqa: F401


def client_for(role: str, **scope) -> APIClient:
    user = get_user_model().objects.create_user(f"{role}-{len(get_user_model().objects.all())}")
    grant_role(user=user, role=role, actor="test", **scope)
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


@pytest.fixture
def runs(universe):  # noqa: F811
    quarter("Q1 2025/26", {A: 1, B: 1, C: 4})
    quarter("Q2 2025/26", {A: 1, B: 3, C: 4})
    return universe


def test_grants_are_scoped_and_decided_by_the_right_region(runs):
    proposed = FreedomGrant.objects.get(freedom__slug="lead-planning", organisation__code=A)
    own = client_for(Role.REGIONAL, region=runs[A].region)
    other = client_for(Role.REGIONAL, region=runs[B].region)
    url = f"/api/v1/grants/{proposed.pk}/"
    assert own.get(url).json()["status"] == "proposed"
    assert other.get(url).status_code == 404
    assert other.post(url + "decide/", {"decision": "confirm", "reason": "x"}).status_code == 404
    analyst = client_for(Role.ICB_ANALYST, icb=runs[A].trust.icb_from_2026)
    assert analyst.get(url).status_code == 200
    assert analyst.post(url + "decide/", {"decision": "confirm", "reason": "x"}).status_code == 404
    missing = own.post(url + "decide/", {"decision": "confirm"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "reason"
    done = own.post(
        url + "decide/", {"decision": "confirm", "reason": "Strong partners"}, format="json"
    )
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["status"] == "granted"
    assert [e["status_to"] for e in body["events"]] == ["proposed", "granted"]

    aft = FreedomGrant.objects.get(freedom__slug="aft-eligibility", organisation__code=A)
    history = own.get(f"/api/v1/grants/{aft.pk}/").json()["events"]
    assert history[0]["run"] and all(c["passed"] for c in history[0]["criteria"])
    listed = other.get("/api/v1/grants/").json()["results"]
    assert {g["organisation"] for g in listed} <= {B}


def test_actions_and_evaluations(runs):
    national = client_for(Role.NATIONAL)
    director = client_for(Role.REGIONAL, region=runs[B].region)
    actions = national.get(f"/api/v1/actions/?organisation={C}").json()["results"]
    assert [a["kind"] for a in actions] == ["recovery_plan"]
    stocktake = OversightAction.objects.get(organisation__code=B, kind="diagnostic_stocktake")
    url = f"/api/v1/actions/{stocktake.pk}/close/"
    assert national.post(url, {"note": "Held"}, format="json").status_code == 404  # not theirs
    refused = director.post(url, {"note": ""}, format="json")
    assert refused.status_code == 400
    assert director.post(url, {"note": "Held"}, format="json").json()["status"] == "closed"
    outsider = client_for(Role.REGIONAL, region=runs[A].region)
    assert outsider.get(f"/api/v1/actions/{stocktake.pk}/").status_code == 404

    evaluations = national.get(
        f"/api/v1/freedom-evaluations/?organisation={A}&freedom=aft-eligibility"
    ).json()["results"]
    assert [e["eligible"] for e in evaluations] == [False, True]
    assert (
        national.get("/api/v1/freedoms/aft-eligibility/").json()["criteria"]["consecutive_periods"]
        == 2
    )


def test_notifications_are_the_callers_own(runs):
    director = client_for(Role.REGIONAL, region=runs[B].region)
    quarter("Q3 2025/26", {B: 1})
    mine = director.get("/api/v1/notifications/").json()["results"]
    assert any(n["subject"] == f"{B}: Segment 3 → 1" for n in mine)
    assert Notification.objects.filter(user=director.user).count() == len(mine)
    assert all(n["organisation"] in {B} for n in mine)
    assert Organisation.objects.filter(code=B).exists()


def test_aft_steps_through_the_api(runs):
    aft = FreedomGrant.objects.get(freedom__slug="aft-eligibility", organisation__code=A)
    url = f"/api/v1/grants/{aft.pk}/aft-step/"
    regional = client_for(Role.REGIONAL, region=runs[A].region)
    assert regional.post(url, {"nominated_on": "2025-10-01"}, format="json").status_code == 404
    national = client_for(Role.NATIONAL)
    late = national.post(
        url,
        {
            "nominated_on": "2025-10-01",
            "panel_decision": "approved",
            "panel_decided_on": "2025-11-01",
            "reassessment_due": "2031-01-01",
        },
        format="json",
    )
    assert late.status_code == 400
    assert "within five years" in late.json()["errors"][0]["message"]
    aft.refresh_from_db()
    assert aft.nominated_on is None  # nothing half-recorded
    done = national.post(
        url,
        {
            "nominated_on": "2025-10-01",
            "panel_decision": "approved",
            "panel_decided_on": "2025-11-01",
            "reassessment_due": "2030-11-01",
            "reason": "Panel of 1 November",
        },
        format="json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["reassessment_due"] == "2030-11-01"


def test_programme_capability_and_cqc_through_the_api(runs):
    regional = client_for(Role.REGIONAL, region=runs[A].region)
    entered = regional.post(
        "/api/v1/programme-memberships/",
        {"organisation": A, "entered_on": "2026-01-05", "reason": "Segment 4, low capability"},
        format="json",
    )
    assert entered.status_code == 201, entered.content
    assert FreedomGrant.objects.filter(organisation__code=A, status="revoked").exists()
    outside = regional.post(
        "/api/v1/programme-memberships/",
        {"organisation": B, "entered_on": "2026-01-05", "reason": "x"},
        format="json",
    )
    assert outside.status_code == 400  # B is not in their region: it cannot even be named
    early = regional.post(
        f"/api/v1/programme-memberships/{entered.json()['id']}/leave/",
        {"left_on": "2025-12-01", "reason": "Recovered"},
        format="json",
    )
    assert early.status_code == 400 and "must leave after" in early.content.decode()
    capability = regional.post(
        "/api/v1/capability-assessments/",
        {"organisation": A, "financial_year": "2026/27", "assessor": "region", "overall": 7},
        format="json",
    )
    assert capability.status_code == 400 and "Levels run from 1" in capability.content.decode()
    cqc = regional.post(
        "/api/v1/cqc-ratings/",
        {"organisation": A, "rating": "Good", "published_on": "2026-01-01"},
        format="json",
    )
    assert cqc.status_code == 404  # national users only

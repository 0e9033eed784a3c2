"""The oversight decisions page: programme, capability, CQC rating and AFT steps, each
by the people allowed, refused with a message (and nothing stored) when wrong."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model

from oversight.models import CapabilityAssessment, CqcRating, FreedomGrant, ProgrammeMembership
from systems.models import AuditEvent, Role
from systems.services import grant_role

from .test_autonomy import A, B, grant, quarter, universe  # noqa: F401


def signed_in(client, role, **scope):
    user = get_user_model().objects.create_user(f"p{get_user_model().objects.count()}")
    grant_role(user=user, role=role, actor="test", **scope)
    client.force_login(user)
    return user


def test_regional_director_records_programme_entry_and_exit(client, universe):  # noqa: F811
    quarter("Q1 2025/26", {A: 1, B: 1})
    signed_in(client, Role.REGIONAL, region=universe[A].region)
    page = client.get(f"/organisations/{A}/decisions/").content.decode()
    assert "Record entry to the programme" in page
    events = AuditEvent.objects.count()
    response = client.post(
        f"/organisations/{A}/decisions/programme/",
        {"step": "enter", "on": "someday", "reason": ""},
        follow=True,
    )
    html = response.content.decode()
    assert "Date must be a real date, for example 4 1 2027." in html
    assert "Enter the reason for the decision." in html
    assert AuditEvent.objects.count() == events and not ProgrammeMembership.objects.exists()
    client.post(
        f"/organisations/{A}/decisions/programme/",
        {"step": "enter", "on": "2025-09-01", "reason": "Segment 4 with low capability"},
    )
    stay = ProgrammeMembership.objects.get(organisation__code=A)
    assert stay.recorded_by_label.startswith("p")
    assert not FreedomGrant.objects.filter(organisation__code=A, status="granted").exists()
    page = client.get(f"/organisations/{A}/decisions/").content.decode()
    assert "Record exit from the programme" in page
    client.post(
        f"/organisations/{A}/decisions/programme/",
        {"step": "leave", "on": "2026-01-31", "reason": "Recovery plan delivered"},
    )
    stay.refresh_from_db()
    assert stay.left_on == datetime.date(2026, 1, 31)
    # Another region's organisation: not found.
    assert client.get(f"/organisations/{B}/decisions/").status_code == 404


def test_capability_and_cqc_need_the_right_role(client, universe):  # noqa: F811
    signed_in(client, Role.REGIONAL, region=universe[A].region)
    response = client.post(
        f"/organisations/{A}/decisions/capability/",
        {"financial_year": "2026-27", "assessor": "region", "overall": "2"},
        follow=True,
    )
    assert "is not a financial year" in response.content.decode()
    client.post(
        f"/organisations/{A}/decisions/capability/",
        {"financial_year": "2026/27", "assessor": "region", "overall": "2", "area_0": "1"},
    )
    row = CapabilityAssessment.objects.get(organisation__code=A, financial_year="2026/27")
    assert row.overall == 2 and row.areas == {"Strategy, leadership and planning": 1}
    cqc = client.post(
        f"/organisations/{A}/decisions/cqc/", {"rating": "Good", "published_on": "2026-01-01"}
    )
    assert cqc.status_code == 404
    signed_in(client, Role.NATIONAL)
    client.post(
        f"/organisations/{A}/decisions/cqc/",
        {"rating": "Outstanding", "published_on": "2026-06-01", "source": "CQC report"},
    )
    assert CqcRating.objects.filter(organisation__code=A, rating="Outstanding").exists()


def test_national_records_aft_steps_on_the_page(client, universe):  # noqa: F811
    quarter("Q1 2025/26", {A: 1})
    quarter("Q2 2025/26", {A: 1})
    aft = grant(A, "aft-eligibility")
    signed_in(client, Role.REGIONAL, region=universe[A].region)
    assert client.post(f"/organisations/{A}/decisions/aft/{aft.pk}/", {}).status_code == 404
    signed_in(client, Role.NATIONAL)
    assert (
        "Advanced Foundation Trust" in client.get(f"/organisations/{A}/decisions/").content.decode()
    )
    response = client.post(
        f"/organisations/{A}/decisions/aft/{aft.pk}/",
        {"panel_decision": "approved", "panel_decided_on": "2025-11-01"},
        follow=True,
    )
    assert "Record the nomination and the decision date" in response.content.decode()
    client.post(
        f"/organisations/{A}/decisions/aft/{aft.pk}/",
        {
            "nominated_on": "2025-10-01",
            "panel_decision": "approved",
            "panel_decided_on": "2025-11-01",
            "reassessment_due": "2030-11-01",
        },
    )
    aft.refresh_from_db()
    assert aft.panel_decision == "approved" and aft.reassessment_due == datetime.date(2030, 11, 1)


def test_the_organisation_page_links_to_its_decisions(client, universe):  # noqa: F811
    signed_in(client, Role.NATIONAL)
    html = client.get(f"/organisations/{A}/").content.decode()
    assert f'href="/organisations/{A}/decisions/"' in html

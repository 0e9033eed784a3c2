"""Delegation pages with every ICB's agreements: content, scope, forms that refuse bad input
without changing anything, downloads, and a fixed number of queries."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model

from delegation.demo import load_demo_delegation
from delegation.models import CommissioningChangeRequest, IcbSegment, RequestStatus
from systems.models import AuditEvent, IntegratedCareBoard, Region, Role
from systems.services import grant_role


@pytest.fixture
def demo(methodologies):
    """The demonstration's agreements for the Midlands and London (every year and ICB)."""
    load_demo_delegation(regions=("Y60", "Y56"))


def signed_in(client, role, **scope):
    user = get_user_model().objects.create_user(f"u{get_user_model().objects.count()}")
    grant_role(user=user, role=role, actor="test", **scope)
    client.force_login(user)
    return user


def midlands():
    return Region.objects.get(ods_code="Y60")


def test_pages_run_a_fixed_number_of_queries(client, demo, django_assert_max_num_queries):
    signed_in(client, Role.NATIONAL)
    notts = IntegratedCareBoard.objects.get(code="QT1")
    agreement = notts.delegation_agreements.get(financial_year="2026/27")
    request = CommissioningChangeRequest.objects.filter(icb=notts).first()
    for url, most in (
        ("/delegation/?region=Y60", 12),
        ("/delegation/?region=Y56", 12),
        (f"/delegation/agreements/{agreement.pk}/", 16),
        ("/delegation/icbs/QT1/", 16),
        (f"/delegation/change-requests/{request.pk}/", 12),
        ("/delegation/regions/Y60/approvals/", 16),
        ("/regions/Y60/", 40),
        ("/organisations/QT1/", 40),
    ):
        with django_assert_max_num_queries(most):
            response = client.get(url)
        assert response.status_code == 200, url
        assert "synthetic" in response.content.decode().lower(), url


def test_matrix_shows_who_commissions_what(client, demo):
    signed_in(client, Role.REGIONAL, region=midlands())
    html = client.get("/delegation/").content.decode()
    assert "Who commissions each specialised service in Midlands" in html
    assert "since Apr 2024" in html  # Midlands: delegated from April 2024
    london = client.get("/delegation/?region=Y56").content.decode()
    assert "in Midlands" in london  # a region outside scope falls back to their own
    response = client.get("/delegation/?region=Y60&download=matrix&format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Service", "Status"]
    assert len(rows) == 21  # the 20 services


def test_approval_queue_and_region_dashboard(client, demo):
    signed_in(client, Role.REGIONAL, region=midlands())
    queue = client.get("/delegation/regions/Y60/approvals/").content.decode()
    assert "2 requests awaiting a decision" in queue
    assert "£1,070,000" in queue  # £1,250,000 less £180,000
    assert "NHS Black Country Integrated Care Board" in queue
    region = client.get("/regions/Y60/").content.decode()
    assert "2 change requests awaiting your decision" in region
    assert "Spending-approval conditions in force" in region
    assert client.get("/delegation/regions/Y56/approvals/").status_code == 404


def test_the_right_director_decides_from_the_queue(client, demo):
    director = signed_in(client, Role.REGIONAL, region=midlands())
    request = CommissioningChangeRequest.objects.get(
        icb__code="QT1", status=RequestStatus.AWAITING_DECISION
    )
    events = AuditEvent.objects.count()
    response = client.post(
        f"/delegation/change-requests/{request.pk}/decide/",
        {"decision": "approve", "reason": "", "next": "queue"},
        follow=True,
    )
    assert "Give the reason for the decision." in response.content.decode()
    assert AuditEvent.objects.count() == events
    decision = {"decision": "reject", "reason": "Not affordable this year"}
    check = client.post(f"/delegation/change-requests/{request.pk}/decide/", decision)
    html = check.content.decode()
    assert "Check before you reject this change request" in html and "cannot be undone" in html
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_DECISION  # not until confirmed
    client.post(
        f"/delegation/change-requests/{request.pk}/decide/", {**decision, "confirmed": "yes"}
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert request.decided_by == director
    london = signed_in(client, Role.REGIONAL, region=Region.objects.get(ods_code="Y56"))
    assert london
    response = client.post(
        f"/delegation/change-requests/{request.pk}/decide/",
        {"decision": "approve", "reason": "x"},
    )
    assert response.status_code == 404


def test_raising_a_request_lists_every_problem_and_stores_nothing(client, demo):
    signed_in(client, Role.ICB_ANALYST, icb=IntegratedCareBoard.objects.get(code="QT1"))
    before = CommissioningChangeRequest.objects.count()
    response = client.post(
        "/delegation/icbs/QT1/change-requests/new/",
        {"title": "", "annual_spend_effect": "lots", "intended_start": "next week"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html
    assert "Choose the delegated services the change affects." in html
    assert "Enter a number." in html
    assert "Intended start must be a real date, for example 4 1 2027." in html
    assert CommissioningChangeRequest.objects.count() == before


def test_recording_a_segment_on_the_icb_page(client, demo):
    signed_in(client, Role.REGIONAL, region=midlands())
    before = IcbSegment.objects.count()
    response = client.post(
        "/delegation/icbs/QJ2/", {"segment": "9", "as_of": "2026-13-01", "source": ""}
    )
    html = response.content.decode()
    assert "Select a valid choice" in html and "Applies from must be a real date" in html
    assert IcbSegment.objects.count() == before
    client.post(
        "/delegation/icbs/QJ2/",
        {"segment": "4", "as_of": "2026-11-30", "source": "Regional review meeting"},
    )
    derby = IntegratedCareBoard.objects.get(code="QJ2")
    agreement = derby.delegation_agreements.get(financial_year="2026/27")
    assert agreement.conditions.filter(lifted_at__isnull=True).exists()
    analyst = signed_in(client, Role.ICB_ANALYST, icb=derby)
    assert analyst
    response = client.post(
        "/delegation/icbs/QJ2/", {"segment": "1", "as_of": "2026-11-30", "source": "x"}
    )
    assert response.status_code == 404


def test_exports_never_carry_a_formula(client, demo):
    from delegation.services import raise_change_request

    notts = IntegratedCareBoard.objects.get(code="QT1")
    service = notts.delegation_agreements.get(financial_year="2026/27").schedule.first().service
    raise_change_request(
        actor="test",
        icb=notts,
        services=[service],
        title='=HYPERLINK("http://example.com")',
        description="x",
        annual_spend_effect="1",
        changes_overall_spend=True,
        intended_start=__import__("datetime").date(2027, 1, 1),
    )
    signed_in(client, Role.NATIONAL)
    response = client.get("/delegation/icbs/QT1/?download=requests&format=csv")
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_preparing_and_signing_an_agreement_on_the_pages(client, demo):
    from delegation.models import AgreementTemplate, DelegationAgreement, DevelopmentalArrangement

    AgreementTemplate.objects.create(version="2027/28 national template", financial_year="2027/28")
    director = signed_in(client, Role.REGIONAL, region=midlands())
    html = client.get("/delegation/icbs/QT1/").content.decode()
    assert "Prepare a draft agreement" in html and "2027/28" in html
    response = client.post("/delegation/icbs/QT1/agreements/new/", {"financial_year": "2027/28"})
    draft = DelegationAgreement.objects.get(icb__code="QT1", financial_year="2027/28")
    assert response["Location"] == f"/delegation/agreements/{draft.pk}/"
    assert draft.schedule.count() == 20
    response = client.post(
        f"/delegation/agreements/{draft.pk}/arrangements/",
        {"category": "risk", "text": "", "agreed_by": "Panel", "review_date": "soon"},
        follow=True,
    )
    html = response.content.decode()
    assert "Enter the arrangement." in html
    assert "Review date must be a real date, for example 4 1 2027." in html
    assert not DevelopmentalArrangement.objects.filter(agreement=draft).exists()
    client.post(f"/delegation/agreements/{draft.pk}/sign/")
    draft.refresh_from_db()
    assert draft.status == "signed" and draft.signed_by == director
    response = client.post(
        "/delegation/icbs/QT1/agreements/new/", {"financial_year": "2027/28"}, follow=True
    )
    assert "already has a 2027/28 agreement" in response.content.decode()

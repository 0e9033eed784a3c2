"""The compact pages: the director opens a compact, records the meeting, adds and decides
commitments, asks for and updates support and agrees it; the ICB analyst proposes; bad
input is refused with its reason and changes nothing; every table downloads."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from oversight.autonomy.policy import load_autonomy_policy
from oversight.compacts.models import Compact, CompactStatus
from systems.models import AuditEvent, IntegratedCareBoard, Role, Trust
from systems.services import grant_role

URL = "/compacts/{code}/2025-26/"


@pytest.fixture
def people(methodologies):
    load_autonomy_policy(actor="test")
    icb = IntegratedCareBoard.objects.get(code="QHL")
    users = {}
    for name, role, scope in (
        ("director", Role.REGIONAL, {"region": icb.region}),
        ("analyst", Role.ICB_ANALYST, {"icb": icb}),
    ):
        user = get_user_model().objects.create_user(name, email=f"{name}@example.org")
        grant_role(user=user, role=role, actor="test", **scope)
        users[name] = user
    return icb, users


def _text(response) -> str:
    return response.content.decode()


def test_the_director_agrees_a_compact_through_the_pages(client, people):
    icb, users = people
    client.force_login(users["director"])
    listing = _text(client.get("/compacts/"))
    assert "Open a compact" in listing
    done = client.post(
        "/compacts/open/", {"icb": icb.code, "financial_year": "2025/26"}, follow=True
    )
    assert "Compact opened for NHS Birmingham and Solihull" in _text(done)
    url = URL.format(code=icb.code)
    page = _text(client.get(url))
    assert "Record a board-to-board meeting" in page and "Parties" in page
    # A meeting with nobody named is refused with the reason; nothing is stored.
    refused = client.post(
        url + "meeting/", {"held_on": "2025-03-20", "attendees": " "}, follow=True
    )
    assert "There is a problem" in _text(refused)
    compact = Compact.objects.get(icb=icb)
    assert not compact.meetings.exists()
    client.post(
        url + "meeting/",
        {
            "held_on": "2025-03-20",
            "attendees": "A Chair, Chair, the ICB\nB Director, Regional director, NHS England",
            "minutes_reference": "B2B-1",
        },
    )
    assert compact.meetings.get().attendees[1] == {
        "name": "B Director",
        "role": "Regional director",
        "organisation": "NHS England",
    }
    trust = Trust.objects.filter(pk__in=compact.parties.values("pk"), peer_group="acute").first()
    bad = client.post(
        url + "commitments/",
        {
            "organisation": trust.code,
            "title": "Faster A&E",
            "target": "78",
            "accountable_name": "C",
            "accountable_role": "Chief executive",
        },
        follow=True,
    )
    assert "a target, direction or trajectory needs the metric" in _text(bad)
    assert not compact.commitments.exists()
    added = client.post(
        url + "commitments/",
        {
            "organisation": trust.code,
            "title": "Faster A&E",
            "metric_id": "OF0013",
            "direction": "at_least",
            "target": "78",
            "q2": "74",
            "q3": "76",
            "due_on": "2026-03-31",
            "accountable_name": "C",
            "accountable_role": "Chief executive",
        },
        follow=True,
    )
    assert "Commitment added: Faster A&amp;E." in _text(added)
    assert compact.commitments.get().trajectory == {"Q2": 74.0, "Q3": 76.0}
    client.post(url + "support/", {"description": "UEC support", "owner": "Midlands UEC"})
    support = compact.support.get()
    client.post(
        url + f"support/{support.pk}/",
        {"status": "in_progress", "reason": "Team assigned", "owner": ""},
    )
    support.refresh_from_db()
    assert support.status == "in_progress" and support.owner == "Midlands UEC"
    agreed = client.post(url + "status/", {"to": "agreed", "reason": "Agreed"}, follow=True)
    assert "The compact is now agreed." in _text(agreed)
    compact.refresh_from_db()
    assert compact.status == CompactStatus.AGREED
    page = _text(client.get(url))
    assert "At the board-to-board meeting of 20 March 2025 (minutes B2B-1)" in page
    assert "At least 78" in page and "Q2 74, Q3 76" in page
    for table in ("commitments", "history", "support"):
        csv = client.get(url + f"?download={table}&format=csv")
        assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
        xlsx = client.get(url + f"?download={table}&format=xlsx")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "Faster A&E" in client.get(url + "?download=commitments&format=csv").content.decode()
    icb_page = _text(client.get(f"/organisations/{icb.code}/"))
    assert "Compact 2025/26</a>: <strong>Agreed</strong>" in icb_page
    assert "The system" in icb_page
    assert AuditEvent.objects.filter(action__startswith="compact.").count() >= 6


def test_the_analyst_proposes_and_the_director_decides(client, people):
    icb, users = people
    from oversight.compacts.services import create_compact

    compact = create_compact(icb=icb, financial_year="2025/26", actor=users["director"])
    url = URL.format(code=icb.code)
    client.force_login(users["analyst"])
    page = _text(client.get(url))
    assert "Propose a commitment" in page and "Record a board-to-board meeting" not in page
    assert client.post(url + "status/", {"to": "agreed", "reason": "x"}).status_code == 404
    client.post(
        url + "commitments/",
        {
            "organisation": icb.code,
            "title": "A system elective hub",
            "accountable_name": "D",
            "accountable_role": "Chief executive",
        },
    )
    proposed = compact.commitments.get()
    assert proposed.status == "proposed"
    client.force_login(users["director"])
    page = _text(client.get(url))
    assert "Proposed, waiting for the region" in page
    refused = client.post(
        url + f"commitments/{proposed.pk}/", {"decision": "withdraw", "reason": ""}, follow=True
    )
    assert "Give the reason for withdrawing the commitment." in _text(refused)
    client.post(url + f"commitments/{proposed.pk}/", {"decision": "accept", "reason": ""})
    proposed.refresh_from_db()
    assert proposed.status == "accepted"


def test_a_compact_outside_scope_or_unknown_is_not_found(client, people):
    icb, users = people
    other = IntegratedCareBoard.objects.exclude(region=icb.region).first()
    from oversight.compacts.services import create_compact

    create_compact(icb=other, financial_year="2025/26", actor="test")
    client.force_login(users["director"])
    assert client.get(URL.format(code=other.code)).status_code == 404
    assert client.get(URL.format(code=icb.code)).status_code == 404  # none yet
    assert client.get("/compacts/?year=1999/00").status_code == 404

"""The audit log page: national users only, filterable, and the API endpoint alike."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from systems import audit
from systems.models import Region, Role
from systems.services import grant_role

User = get_user_model()


@pytest.fixture
def people(db):
    region = Region.objects.create(
        ods_code="Y60", ons_code="E40000008", name="Midlands", short_name="Midlands"
    )
    national = User.objects.create_user("nat", password="x")
    grant_role(user=national, role=Role.NATIONAL, actor="setup", reason="Team lead")
    regional = User.objects.create_user("reg", password="x")
    grant_role(user=regional, role=Role.REGIONAL, region=region, actor=national, reason="Director")
    audit.record(
        actor="load_methodologies",
        action="methodology.loaded",
        object_type="x",
        object_id="7",
        object_repr="nof-2025-26",
        after={"version": 3},
        reason="File",
    )
    return {"national": national, "regional": regional}


def test_national_users_read_and_filter_the_audit_log(client, people):
    client.force_login(people["national"])
    html = client.get("/audit/").content.decode()
    assert "3 events" in html
    assert "role.granted" in html and "Director" in html and "methodology.loaded" in html
    html = client.get("/audit/?action=role.").content.decode()
    assert "2 events" in html and "methodology.loaded" not in html
    html = client.get("/audit/?actor=load_meth&object_id=7").content.decode()
    assert "1 event." in html and "nof-2025-26" in html
    html = client.get("/audit/?since=yesterday").content.decode()
    assert "is not a date as YYYY-MM-DD" in html


def test_others_do_not_find_the_audit_log(client, people):
    assert client.get("/audit/").status_code == 302
    client.force_login(people["regional"])
    assert client.get("/audit/").status_code == 404
    assert client.get("/api/v1/audit-events/").status_code == 404


def test_audit_endpoint_filters(client, people):
    client.force_login(people["national"])
    body = client.get("/api/v1/audit-events/?action=role.&ordering=at").json()
    assert [e["action"] for e in body["results"]] == ["role.granted", "role.granted"]
    assert body["results"][1]["reason"] == "Director"
    assert body["results"][1]["after"]["region"] == "Y60"
    assert client.get("/api/v1/audit-events/?actor=nat").json()["count"] == 1


def test_header_offers_the_audit_log_to_national_users_only(client, people):
    assert "Sign in" in client.get("/").content.decode()
    client.force_login(people["regional"])
    html = client.get("/").content.decode()
    assert "Sign out" in html and 'href="/audit/"' not in html
    client.force_login(people["national"])
    assert 'href="/audit/"' in client.get("/").content.decode()


def test_sign_in_and_out(client, people):
    page = client.get("/accounts/login/?next=/audit/").content.decode()
    assert 'name="username"' in page and 'name="next" value="/audit/"' in page
    bad = client.post("/accounts/login/", {"username": "nat", "password": "wrong"})
    assert "There is a problem" in bad.content.decode()
    good = client.post("/accounts/login/", {"username": "nat", "password": "x", "next": "/audit/"})
    assert good.status_code == 302 and good["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/audit/").status_code == 302


def test_changes_are_written_field_by_field_and_token_writes_are_hidden_by_default(client, people):
    audit.record(
        actor="nat",
        action="grant.confirmed",
        object_type="x",
        object_id="9",
        object_repr="capital-limits for RHA: live",
        before={"status": "proposed", "note": ""},
        after={"status": "live", "note": "", "scope": ["RHA", "RK5"]},
        reason="Met the criteria",
    )
    audit.record(actor="token ab12", action="api_token.used_for_write", after={"path": "/x"})
    client.force_login(people["national"])
    html = client.get("/audit/").content.decode()
    assert "<strong>status</strong>: proposed → live" in html
    assert "<strong>scope</strong>: RHA, RK5" in html
    assert "<strong>note</strong>" not in html  # unchanged
    assert "{&#x27;" not in html and "{'" not in html  # no Python dicts
    assert "api_token.used_for_write" not in html
    assert "api_token.used_for_write" in client.get("/audit/?tokens=1").content.decode()

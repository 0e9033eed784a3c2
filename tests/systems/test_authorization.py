"""Roles as data, scopes, tokens: ``has_permission`` and ``visible_organisations``."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command

from systems.authorization import (
    ROLE_PERMISSIONS,
    Permission,
    TokenUser,
    has_permission,
    visible_organisations,
)
from systems.models import (
    ApiToken,
    AuditEvent,
    IntegratedCareBoard,
    Organisation,
    Region,
    Role,
    RoleAssignment,
    Succession,
    Trust,
)
from systems.services import (
    AccessError,
    create_api_token,
    grant_role,
    revoke_api_token,
    revoke_role,
    token_from_raw,
)

User = get_user_model()
Q2_END = datetime.date(2025, 9, 30)


@pytest.fixture
def orgs(reference_data):
    own = Trust.objects.get(code="RHA")  # Nottinghamshire Healthcare (Midlands)
    return {
        "own": own,
        "icb": own.host_icb_on(Q2_END),
        "neighbour": Trust.objects.get(code="R1A"),  # Midlands, another ICB
        "other": Trust.objects.get(code="RKL"),  # London
    }


def person(name: str, role: str | None = None, **scope) -> User:
    user = User.objects.create_user(name, password="x")
    if role:
        grant_role(user=user, role=role, actor="test", **scope)
    return user


def test_permissions_are_data():
    assert set(Permission.values) >= {
        "view_all",
        "manage_methodologies",
        "pin_cut_points",
        "manage_programme",
        "manage_freedoms_catalogue",
        "manage_tokens",
        "manage_users",
        "view_audit",
        "upload_metrics",
        "sign_delegation_agreement",
        "decide_change_request",
        "raise_change_request",
        "confirm_freedom",
        "record_icb_segment",
        "manage_actions",
    }
    assert set(ROLE_PERMISSIONS) == set(Role.values)
    assert Permission.VIEW_ALL in ROLE_PERMISSIONS[Role.NATIONAL]
    assert Permission.DECIDE_CHANGE_REQUEST in ROLE_PERMISSIONS[Role.REGIONAL]
    assert Permission.RAISE_CHANGE_REQUEST in ROLE_PERMISSIONS[Role.ICB_ANALYST]
    assert Permission.UPLOAD_METRICS not in ROLE_PERMISSIONS[Role.REGIONAL]


def test_national_sees_and_manages_everything(orgs):
    user = person("nat", Role.NATIONAL)
    assert visible_organisations(user).count() == Organisation.objects.count()
    assert has_permission(user, Permission.MANAGE_TOKENS)
    assert has_permission(user, "view_audit")
    assert has_permission(user, Permission.VIEW_ORGANISATION, orgs["other"])
    assert not has_permission(user, Permission.SIGN_DELEGATION_AGREEMENT)


def test_regional_sees_its_region(orgs):
    user = person("reg", Role.REGIONAL, region=orgs["own"].region)
    visible = visible_organisations(user)
    assert set(visible.values_list("region_id", flat=True)) == {orgs["own"].region_id}
    assert visible.filter(pk=orgs["neighbour"].pk).exists()
    assert not visible.filter(pk=orgs["other"].pk).exists()
    assert has_permission(user, Permission.DECIDE_CHANGE_REQUEST, orgs["neighbour"])
    assert not has_permission(user, Permission.DECIDE_CHANGE_REQUEST, orgs["other"])
    assert not has_permission(user, Permission.UPLOAD_METRICS, orgs["own"])
    assert not has_permission(user, Permission.VIEW_AUDIT)


def test_icb_analyst_sees_the_icb_and_its_trusts(orgs):
    user = person("ana", Role.ICB_ANALYST, icb=orgs["icb"])
    visible = visible_organisations(user)
    assert visible.filter(pk=orgs["icb"].pk).exists()
    assert visible.filter(pk=orgs["own"].pk).exists()
    assert not visible.filter(pk=orgs["neighbour"].pk).exists()
    assert not visible.filter(pk=orgs["other"].pk).exists()
    hosted = Trust.objects.filter(icb_before_2026=orgs["icb"]) | Trust.objects.filter(
        icb_from_2026=orgs["icb"]
    )
    assert set(visible.filter(kind="trust").values_list("pk", flat=True)) >= set(
        hosted.values_list("pk", flat=True)
    )
    assert has_permission(user, Permission.UPLOAD_METRICS, orgs["own"])
    assert not has_permission(user, Permission.UPLOAD_METRICS, orgs["neighbour"])
    assert has_permission(user, Permission.RAISE_CHANGE_REQUEST, orgs["icb"])
    assert not has_permission(user, Permission.DECIDE_CHANGE_REQUEST, orgs["own"])


def test_an_icb_formed_by_merger_sees_its_predecessors_and_their_trusts(reference_data):
    merger = Succession.objects.filter(
        predecessor__kind="icb", successor__kind="icb", date=datetime.date(2026, 4, 1)
    ).first()
    assert merger is not None
    successor = IntegratedCareBoard.objects.get(pk=merger.successor_id)
    user = person("merged", Role.ICB_ANALYST, icb=successor)
    visible = visible_organisations(user)
    assert visible.filter(pk=merger.predecessor_id).exists()
    old_trust = Trust.objects.filter(icb_before_2026_id=merger.predecessor_id).first()
    if old_trust is not None:
        assert visible.filter(pk=old_trust.pk).exists()


def test_no_role_no_access(orgs):
    user = person("nobody")
    assert not visible_organisations(user).exists()
    assert not has_permission(user, Permission.VIEW_ORGANISATION)
    from django.contrib.auth.models import AnonymousUser

    assert not has_permission(AnonymousUser(), Permission.VIEW_ORGANISATION)
    inactive = person("gone", Role.NATIONAL)
    inactive.is_active = False
    assert not has_permission(inactive, Permission.VIEW_ALL)


def test_superuser_is_national(orgs):
    root = User.objects.create_superuser("root", password="x")
    assert has_permission(root, Permission.MANAGE_USERS)
    assert visible_organisations(root).count() == Organisation.objects.count()


def test_roles_are_granted_and_revoked_with_audit(orgs):
    admin = person("nat", Role.NATIONAL)
    user = person("reg")
    region = orgs["own"].region
    assignment = grant_role(
        user=user, role=Role.REGIONAL, region=region, actor=admin, reason="New director"
    )
    assert grant_role(user=user, role=Role.REGIONAL, region=region, actor=admin) == assignment
    event = AuditEvent.objects.get(action="role.granted", object_id=str(assignment.pk))
    assert event.actor == admin
    assert event.after["region"] == region.ods_code
    assert event.reason == "New director"
    revoke_role(assignment=assignment, actor=admin, reason="Moved on")
    user = User.objects.get(pk=user.pk)
    assert not has_permission(user, Permission.VIEW_ORGANISATION, orgs["own"])
    assert AuditEvent.objects.filter(action="role.revoked").count() == 1


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        (Role.NATIONAL, "region", "no region or ICB"),
        (Role.REGIONAL, None, "needs a region"),
        (Role.ICB_ANALYST, "region", "needs an ICB"),
        ("chief", None, "is not a role"),
    ],
)
def test_a_role_needs_the_right_scope(orgs, role, scope, message):
    kwargs = {"region": orgs["own"].region} if scope == "region" else {}
    with pytest.raises(AccessError, match=message):
        grant_role(user=person("x"), role=role, actor="test", **kwargs)


def test_tokens_are_hashed_shown_once_read_only_and_revocable(orgs):
    admin = person("nat", Role.NATIONAL)
    new = create_api_token(name="BI", role=Role.ICB_ANALYST, icb=orgs["icb"], actor=admin)
    token = ApiToken.objects.get(pk=new.token.pk)
    assert new.raw.startswith("nof_" + token.prefix + "_")
    assert new.raw not in (token.token_hash, token.prefix)
    assert len(token.token_hash) == 64
    assert token_from_raw(new.raw) == token
    assert token_from_raw(new.raw + "x") is None
    assert token_from_raw("nof_" + token.prefix + "_guess") is None
    caller = TokenUser(token)
    assert has_permission(caller, Permission.VIEW_ORGANISATION, orgs["own"])
    assert not has_permission(caller, Permission.VIEW_ORGANISATION, orgs["neighbour"])
    assert not has_permission(caller, Permission.UPLOAD_METRICS, orgs["own"])
    assert not has_permission(caller, Permission.RAISE_CHANGE_REQUEST, orgs["own"])
    revoke_api_token(token=token, actor=admin, reason="Contract ended")
    assert token_from_raw(new.raw) is None
    assert list(
        AuditEvent.objects.filter(object_type="systems.ApiToken")
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["api_token.created", "api_token.revoked"]


def test_a_token_may_be_granted_uploads_within_its_scope(orgs):
    new = create_api_token(
        name="Loader", role=Role.ICB_ANALYST, icb=orgs["icb"], can_upload=True, actor="test"
    )
    caller = TokenUser(new.token)
    assert has_permission(caller, Permission.UPLOAD_METRICS, orgs["own"])
    assert not has_permission(caller, Permission.UPLOAD_METRICS, orgs["other"])


def test_national_token_reads_everything_and_changes_nothing(orgs):
    caller = TokenUser(create_api_token(name="BI", role=Role.NATIONAL, actor="test").token)
    assert has_permission(caller, Permission.VIEW_ALL)
    assert has_permission(caller, Permission.VIEW_AUDIT)
    for permission in (
        Permission.MANAGE_TOKENS,
        Permission.MANAGE_USERS,
        Permission.UPLOAD_METRICS,
    ):
        assert not has_permission(caller, permission)


def test_commands_grant_roles_and_manage_tokens(orgs):
    person("dana")
    out = io.StringIO()
    call_command(
        "grant_role", "dana", "--role", "icb_analyst", "--icb", orgs["icb"].code, stdout=out
    )
    assert "Granted" in out.getvalue()
    assert RoleAssignment.objects.active().filter(user__username="dana").count() == 1
    with pytest.raises(CommandError, match="needs a region"):
        call_command("grant_role", "dana", "--role", "regional", stdout=io.StringIO())
    call_command(
        "grant_role",
        "dana",
        "--role",
        "icb_analyst",
        "--icb",
        orgs["icb"].code,
        "--revoke",
        stdout=io.StringIO(),
    )
    assert not RoleAssignment.objects.active().filter(user__username="dana").exists()

    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token",
        "--name",
        "BI tool",
        "--role",
        "regional",
        "--region",
        orgs["own"].region.ods_code,
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    token = token_from_raw(raw)
    assert token is not None and token.region == orgs["own"].region
    assert "not shown again" in err.getvalue()
    call_command("revoke_api_token", token.prefix, "--reason", "test", stdout=io.StringIO())
    assert token_from_raw(raw) is None
    with pytest.raises(CommandError, match="No token"):
        call_command("revoke_api_token", "nope", stdout=io.StringIO())


def test_passwords_are_hashed_with_argon2():
    assert make_password("correct horse battery staple").startswith("argon2$")


def test_admin_pages_for_roles_and_tokens_follow_has_permission(client, orgs):
    national = User.objects.create_user("nat-staff", password="x", is_staff=True)
    grant_role(user=national, role=Role.NATIONAL, actor="test")
    regional = User.objects.create_user("reg-staff", password="x", is_staff=True)
    grant_role(user=regional, role=Role.REGIONAL, region=Region.objects.first(), actor="test")
    client.force_login(national)
    assert client.get("/admin/systems/apitoken/").status_code == 200
    assert client.get("/admin/systems/roleassignment/").status_code == 200
    response = client.post(
        "/admin/systems/apitoken/add/",
        {"name": "From the admin", "role": "national", "region": "", "icb": ""},
    )
    assert response.status_code == 302
    token = ApiToken.objects.get(name="From the admin")
    assert AuditEvent.objects.filter(action="api_token.created", object_id=str(token.pk)).exists()
    client.force_login(regional)
    assert client.get("/admin/systems/apitoken/").status_code == 403


def test_oversight_admin_follows_has_permission(client, orgs):
    national = User.objects.create_user("nat-staff", password="x", is_staff=True)
    grant_role(user=national, role=Role.NATIONAL, actor="test")
    analyst = User.objects.create_user("ana-staff", password="x", is_staff=True)
    grant_role(user=analyst, role=Role.ICB_ANALYST, icb=orgs["icb"], actor="test")
    client.force_login(national)
    assert client.get("/admin/oversight/programmemembership/add/").status_code == 200
    assert client.get("/admin/oversight/segmentationrun/").status_code == 200
    assert client.get("/admin/systems/auditevent/").status_code == 200
    client.force_login(analyst)
    assert client.get("/admin/systems/auditevent/").status_code == 403
    assert client.get("/admin/oversight/programmemembership/").status_code == 403
    assert client.get("/admin/oversight/methodology/").status_code == 403

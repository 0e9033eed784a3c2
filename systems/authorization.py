"""Who may see and do what: permissions as data, checked in one place.

- :class:`Permission` lists every permission; :data:`ROLE_PERMISSIONS` says which ones each
  role holds. Changing what a role may do is an edit to that table.
- A person holds roles through :class:`~systems.models.RoleAssignment` rows (a role and a
  scope: a region or an ICB); an API token carries one role and scope itself and is
  read-only unless it was granted uploads.
- :func:`has_permission` is the only check views, API endpoints and admin actions use;
  :func:`visible_organisations` is the only answer to "which organisations may this user
  see". Anything outside them answers 404, so existence is not leaked.
- :data:`INPUT_AUTHORITY` says which permission each kind of input takes (metric values,
  supplied scores, flags, programme membership, CQC ratings, published results);
  :func:`upload_authority` and :func:`may_supply` apply it to files and to single entries.

See ``docs/adr/0009-roles-permissions-and-tokens.md`` and ``docs/adr/0017-input-authority.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404

from .actors import TokenUser
from .models import Organisation, Role, RoleAssignment, Succession, Trust

__all__ = [
    "INPUT_AUTHORITY",
    "Input",
    "Permission",
    "TokenUser",
    "has_permission",
    "input_refusal",
    "may_supply",
    "organisation_page_access",
    "people_who_see",
    "upload_authority",
    "visible_organisations",
]


class Permission(models.TextChoices):
    """Every permission in the product."""

    VIEW_ALL = "view_all", "See every organisation in England"
    VIEW_ORGANISATION = "view_organisation", "See organisations within the role's scope"
    VIEW_PUBLISHED_RESULTS = (
        "view_published_results",
        "See any organisation's published results (NHS England publishes them)",
    )
    MANAGE_METHODOLOGIES = "manage_methodologies", "Change methodologies, catalogue and periods"
    PIN_CUT_POINTS = "pin_cut_points", "Pin cut points"
    PUBLISH_RESULTS = "publish_results", "Publish a period's results (make a run official)"
    MANAGE_PROGRAMME = "manage_programme", "Change Provider Improvement Programme membership"
    MANAGE_FREEDOMS_CATALOGUE = "manage_freedoms_catalogue", "Change the freedoms catalogue"
    MANAGE_TOKENS = "manage_tokens", "Create and revoke API tokens"
    MANAGE_USERS = "manage_users", "Grant and revoke roles"
    VIEW_AUDIT = "view_audit", "Read the audit log"
    UPLOAD_METRICS = "upload_metrics", "Upload metric files"
    SUPPLY_OFFICIAL_INPUTS = (
        "supply_official_inputs",
        "Supply scores, the override flag, CQC ratings and NHS England's published results",
    )
    SIGN_DELEGATION_AGREEMENT = "sign_delegation_agreement", "Sign delegation agreements"
    DECIDE_CHANGE_REQUEST = "decide_change_request", "Decide commissioning change requests"
    RAISE_CHANGE_REQUEST = "raise_change_request", "Raise commissioning change requests"
    CONFIRM_FREEDOM = "confirm_freedom", "Confirm freedoms"
    RECORD_ICB_SEGMENT = "record_icb_segment", "Record ICB segments and capability views"
    MANAGE_ACTIONS = "manage_actions", "Record oversight actions"
    MANAGE_COMPACTS = (
        "manage_compacts",
        "Agree system compacts: meetings, commitments, support requested and their status",
    )
    PROPOSE_COMMITMENT = "propose_commitment", "Propose commitments for a system's compact"
    MANAGE_DELEGATION = (
        "manage_delegation",
        "Prepare delegation agreements, the services catalogue and collaboration arrangements",
    )

    @classmethod
    def all(cls) -> frozenset[Permission]:
        return frozenset(cls)


P = Permission

#: What each role may do. ``view_organisation`` is always checked against the holder's
#: scope; a national role's scope is all of England.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.NATIONAL: frozenset(
        {
            P.VIEW_ALL,
            P.VIEW_ORGANISATION,
            P.VIEW_PUBLISHED_RESULTS,
            P.MANAGE_METHODOLOGIES,
            P.PIN_CUT_POINTS,
            P.PUBLISH_RESULTS,
            P.MANAGE_PROGRAMME,
            P.MANAGE_FREEDOMS_CATALOGUE,
            P.MANAGE_TOKENS,
            P.MANAGE_USERS,
            P.VIEW_AUDIT,
            P.UPLOAD_METRICS,
            P.SUPPLY_OFFICIAL_INPUTS,
            P.RECORD_ICB_SEGMENT,
            P.MANAGE_DELEGATION,
            P.MANAGE_COMPACTS,
            P.PROPOSE_COMMITMENT,
        }
    ),
    Role.REGIONAL: frozenset(
        {
            P.VIEW_ORGANISATION,
            P.VIEW_PUBLISHED_RESULTS,
            P.SIGN_DELEGATION_AGREEMENT,
            P.DECIDE_CHANGE_REQUEST,
            P.CONFIRM_FREEDOM,
            P.RECORD_ICB_SEGMENT,
            P.MANAGE_ACTIONS,
            P.MANAGE_DELEGATION,
            P.MANAGE_PROGRAMME,
            P.MANAGE_COMPACTS,
            P.PROPOSE_COMMITMENT,
        }
    ),
    Role.ICB_ANALYST: frozenset(
        {
            P.VIEW_ORGANISATION,
            P.VIEW_PUBLISHED_RESULTS,
            P.UPLOAD_METRICS,
            P.RAISE_CHANGE_REQUEST,
            P.PROPOSE_COMMITMENT,
        }
    ),
    # Granted beside another role: what that role uploads may then also carry NHS England's
    # official inputs (it adds no organisations to anyone's upload scope).
    Role.DATA_STEWARD: frozenset({P.SUPPLY_OFFICIAL_INPUTS}),
}


class Input(models.TextChoices):
    """The kinds of input a metric file can carry."""

    VALUE = "value", "metric values"
    SCORE = "score", "supplied scores"
    OVERRIDE_FLAG = "override_flag", "the financial override flag (OF5004)"
    PROGRAMME = "programme", "Provider Improvement Programme membership (OF5007)"
    RATING = "rating", "CQC ratings"
    PUBLISHED = "published", "NHS England's published results"


#: Who may supply each kind of input, for an organisation: the permission it takes, held by
#: a role whose scope covers that organisation. The same rule applies on every path: a file,
#: the decisions page and the API (programme membership, CQC ratings).
INPUT_AUTHORITY: dict[str, str] = {
    Input.VALUE: P.UPLOAD_METRICS,
    Input.SCORE: P.SUPPLY_OFFICIAL_INPUTS,
    Input.OVERRIDE_FLAG: P.SUPPLY_OFFICIAL_INPUTS,
    Input.PROGRAMME: P.MANAGE_PROGRAMME,
    Input.RATING: P.SUPPLY_OFFICIAL_INPUTS,
    Input.PUBLISHED: P.SUPPLY_OFFICIAL_INPUTS,
}

#: What a token may do of its role's permissions: read only, plus, when it was granted
#: uploads, the inputs its role may supply.
TOKEN_READ_PERMISSIONS = frozenset({P.VIEW_ALL, P.VIEW_ORGANISATION, P.VIEW_AUDIT})
TOKEN_UPLOAD_PERMISSIONS = frozenset({P.UPLOAD_METRICS, *INPUT_AUTHORITY.values()})


@dataclass(frozen=True)
class Grant:
    """One role held for one scope (a region id, an ICB id, or neither for national)."""

    role: str
    permissions: frozenset[str]
    region_id: int | None = None
    icb_id: int | None = None

    @property
    def national(self) -> bool:
        """Its scope is all of England (a national role, a data steward)."""
        return self.region_id is None and self.icb_id is None


def grants(user: Any) -> tuple[Grant, ...]:
    """The roles ``user`` holds now (cached on the user object for the request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ()
    if not getattr(user, "is_active", False):
        return ()
    cached = getattr(user, "_oversight_grants", None)
    if cached is not None:
        return cached
    token = getattr(user, "api_token", None)
    if token is not None:
        if not token.is_active:
            found: tuple[Grant, ...] = ()
        else:
            role_permissions = ROLE_PERMISSIONS[token.role]
            permissions = role_permissions & TOKEN_READ_PERMISSIONS
            if token.can_upload and P.UPLOAD_METRICS in role_permissions:
                permissions |= role_permissions & TOKEN_UPLOAD_PERMISSIONS
            found = (Grant(token.role, permissions, token.region_id, token.icb_id),)
    elif user.is_superuser:
        found = (Grant(Role.NATIONAL, Permission.all()),)
    else:
        found = tuple(
            Grant(role, ROLE_PERMISSIONS[role], region_id, icb_id)
            for role, region_id, icb_id in RoleAssignment.objects.active()
            .filter(user=user)
            .values_list("role", "region_id", "icb_id")
        )
    user._oversight_grants = found
    return found


def _icb_scope_q(icb_ids: Iterable[int]) -> Q:
    """An ICB, the ICBs that merged into it, and the trusts any of them hosts (before or
    from April 2026: see :meth:`Trust.host_icb_on`)."""
    icb_ids = set(icb_ids)
    predecessors = set(
        Succession.objects.filter(successor_id__in=icb_ids).values_list("predecessor_id", flat=True)
    )
    icbs = icb_ids | predecessors
    trusts = Trust.objects.filter(Q(icb_before_2026__in=icbs) | Q(icb_from_2026__in=icbs))
    return Q(pk__in=icbs) | Q(pk__in=trusts.values("pk"))


def _scope_q(user_grants: Iterable[Grant]) -> Q | None:
    """A filter on :class:`Organisation` for the grants' scopes; ``None`` means everything."""
    user_grants = list(user_grants)
    if any(g.national for g in user_grants):
        return None
    regions = {g.region_id for g in user_grants if g.region_id}
    icbs = {g.icb_id for g in user_grants if g.icb_id}
    q = Q(pk__in=[])
    if regions:
        q |= Q(region_id__in=regions)
    if icbs:
        q |= _icb_scope_q(icbs)
    return q


def visible_organisations(user: Any) -> QuerySet[Organisation]:
    """The organisations ``user`` may see: everything for the national team, a region's
    organisations for a regional role, an ICB and the trusts it hosts for an ICB analyst."""
    viewing = [g for g in grants(user) if P.VIEW_ORGANISATION in g.permissions]
    if not viewing:
        return Organisation.objects.none()
    q = _scope_q(viewing)
    return Organisation.objects.all() if q is None else Organisation.objects.filter(q)


def scope_key(user) -> str:
    """A short text that is the same for any two callers who see the same organisations
    (for caching answers per scope)."""
    viewing = [g for g in grants(user) if P.VIEW_ORGANISATION in g.permissions]
    if not viewing:
        return "none"
    if any(g.national for g in viewing):
        return "national"
    return ";".join(sorted({f"{g.region_id or ''}/{g.icb_id or ''}" for g in viewing}))


def restrict_to_visible(queryset: QuerySet, user: Any, field: str = "organisation") -> QuerySet:
    """``queryset`` cut down to rows whose ``field`` is an organisation ``user`` may see."""
    viewing = [g for g in grants(user) if P.VIEW_ORGANISATION in g.permissions]
    if not viewing:
        return queryset.none()
    q = _scope_q(viewing)
    if q is None:
        return queryset
    return queryset.filter(**{f"{field}__in": Organisation.objects.filter(q).values("pk")})


def has_permission(user: Any, permission: str, organisation: Organisation | None = None) -> bool:
    """Whether ``user`` holds ``permission`` (for ``organisation``, when given: then the
    permission must come from a role whose scope includes it)."""
    permission = Permission(permission)
    holding = [g for g in grants(user) if permission in g.permissions]
    if not holding:
        return False
    if organisation is None:
        return True
    q = _scope_q(holding)
    if q is None:
        return True
    return Organisation.objects.filter(q, pk=organisation.pk).exists()


def may_supply(user: Any, kind: str, organisation: Organisation) -> bool:
    """Whether ``user`` may supply input ``kind`` (:class:`Input`) for ``organisation``."""
    return has_permission(user, INPUT_AUTHORITY[Input(kind)], organisation)


def input_refusal(kind: str) -> str:
    """Why a row of input ``kind`` was refused: the permission it takes and who holds it."""
    permission = Permission(INPUT_AUTHORITY[Input(kind)])
    holders = [Role(r).label for r, held in ROLE_PERMISSIONS.items() if permission in held]
    return (
        f"You may not supply {Input(kind).label} for this organisation: that takes the "
        f"permission '{permission.label}' for it, held by: {'; '.join(holders)}. Remove the "
        "row, or ask someone who holds it to supply it."
    )


def upload_authority(user: Any) -> dict[str, list[str] | None]:
    """For each kind of input ``user`` may put in a metric file, the organisation codes
    they may supply it for (``None``: any). Kinds they may not supply at all are absent.

    Only roles that grant uploads set whom a file may be about (never the union of every
    role held); a kind's own permission must also cover the organisation."""
    uploading = [g for g in grants(user) if P.UPLOAD_METRICS in g.permissions]
    if not uploading:
        return {}
    upload_q = _scope_q(uploading)
    authority: dict[str, list[str] | None] = {}
    for kind, permission in INPUT_AUTHORITY.items():
        holding = [g for g in grants(user) if permission in g.permissions]
        if not holding:
            continue
        kind_q = _scope_q(holding)
        if upload_q is None and kind_q is None:
            authority[kind] = None
            continue
        organisations = Organisation.objects.all()
        for q in (upload_q, kind_q):
            if q is not None:
                organisations = organisations.filter(q)
        authority[kind] = sorted(organisations.values_list("code", flat=True))
    return authority


def _icbs_covering(organisation: Organisation) -> set[int]:
    """The ICBs whose analysts' scope includes ``organisation`` (the inverse of
    :func:`_icb_scope_q`): the ICB itself or the trust's host ICBs, and their successors."""
    icbs = {organisation.pk}
    trust = Trust.objects.filter(pk=organisation.pk).first()
    if trust is not None:
        icbs = {i for i in (trust.icb_before_2026_id, trust.icb_from_2026_id) if i}
    successors = Succession.objects.filter(predecessor_id__in=icbs).values_list(
        "successor_id", flat=True
    )
    return icbs | set(successors)


def people_who_see(organisation: Organisation) -> QuerySet:
    """The active people who may see ``organisation``: the same grants and scopes as
    :func:`visible_organisations`, asked the other way round (revoked roles, inactive
    accounts and tokens never count)."""
    viewing_roles = [r for r, held in ROLE_PERMISSIONS.items() if P.VIEW_ORGANISATION in held]
    scope = Q(role=Role.NATIONAL) | Q(icb_id__in=_icbs_covering(organisation))
    if organisation.region_id is not None:
        scope |= Q(region_id=organisation.region_id)
    holders = RoleAssignment.objects.active().filter(scope, role__in=viewing_roles)
    return get_user_model().objects.filter(
        Q(pk__in=holders.values("user_id")) | Q(is_superuser=True), is_active=True
    )


def is_national(user: Any) -> bool:
    return has_permission(user, P.VIEW_ALL)


# --- Helpers for views --------------------------------------------------------------------


def require_permission(user: Any, permission: str, organisation: Organisation | None = None):
    """Raise 404 unless ``user`` holds ``permission`` (for ``organisation``)."""
    if not has_permission(user, permission, organisation):
        raise Http404("Not found.")


def get_visible_organisation_or_404(user: Any, **lookup: Any) -> Organisation:
    """The organisation matching ``lookup`` if ``user`` may see it; 404 otherwise. A code
    matches in any case (``rha`` is ``RHA``)."""
    if "code" in lookup:
        lookup["code__iexact"] = str(lookup.pop("code")).strip()
    found = visible_organisations(user).filter(**lookup).first()
    if found is None:
        raise Http404("Not found.")
    return found


def organisation_page_access(user: Any, code: str) -> tuple[Organisation, bool]:
    """The organisation with ``code`` (in any case) and whether all of its page is open to
    ``user`` (it is in their scope). Its published results (segment, average, metric
    values and scores, domain scores, league position, history) are open to everyone
    holding ``view_published_results``: NHS England publishes them. What is not published
    (actions, capability, decisions, freedoms, notes, uploads, provisional results) stays
    within scope. 404 for anyone else."""
    found = Organisation.objects.filter(code__iexact=code.strip()).first()
    if found is None:
        raise Http404("Not found.")
    if visible_organisations(user).filter(pk=found.pk).exists():
        return found, True
    if has_permission(user, Permission.VIEW_PUBLISHED_RESULTS):
        return found, False
    raise Http404("Not found.")


def permission_required(permission: str) -> Callable:
    """Decorator for function views: signed-in users without ``permission`` get a 404;
    people who are not signed in are sent to the login page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_permission(request.user, permission)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

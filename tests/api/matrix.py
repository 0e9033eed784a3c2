"""The role x endpoint x scope matrix: one line per endpoint or page.

``Entry(url_name, kwargs, allowed=…, out=…)``:

- ``kwargs``/``query`` name an object inside every scoped role's scope, with placeholders
  (``{own}``, ``{other}``, ``{period}``, ``{region}``, ``{icb}``, ``{run}``, ``{token}``:
  see ``tests/api/conftest.py``);
- ``allowed``: the roles that get ``ok`` (default 200); every other signed-in role and token
  gets 404 (existence is not leaked);
- ``out``: the same request for an object outside the scoped roles' scope (kwargs, or a
  query for a list): scoped roles get 404 on a detail, and never see ``hidden`` (default
  ``{other}``) in a list, which national roles do see;
- anonymous callers get 401 from the API, the login page from a page, ``ok`` if ``public``;
  pages do not read API tokens, so a token on a page is anonymous.

Every URL the project serves must have an entry (or be in ``NOT_CHECKED`` with a reason);
``test_matrix_covers_every_url`` fails otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .conftest import NATIONAL_ROLES, ROLES, SCOPED_ROLES

SIGNED_IN = frozenset(r for r in ROLES if r != "anonymous")
PEOPLE = frozenset({"national", "regional", "icb_analyst"})
NATIONAL = frozenset(NATIONAL_ROLES)
NATIONAL_PERSON = frozenset({"national"})


@dataclass(frozen=True)
class Entry:
    name: str
    kwargs: dict = field(default_factory=dict)
    allowed: frozenset = SIGNED_IN
    query: str = ""
    out: dict | str | None = None
    method: str = "get"
    data: dict | None = None
    ok: int = 200
    hidden: str = "{other}"
    public: bool = False
    page: bool = False
    outside_ok: bool = False  # scoped roles get ``ok`` outside their scope too

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.name}{' ' + self.query if self.query else ''}"


E = Entry
LIST_OF_OWN = "organisation={own}"

MATRIX: list[Entry] = [
    # --- API: organisations -----------------------------------------------------------
    E("api:region-list", out="", hidden="{other_region}"),
    E("api:region-detail", {"ods_code": "{region}"}, out={"ods_code": "{other_region}"}),
    E("api:icb-list", out="page_size=1000", hidden="{other_icb}"),
    E("api:icb-detail", {"code": "{icb}"}, out={"code": "{other_icb}"}),
    E("api:trust-list", out="page_size=1000"),
    E("api:trust-detail", {"code": "{own}"}, out={"code": "{other}"}),
    # --- API: methodologies, catalogue, periods (not organisation data: every role) ------
    E("api:methodology-list"),
    E("api:methodology-detail", {"slug": "nof-2025-26"}),
    E("api:metric-definition-list", query="methodology=nof-2025-26"),
    E("api:metric-definition-detail", {"pk": "{metric_definition}"}),
    E("api:period-list"),
    E("api:period-detail", {"slug": "{period}"}),
    # --- API: inputs and results --------------------------------------------------------
    E("api:metric-value-list", query="period={period}", out="period={period}&page_size=1000"),
    E("api:metric-value-detail", {"pk": "{own_value}"}, out={"pk": "{other_value}"}),
    E("api:run-list"),
    E("api:run-detail", {"pk": "{run}"}),
    E("api:run-preview", {"pk": "{provisional_run}"}),
    E(
        "api:run-publish",
        {"pk": "{provisional_run}"},
        method="post",
        allowed=NATIONAL_PERSON,
        data={"reason": "matrix"},
    ),
    E("api:assessment-list", query="period={period}", out="period={period}&page_size=1000"),
    E("api:league-table-list", query="period={period}&peer_group=mental-health-and-community"),
    E(
        "api:explanation",
        {"period": "{period}", "code": "{own}"},
        out={"period": "{period}", "code": "{other}"},
    ),
    E("api:me"),
    # --- API: uploads and the comparison with published results ---------------------------
    E("api:upload-list"),
    # Allowed callers reach the parser, which wants multipart (415 for this JSON body).
    E("api:upload-list", method="post", ok=415, allowed=frozenset({"national", "icb_analyst"})),
    E("api:reconciliation", query="period={period}"),
    # --- API: earned autonomy and the oversight response ---------------------------------
    E("api:freedom-list"),
    E("api:freedom-detail", {"slug": "aft-eligibility"}),
    E("api:grant-list"),
    E("api:evaluation-list"),
    E("api:action-list"),
    E("api:notification-list"),
    E("api:programme-list", out="page_size=1000"),
    E("api:programme-detail", {"pk": "{own_stay}"}, out={"pk": "{other_stay}"}),
    E(
        "api:programme-list",
        method="post",
        ok=201,
        allowed=frozenset({"national", "regional"}),
        data={"organisation": "{own}", "entered_on": "2026-02-01", "reason": "matrix"},
    ),
    E(
        "api:programme-leave",
        {"pk": "{own_stay}"},
        method="post",
        allowed=frozenset({"national", "regional"}),
        data={"left_on": "2026-03-01", "reason": "matrix"},
    ),
    E("api:capability-list", out="page_size=1000"),
    E("api:capability-detail", {"pk": "{own_capability}"}, out={"pk": "{other_capability}"}),
    E(
        "api:capability-list",
        method="post",
        ok=201,
        allowed=frozenset({"national", "regional"}),
        data={
            "organisation": "{own}",
            "financial_year": "2026/27",
            "assessor": "board",
            "overall": 2,
        },
    ),
    E("api:maturity-list", out="page_size=1000", hidden="{other_icb}"),
    E("api:maturity-detail", {"pk": "{own_maturity}"}, out={"pk": "{other_maturity}"}),
    E(
        "api:maturity-list",
        method="post",
        ok=201,
        allowed=frozenset({"national", "regional"}),
        data={
            "icb": "{icb}",
            "assessed_on": "2026-06-30",
            "ratings": {
                "partnership-board": "maturing",
                "leader-capacity": "maturing",
                "non-executive-chair": "maturing",
                "capabilities": "maturing",
                "financial-decisions": "maturing",
                "streamlined-commissioning": "maturing",
                "capital-estates": "thriving",
            },
        },
    ),
    E("api:compact-list", out="page_size=1000", hidden="{other_icb}"),
    E("api:compact-detail", {"pk": "{own_compact}"}, out={"pk": "{other_compact}"}),
    E(
        "api:compact-list",
        method="post",
        ok=201,
        allowed=frozenset({"national", "regional"}),
        data={"icb": "{icb}", "financial_year": "2026/27"},
    ),
    E(
        "api:compact-meetings",
        {"pk": "{own_compact}"},
        method="post",
        ok=201,
        allowed=frozenset({"national", "regional"}),
        data={"held_on": "2025-03-01", "attendees": [{"name": "A", "role": "Chair"}]},
    ),
    E(
        "api:compact-status",
        {"pk": "{own_compact}"},
        method="post",
        allowed=frozenset({"national", "regional"}),
        data={"to": "agreed", "reason": "Agreed at the meeting"},
    ),
    E(
        "api:compact-support",
        {"pk": "{own_compact}"},
        method="post",
        ok=201,
        allowed=PEOPLE,
        data={"description": "Elective recovery support"},
    ),
    E(
        "api:compact-support-status",
        {"pk": "{own_compact}"},
        method="post",
        allowed=frozenset({"national", "regional"}),
        data={"support": "{own_support}", "status": "agreed", "reason": "Agreed"},
    ),
    E("api:commitment-list", out="page_size=1000", hidden="{other_icb}"),
    E(
        "api:commitment-detail",
        {"pk": "{own_commitment}"},
        out={"pk": "{other_commitment}"},
    ),
    E(
        "api:commitment-list",
        method="post",
        ok=201,
        allowed=PEOPLE,
        data={
            "compact": "{own_compact}",
            "organisation": "{icb}",
            "title": "Ten more beds",
            "accountable_name": "A",
            "accountable_role": "Chief executive",
        },
    ),
    E(
        "api:commitment-decide",
        {"pk": "{own_commitment}"},
        method="post",
        allowed=frozenset({"national", "regional"}),
        data={"decision": "withdraw", "reason": "Superseded"},
    ),
    E("api:cqc-rating-list", out="page_size=1000"),
    E("api:cqc-rating-detail", {"pk": "{own_cqc}"}, out={"pk": "{other_cqc}"}),
    E(
        "api:cqc-rating-list",
        method="post",
        ok=201,
        allowed=NATIONAL_PERSON,
        data={"organisation": "{own}", "rating": "Outstanding", "published_on": "2026-06-01"},
    ),
    # --- API: delegated specialised services ---------------------------------------------
    E("api:specialised-service-list"),
    E("api:specialised-service-detail", {"pk": "{service}"}),
    E("api:delegation-timeline-list"),
    E("api:delegation-timeline-detail", {"pk": "{timeline}"}),
    E("api:delegation-agreement-list", out="page_size=1000", hidden="{other_icb}"),
    E(
        "api:delegation-agreement-detail",
        {"pk": "{own_agreement}"},
        out={"pk": "{other_agreement}"},
    ),
    E(
        "api:delegation-agreement-list",
        method="post",
        ok=201,
        allowed=frozenset({"national", "regional"}),
        data={"icb": "{icb}", "financial_year": "2024/25"},
    ),
    E(
        "api:delegation-agreement-sign",
        {"pk": "{own_draft}"},
        method="post",
        allowed=frozenset({"regional"}),
        data={},
    ),
    E("api:condition-list", out="page_size=1000", hidden="{other_icb}"),
    E("api:condition-detail", {"pk": "{own_condition}"}, out={"pk": "{other_condition}"}),
    E("api:icb-segment-list", out="page_size=1000", hidden="{other_icb}"),
    E("api:icb-segment-detail", {"pk": "{own_segment}"}, out={"pk": "{other_segment}"}),
    E(
        "api:icb-segment-list",
        method="post",
        ok=201,
        allowed=frozenset({"national", "regional"}),
        data={"icb": "{icb}", "segment": 2, "source": "matrix"},
    ),
    E("api:change-request-list", out="page_size=1000", hidden="{other_icb}"),
    E("api:change-request-detail", {"pk": "{own_request}"}, out={"pk": "{other_request}"}),
    E(
        "api:change-request-list",
        method="post",
        ok=201,
        allowed=frozenset({"icb_analyst"}),
        data={
            "icb": "{icb}",
            "services": ["{service_name}"],
            "title": "Matrix",
            "description": "A change",
            "annual_spend_effect": "1000.00",
            "changes_overall_spend": True,
            "intended_start": "2026-01-05",
        },
    ),
    E(
        "api:change-request-decide",
        {"pk": "{own_request}"},
        method="post",
        allowed=frozenset({"regional"}),
        data={"decision": "approve", "reason": "matrix"},
    ),
    E(
        "api:change-request-start",
        {"pk": "{own_noted_request}"},
        method="post",
        allowed=frozenset({"regional", "icb_analyst"}),
        data={},
    ),
    E("api:collaboration-list", out="page_size=1000", hidden="{other_icb}"),
    E("api:collaboration-detail", {"pk": "{own_collab}"}, out={"pk": "{other_collab}"}),
    # --- API: national administration --------------------------------------------------
    E("api:token-list", allowed=NATIONAL_PERSON),
    E("api:token-detail", {"pk": "{token}"}, allowed=NATIONAL_PERSON),
    E(
        "api:token-list",
        method="post",
        ok=201,
        allowed=NATIONAL_PERSON,
        data={"name": "Matrix", "role": "regional", "region": "{region}"},
    ),
    E(
        "api:token-revoke",
        {"pk": "{token}"},
        method="post",
        allowed=NATIONAL_PERSON,
        data={"reason": "matrix"},
    ),
    E("api:audit-event-list", allowed=NATIONAL),
    E("api:audit-event-detail", {"pk": "{audit_event}"}, allowed=NATIONAL),
    # --- API: schema and documentation (public: they hold no data) -----------------------
    E("api:schema", public=True),
    E("api:docs", public=True),
    # --- Pages ----------------------------------------------------------------------------
    E("systems:home", public=True, page=True),
    E("systems:login", public=True, page=True),
    E("systems:search", query="q=notting", public=True, page=True),
    # Each signed-in person is sent on to their own starting page.
    E("systems:start", allowed=SIGNED_IN, ok=302, page=True),
    E("systems:logout", method="post", ok=302, public=True, page=True),
    E("systems:audit", allowed=NATIONAL_PERSON, page=True),
    E("notifications:inbox", allowed=PEOPLE, page=True),
    E("notifications:settings", allowed=PEOPLE, page=True),
    E("uploads:list", allowed=PEOPLE, page=True),
    E("dashboards:national", allowed=PEOPLE, page=True),
    E(
        "dashboards:region",
        {"ods_code": "{region}"},
        allowed=PEOPLE,
        page=True,
        out={"ods_code": "{other_region}"},
    ),
    # Published results are open to every signed-in person (NHS England publishes them);
    # the rest of the page stays within scope (tests/dashboards/test_public_results.py).
    E(
        "dashboards:organisation",
        {"code": "{own}"},
        allowed=PEOPLE,
        page=True,
        out={"code": "{other}"},
        outside_ok=True,
    ),
    E("dashboards:league", allowed=PEOPLE, page=True),
    E("dashboards:run", {"pk": "{provisional_run}"}, allowed=PEOPLE, page=True),
    E(
        "dashboards:publish",
        {"pk": "{provisional_run}"},
        method="post",
        ok=302,
        page=True,
        allowed=NATIONAL_PERSON,
        data={"reason": "matrix"},
    ),
    E("uploads:template", allowed=PEOPLE, page=True),
    E("uploads:template_xlsx", allowed=PEOPLE, page=True),
    E("uploads:metrics", allowed=PEOPLE, page=True),
    E("uploads:reconciliation", allowed=PEOPLE, page=True),
    E(
        "autonomy:decisions",
        {"code": "{own}"},
        allowed=PEOPLE,
        page=True,
        out={"code": "{other}"},
    ),
    E(
        "autonomy:programme",
        {"code": "{own}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "autonomy:capability",
        {"code": "{own}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "autonomy:maturity",
        {"code": "{icb}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E("autonomy:cqc", {"code": "{own}"}, method="post", ok=302, page=True, allowed=NATIONAL_PERSON),
    E("compacts:list", allowed=PEOPLE, page=True),
    E(
        "compacts:open",
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "compacts:compact",
        {"code": "{icb}", "year": "2025-26"},
        allowed=PEOPLE,
        page=True,
        out={"code": "{other_icb}", "year": "2025-26"},
    ),
    E(
        "compacts:meeting",
        {"code": "{icb}", "year": "2025-26"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "compacts:commitment",
        {"code": "{icb}", "year": "2025-26"},
        method="post",
        ok=302,
        page=True,
        allowed=PEOPLE,
    ),
    E(
        "compacts:decide",
        {"code": "{icb}", "year": "2025-26", "pk": "{own_commitment}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "compacts:support",
        {"code": "{icb}", "year": "2025-26"},
        method="post",
        ok=302,
        page=True,
        allowed=PEOPLE,
    ),
    E(
        "compacts:support-update",
        {"code": "{icb}", "year": "2025-26", "pk": "{own_support}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "compacts:status",
        {"code": "{icb}", "year": "2025-26"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E("delegation:matrix", allowed=PEOPLE, page=True),
    E(
        "delegation:agreement",
        {"pk": "{own_agreement}"},
        allowed=PEOPLE,
        page=True,
        out={"pk": "{other_agreement}"},
    ),
    E(
        "delegation:sign",
        {"pk": "{own_draft}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"regional"}),
    ),
    E(
        "delegation:in-force",
        {"pk": "{own_draft}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "delegation:add-arrangement",
        {"pk": "{own_agreement}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "delegation:new-agreement",
        {"code": "{icb}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"national", "regional"}),
    ),
    E(
        "delegation:icb",
        {"code": "{icb}"},
        allowed=PEOPLE,
        page=True,
        out={"code": "{other_icb}"},
    ),
    E(
        "delegation:new-change-request",
        {"code": "{icb}"},
        page=True,
        allowed=frozenset({"icb_analyst"}),
    ),
    E(
        "delegation:change-request",
        {"pk": "{own_request}"},
        allowed=PEOPLE,
        page=True,
        out={"pk": "{other_request}"},
    ),
    E(
        "delegation:decide",
        {"pk": "{own_request}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"regional"}),
    ),
    E(
        "delegation:start",
        {"pk": "{own_noted_request}"},
        method="post",
        ok=302,
        page=True,
        allowed=frozenset({"regional", "icb_analyst"}),
    ),
    E(
        "delegation:approvals",
        {"ods_code": "{region}"},
        allowed=PEOPLE,
        page=True,
        out={"ods_code": "{other_region}"},
    ),
]

#: URLs the matrix does not check, and why.
NOT_CHECKED: dict[str, str] = {
    "healthz": "infrastructure health check, public by design (no data)",
    "api:not-found": "unknown paths under /api/: the JSON 404 body (tests/api/test_api.py)",
    # One upload is seen by its uploader and the national team: tests/uploads/test_pages.py
    # and tests/uploads/test_api.py check each of these for owner, national, other, anonymous.
    "uploads:detail": "per-uploader scope: tests/uploads/test_pages.py",
    "uploads:status": "per-uploader scope: tests/uploads/test_pages.py",
    "uploads:report": "per-uploader scope: tests/uploads/test_pages.py",
    "uploads:retry": "per-uploader scope: tests/uploads/test_pages.py",
    "api:upload-detail": "per-uploader scope: tests/uploads/test_api.py",
    "api:upload-retry": "per-uploader scope: tests/uploads/test_api.py",
    # Grants, evaluations and actions exist only after runs with the autonomy policy loaded:
    # tests/oversight/test_autonomy_api.py checks them in and out of scope.
    "api:grant-detail": "scoped like organisations: tests/oversight/test_autonomy_api.py",
    "api:grant-decide": "confirm_freedom in scope: tests/oversight/test_autonomy_api.py",
    "api:evaluation-detail": "scoped like organisations: tests/oversight/test_autonomy_api.py",
    "api:action-detail": "scoped like organisations: tests/oversight/test_autonomy_api.py",
    "api:action-close": "manage_actions in scope: tests/oversight/test_autonomy_api.py",
    "api:grant-aft-step": "national users, AFT grants only: tests/oversight/test_autonomy_api.py",
    "autonomy:aft": "national users, AFT grants only: tests/oversight/test_decisions.py",
    "dashboards:decide-grant": "confirm_freedom in scope: tests/oversight/test_autonomy.py",
    "dashboards:close-action": "manage_actions in scope: tests/oversight/test_autonomy.py",
    "notifications:read": "one's own notices only: tests/oversight/test_notifications.py",
    "notifications:read-all": "one's own notices only: tests/oversight/test_notifications.py",
}
#: Namespaces the matrix does not check, and why.
NOT_CHECKED_NAMESPACES: dict[str, str] = {
    "admin": "Django admin: staff only; its model pages check has_permission (tests/systems)",
}
#: Pages other capabilities are adding; they move into MATRIX as their scope rules land.
AWAITING_ENTRIES: dict[str, str] = {}

__all__ = ["MATRIX", "NOT_CHECKED", "SCOPED_ROLES", "Entry"]

"""A small universe for the API tests, built once for the package through the real services:
the reference organisations, the shipped methodologies, the worked example segmented for
Q2 2025/26, and one person or token for each role.

- ``own`` (RHA, Nottinghamshire Healthcare) is inside every scoped role's scope;
- ``neighbour`` (R1A, Herefordshire and Worcestershire) is in the same region but hosted by
  another ICB: the regional role sees it, the ICB analyst does not;
- ``other`` (RKL, West London) is in another region: only national roles see it.

Each test runs in a transaction that is rolled back, so tests may change the universe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

ROLES = ("anonymous", "national", "regional", "icb_analyst", "national_token", "icb_token")
SCOPED_ROLES = ("regional", "icb_analyst", "icb_token")
NATIONAL_ROLES = ("national", "national_token")


@dataclass
class Universe:
    own: str = "RHA"
    neighbour: str = "R1A"
    other: str = "RKL"
    period: str = "2025-26-q2"
    region: str = ""
    icb: str = ""
    other_region: str = ""
    other_icb: str = ""
    run_id: int = 0
    token_id: int = 0
    ids: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    raw_tokens: dict = field(default_factory=dict)

    def client(self, role: str) -> Client:
        client = Client()
        if role in self.users:
            client.force_login(self.users[role])
        elif role in self.raw_tokens:
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {self.raw_tokens[role]}"
        return client

    @property
    def placeholders(self) -> dict[str, str]:
        return {
            "own": self.own,
            "neighbour": self.neighbour,
            "other": self.other,
            "period": self.period,
            "region": self.region,
            "icb": self.icb,
            "run": str(self.run_id),
            "token": str(self.token_id),
            "other_region": self.other_region,
            "other_icb": self.other_icb,
            **{name: str(pk) for name, pk in self.ids.items()},
        }


def build_universe() -> Universe:
    from django.contrib.auth import get_user_model

    from oversight.autonomy.policy import load_autonomy_policy
    from oversight.inputs import record_inputs
    from oversight.models import MetricDefinition, MetricValue, ReportingPeriod
    from oversight.runs import run_segmentation
    from oversight.services import load_methodologies, pin_cut_points
    from systems.models import AuditEvent, Role, Trust
    from systems.services import create_api_token, grant_role, load_reference_data
    from tests.conftest import EXAMPLES, nhse_file_rows

    load_reference_data()
    load_methodologies()
    load_autonomy_policy(actor="test")
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    example = EXAMPLES / "nof-synthetic-mhc-q2-2025-26.csv"
    record_inputs(
        period=period, rows=nhse_file_rows(example, period), source=example.name, actor="test"
    )
    period = pin_cut_points(
        period=period, cut_points=(2.00, 2.35, 2.70), reason="Worked example", actor="test"
    )
    run = run_segmentation(period=period, actor="test", replicates=50, publish=True, reason="test")
    provisional = run_segmentation(period=period, actor="test", replicates=0)

    own = Trust.objects.get(code="RHA")
    icb = own.host_icb_on(period.end_date)
    other = Trust.objects.get(code="RKL")
    universe = Universe(
        region=own.region.ods_code,
        icb=icb.code,
        run_id=run.pk,
        other_region=other.region.ods_code,
        other_icb=other.host_icb_on(period.end_date).code,
    )
    values = MetricValue.objects.filter(period=period)
    universe.ids["own_value"] = values.filter(organisation=own).first().pk
    universe.ids["other_value"] = values.filter(organisation=other).first().pk
    universe.ids["metric_definition"] = MetricDefinition.objects.first().pk
    universe.ids["provisional_run"] = provisional.pk
    User = get_user_model()
    admin = User.objects.create_user("national-admin", password="unused-in-tests")
    grant_role(user=admin, role=Role.NATIONAL, actor="test")
    universe.users["national"] = admin
    regional = User.objects.create_user("regional-director", password="unused-in-tests")
    grant_role(user=regional, role=Role.REGIONAL, region=own.region, actor="test")
    universe.users["regional"] = regional
    analyst = User.objects.create_user("icb-analyst", password="unused-in-tests")
    grant_role(user=analyst, role=Role.ICB_ANALYST, icb=icb, actor="test")
    universe.users["icb_analyst"] = analyst
    national_token = create_api_token(name="BI tool", role=Role.NATIONAL, actor=admin)
    universe.raw_tokens["national_token"] = national_token.raw
    universe.token_id = national_token.token.pk
    icb_token = create_api_token(name="ICB system", role=Role.ICB_ANALYST, icb=icb, actor=admin)
    universe.raw_tokens["icb_token"] = icb_token.raw
    _delegation(universe, own_icb=icb, other_icb=other.host_icb_on(period.end_date))
    _maturity(universe, own_icb=icb, other_icb=other.host_icb_on(period.end_date))
    _compacts(universe, own_icb=icb, other_icb=other.host_icb_on(period.end_date))
    _oversight_decisions(universe, own=own, other=other)
    universe.ids["audit_event"] = AuditEvent.objects.order_by("-id").first().pk
    return universe


def _oversight_decisions(universe: Universe, *, own, other) -> None:
    """A programme stay, a capability assessment and a CQC rating for each side."""
    import datetime

    from oversight.autonomy.services import enter_programme, record_capability, record_cqc_rating

    for side, org in (("own", own), ("other", other)):
        universe.ids[f"{side}_stay"] = enter_programme(
            organisation=org, entered_on=datetime.date(2025, 11, 1), reason="test", actor="test"
        ).pk
        universe.ids[f"{side}_capability"] = record_capability(
            organisation=org,
            financial_year="2025/26",
            assessor="region",
            areas={},
            overall=2,
            actor="test",
        ).pk
        universe.ids[f"{side}_cqc"] = record_cqc_rating(
            organisation=org, rating="Good", published_on=datetime.date(2024, 5, 1), actor="test"
        ).pk


def _maturity(universe: Universe, *, own_icb, other_icb) -> None:
    """A system maturity assessment for the own and the other ICB."""
    import datetime

    from oversight.autonomy.maturity import maturity_policy, record_maturity_assessment

    _, criteria = maturity_policy()
    for side, icb in (("own", own_icb), ("other", other_icb)):
        universe.ids[f"{side}_maturity"] = record_maturity_assessment(
            icb=icb,
            assessed_on=datetime.date(2026, 3, 31),
            ratings={c["slug"]: "developing" for c in criteria},
            actor="test",
        ).pk


def _compacts(universe: Universe, *, own_icb, other_icb) -> None:
    """A draft 2025/26 compact for the own and the other system, each with a meeting, a
    commitment in it and a support request."""
    import datetime

    from oversight.compacts.services import (
        create_compact,
        propose_commitment,
        record_meeting,
        request_support,
    )

    for side, icb in (("own", own_icb), ("other", other_icb)):
        compact = create_compact(icb=icb, financial_year="2025/26", actor="test")
        record_meeting(
            compact=compact,
            held_on=datetime.date(2025, 3, 20),
            attendees=[{"name": "A Chair", "role": "Chair"}],
            actor="test",
        )
        universe.ids[f"{side}_compact"] = compact.pk
        universe.ids[f"{side}_commitment"] = propose_commitment(
            compact=compact,
            organisation=icb,
            title="A commitment",
            accountable_name="A",
            accountable_role="Chief executive",
            actor="test",
        ).pk
        universe.ids[f"{side}_support"] = request_support(
            compact=compact, description="Help", owner="Region", actor="test"
        ).pk


def _delegation(universe: Universe, *, own_icb, other_icb) -> None:
    """Agreements in force for the own and the other ICB (both in segment 3, so under the
    condition), a draft for next year, change requests, segments and collaborations."""
    import datetime

    from delegation.models import DelegationTimeline, SpecialisedService
    from delegation.services import (
        bring_into_force,
        create_agreement,
        create_collaboration,
        load_delegation_data,
        raise_change_request,
        record_icb_segment,
        record_signature_made_elsewhere,
    )
    from systems.models import IntegratedCareBoard

    load_delegation_data(actor="test")
    service = SpecialisedService.objects.get(name="Adult critical care")
    universe.ids["service"] = service.pk
    universe.ids["timeline"] = DelegationTimeline.objects.first().pk
    universe.ids["service_name"] = service.name
    for side, board in (("own", own_icb), ("other", other_icb)):
        agreement = create_agreement(actor="test", icb=board, financial_year="2025/26")
        record_signature_made_elsewhere(
            actor="test",
            agreement=agreement,
            signatory="director",
            signed_on=datetime.date(2025, 3, 20),
        )
        bring_into_force(actor="test", agreement=agreement)
        segment = record_icb_segment(
            actor="test", icb=board, segment=3, source="matrix", as_of=datetime.date(2025, 9, 30)
        )
        universe.ids[f"{side}_agreement"] = agreement.pk
        universe.ids[f"{side}_segment"] = segment.pk
        universe.ids[f"{side}_condition"] = agreement.conditions.get().pk
        fields = {
            "actor": "test",
            "icb": board,
            "services": [service],
            "title": "More beds",
            "description": "Four more beds",
            "annual_spend_effect": "1000000",
            "intended_start": datetime.date(2026, 1, 5),
        }
        universe.ids[f"{side}_request"] = raise_change_request(
            **fields, changes_overall_spend=True
        ).pk
        universe.ids[f"{side}_noted_request"] = raise_change_request(
            **fields, changes_overall_spend=False
        ).pk
    universe.ids["own_draft"] = create_agreement(
        actor="test", icb=own_icb, financial_year="2026/27"
    ).pk
    neighbour = (
        IntegratedCareBoard.objects.filter(region=own_icb.region).exclude(pk=own_icb.pk).first()
    )
    other_neighbour = (
        IntegratedCareBoard.objects.filter(region=other_icb.region).exclude(pk=other_icb.pk).first()
    )
    universe.ids["own_collab"] = create_collaboration(
        actor="test",
        name="Own",
        kind="joint_committee",
        members=[own_icb, neighbour],
        formed_on=datetime.date(2024, 4, 1),
    ).pk
    universe.ids["other_collab"] = create_collaboration(
        actor="test",
        name="Other",
        kind="joint_committee",
        members=[other_icb, other_neighbour],
        formed_on=datetime.date(2024, 4, 1),
    ).pk


def _empty_tables() -> None:
    tables = [
        t
        for t in connection.introspection.django_table_names(only_existing=True)
        if t.split("_", 1)[0] in ("systems", "oversight", "delegation", "auth", "django")
        and t not in ("django_migrations", "django_content_type", "auth_permission")
    ]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")


@pytest.fixture(scope="package")
def universe(django_db_setup, django_db_blocker) -> Universe:
    with django_db_blocker.unblock():
        try:
            yield build_universe()
        finally:
            _empty_tables()


@pytest.fixture
def api(universe, db):
    """The universe, inside a test transaction, with fresh throttle counters."""
    cache.clear()
    return universe

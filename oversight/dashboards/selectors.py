"""Reads for dashboards, each a fixed number of queries whatever the number of rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from delegation.selectors import icb_delegation_status
from systems.authorization import Permission, grants, is_national, visible_organisations
from systems.models import Organisation, Region, Trust, host_icb_field

from .. import selectors as oversight_selectors
from ..cut_points import format_cut_points
from ..demo import DEMO_SOURCE
from ..engine.movement import Movement
from ..models import (
    ActionStatus,
    FreedomGrant,
    GrantStatus,
    InputKind,
    MaturityAssessment,
    MetricValue,
    OrganisationAssessment,
    OversightAction,
    ReportingPeriod,
    SegmentationRun,
    SupportLevel,
    period_slug,
)
from ..selectors import cut_points_for, latest_maturity, movements

ASSESSMENT_FIELDS = (
    "organisation_id",
    "organisation__code",
    "organisation__name",
    "organisation__kind",
    "organisation__region_id",
    "organisation__region__name",
    "peer_group",
    "average_score",
    "unadjusted_segment",
    "adjusted_segment",
    "final_segment",
    "financial_override",
    "in_programme",
    "segmented",
    "league_rank",
    "metric_count",
)


@dataclass
class PeriodPair:
    periods: list[ReportingPeriod]
    current: ReportingPeriod | None
    previous: ReportingPeriod | None
    # Show the period's newest (provisional) run instead of its published one.
    provisional: bool = False
    problem: str = ""  # why the period asked for is not the one shown

    @property
    def synthetic(self) -> bool:
        return bool(self.current) and is_synthetic(self.current)

    @property
    def run(self) -> SegmentationRun | None:
        """The run whose results the page shows: the published one unless provisional
        results were asked for (``None`` when the period has no such run)."""
        if self.current is None:
            return None
        if self.provisional and self.current.latest_run is not None:
            return self.current.latest_run
        return self.current.current_run

    @property
    def current_run_id(self) -> int | None:
        """The run whose results the page shows (``None`` before any)."""
        return self.run.pk if self.run else None

    @property
    def previous_run_id(self) -> int | None:
        """The published run of the period before, to compare with (``None`` without)."""
        return self.previous.current_run_id if self.previous else None

    @property
    def has_provisional(self) -> bool:
        """The period has a newer run than its published one."""
        c = self.current
        return bool(c and c.latest_run_id and c.latest_run_id != c.current_run_id)

    def run_id_of(self, period: ReportingPeriod) -> int | None:
        """The run shown for ``period``: this pair's for the period shown, else published."""
        if self.current is not None and period.pk == self.current.pk:
            return self.current_run_id
        return period.current_run_id


def segmented_periods(chosen: str = "", run: str = "") -> PeriodPair:
    """Periods with results; the chosen one (default the latest) and the one before.
    ``run="provisional"`` shows the chosen period's newest run instead of its published
    one."""
    periods = list(
        ReportingPeriod.objects.filter(Q(current_run__isnull=False) | Q(latest_run__isnull=False))
        .select_related("current_run", "latest_run")
        .order_by("start_date")
    )
    provisional = run.strip().lower() in ("provisional", "latest")
    if not periods:
        return PeriodPair([], None, None, provisional)
    try:
        slug = period_slug(chosen) if chosen.strip() else ""
    except ValueError:
        slug = None
    current = next((p for p in periods if p.slug == slug), None)
    problem = ""
    if chosen.strip() and current is None:
        problem = (
            f"There are no results for the period '{chosen[:40]}'"
            + ("" if slug is not None else " (write it as Q2 2025/26 or 2025-26-q2)")
            + f": showing {periods[-1].label}, the latest."
        )
    current = current or periods[-1]
    index = periods.index(current)
    pair = PeriodPair(periods, current, periods[index - 1] if index else None, provisional)
    pair.problem = problem
    return pair


def is_synthetic(period: ReportingPeriod) -> bool:
    """True when the period's inputs are the synthetic demonstration values."""
    return MetricValue.objects.filter(period=period, source=DEMO_SOURCE).exists()


def assessment_rows(run_id: int | None, organisations: QuerySet | None = None) -> dict[int, dict]:
    if not run_id:
        return {}
    rows = OrganisationAssessment.objects.filter(run_id=run_id)
    if organisations is not None:
        rows = rows.filter(organisation__in=organisations)
    return {r["organisation_id"]: r for r in rows.values(*ASSESSMENT_FIELDS)}


def assessments_of(pair: PeriodPair) -> tuple[dict[int, dict], dict[int, dict]]:
    """The assessment rows of the period shown and of the period before (empty without)."""
    return assessment_rows(pair.current_run_id), assessment_rows(pair.previous_run_id)


def scope_of(user: Any) -> QuerySet[Organisation] | None:
    """``None`` for national users (everything), otherwise the visible organisations."""
    return None if is_national(user) else visible_organisations(user)


def visible_ids(user: Any) -> set[int] | None:
    """``None`` for national users (everything), otherwise the ids of the organisations
    they may see."""
    scope = scope_of(user)
    return None if scope is None else set(scope.values_list("pk", flat=True))


@dataclass
class RegionScope:
    """A region and those of its organisations a person may see."""

    region: Region
    organisations: QuerySet[Organisation]
    ids: set[int]

    def icb_ids(self) -> list[int]:
        """The ICBs among them (one query)."""
        return list(self.organisations.filter(kind="icb").values_list("pk", flat=True))


def region_in_scope(user: Any, ods_code: str) -> RegionScope:
    """The region and those of its organisations ``user`` may see; 404 when the region does
    not exist or they may see none of it."""
    region = get_object_or_404(Region, ods_code__iexact=ods_code)
    organisations = visible_organisations(user).filter(region=region)
    ids = set(organisations.values_list("pk", flat=True))
    if not ids:
        raise Http404("Not found.")
    return RegionScope(region, organisations, ids)


def scope_phrase(user: Any, rows: list[dict]) -> str:
    """How to say which organisations a non-national user's lists cover, after "trusts":
    "in your region (Midlands)" for one regional role, otherwise "you can see". No query:
    the roles are cached on the user and region names come from ``rows``."""
    viewing = [g for g in grants(user) if Permission.VIEW_ORGANISATION in g.permissions]
    regions = {g.region_id for g in viewing if g.region_id}
    if len(regions) == 1 and not any(g.icb_id for g in viewing):
        (region_id,) = regions
        name = next(
            (
                r["organisation__region__name"]
                for r in rows
                if r["organisation__region_id"] == region_id
            ),
            "",
        )
        return f"in your region ({name})" if name else "in your region"
    return "you can see"


def host_icbs(period: ReportingPeriod | None, trust_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Trust → (host ICB code, name) as the period's ICB map stood (none without a period)."""
    if period is None:
        return {}
    field_name = host_icb_field(period.end_date)
    return {
        pk: (code or "", name or "")
        for pk, code, name in Trust.objects.filter(pk__in=trust_ids).values_list(
            "pk", f"{field_name}__code", f"{field_name}__name"
        )
    }


def live_grants(organisation_ids: Iterable[int]) -> list[FreedomGrant]:
    """The organisations' freedoms granted, proposed, at risk or revoked (not lapsed or
    declined), by status then organisation code."""
    return list(
        FreedomGrant.objects.filter(organisation_id__in=organisation_ids)
        .exclude(status__in=[GrantStatus.LAPSED, GrantStatus.DECLINED])
        .select_related("freedom", "organisation")
        .order_by("status", "organisation__code")
    )


def open_actions(organisation_ids: Iterable[int]) -> list[OversightAction]:
    """The organisations' open oversight actions, soonest due first."""
    return list(
        OversightAction.objects.filter(
            organisation_id__in=organisation_ids, status=ActionStatus.OPEN
        )
        .select_related("organisation")
        .order_by("due_date")
    )


@dataclass
class OrganisationRecord:
    """What the organisation page reads about one organisation."""

    history: dict[int, dict[str, Any]]  # run id → the assessment in that period
    explanation: oversight_selectors.Explanation | None  # when assessed in the period shown
    support: SupportLevel | None
    actions: list[OversightAction]
    grants: list[FreedomGrant]
    published: dict[str, Any]  # NHS England's published result, when uploaded
    movement: Movement | None  # why it moved since the period before, when it did
    # (run id, metric id) → the peers' spread, and the organisation's own values, over the
    # periods held (for the metrics table's strips and trend lines).
    delegation: dict[str, Any] | None  # for an ICB: agreement in force, segment, condition
    spreads: dict[tuple[int, str], Any] = field(default_factory=dict)
    values: dict[tuple[int, str], float] = field(default_factory=dict)
    maturity: MaturityAssessment | None = None  # an ICB's latest system maturity assessment
    # run id → the cut points that run applied to the organisation's peer group.
    cut_points: dict[int, tuple[float, float, float]] = field(default_factory=dict)


def organisation_record(organisation: Organisation, pair: PeriodPair) -> OrganisationRecord:
    """One organisation's results in every period, why it is where it is in the period
    shown, its support level, actions and freedoms (a fixed number of queries)."""
    history = {
        a["run_id"]: a
        for a in OrganisationAssessment.objects.filter(
            organisation=organisation, run_id__in=[pair.run_id_of(p) for p in pair.periods]
        ).values(
            "run_id",
            "final_segment",
            "adjusted_segment",
            "average_score",
            "average_range_low",
            "average_range_high",
            "league_rank",
        )
    }
    assessed = pair.current is not None and pair.current_run_id in history
    explanation = (
        oversight_selectors.explain(organisation, pair.current, run=pair.run)
        if assessed and pair.current is not None
        else None
    )
    run_ids = [r for r in (pair.run_id_of(p) for p in pair.periods) if r]
    metric_ids = [m.metric_id for m in explanation.metrics] if explanation else []
    return OrganisationRecord(
        history=history,
        explanation=explanation,
        spreads=oversight_selectors.peer_spreads(run_ids, organisation.peer_group, metric_ids),
        values=oversight_selectors.values_over_runs(organisation, run_ids, metric_ids),
        cut_points={
            run.pk: cuts[0]
            for run in SegmentationRun.objects.filter(pk__in=run_ids)
            if (cuts := cut_points_for(run, organisation.peer_group))
        },
        support=SupportLevel.objects.filter(
            run_id=pair.current_run_id, organisation=organisation
        ).first(),
        actions=list(
            OversightAction.objects.filter(organisation=organisation).order_by("status", "due_date")
        ),
        grants=list(
            FreedomGrant.objects.filter(organisation=organisation)
            .select_related("freedom")
            .order_by("-id")
        ),
        published=published_for(pair.current, organisation) if pair.current else {},
        delegation=icb_delegation_status(organisation.pk) if organisation.kind == "icb" else None,
        maturity=latest_maturity([organisation.pk]).get(organisation.pk)
        if organisation.kind == "icb"
        else None,
        movement=movements(pair.current_run_id, pair.previous_run_id, [organisation.pk]).get(
            organisation.pk
        )
        if assessed
        else None,
    )


def league_entries(
    run: SegmentationRun | None, peer_group: str
) -> tuple[list[OrganisationAssessment], dict[int, Trust]]:
    """A peer group's league table in ``run`` and the trusts in it (none without a run)."""
    if run is None:
        return [], {}
    entries = list(oversight_selectors.league_table(run, peer_group))
    return entries, oversight_selectors.trust_details([a.organisation_id for a in entries])


def league_cut_points(run: SegmentationRun | None, peer_group: str) -> str:
    """The cut points ``run`` applied to ``peer_group``, to their exact precision, with
    their source ("2.05, 2.325, 2.62 (pinned)"); "" when none."""
    if run is None:
        return ""
    applied = oversight_selectors.cut_points_for(run, peer_group)
    if applied is None:
        return ""
    return f"{format_cut_points(applied[0])} ({applied[1]})"


def published_for(period: ReportingPeriod, organisation: Organisation) -> dict[str, Any]:
    ids = {
        "OF5002": "average",
        "OF5003": "unadjusted",
        "OF5000": "adjusted",
        "OF5005": "final",
        "NHSE_RANK": "rank",
    }
    found = {}
    for metric, value in (
        MetricValue.objects.current()
        .filter(
            period=period, organisation=organisation, kind=InputKind.PUBLISHED, metric_id__in=ids
        )
        .values_list("metric_id", "value")
    ):
        found[ids[metric]] = value or None
    return found


def segment_counts(rows: list[dict], key: str) -> dict[str, Counter]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        counts[r[key]][r["final_segment"] if r["segmented"] or r["in_programme"] else None] += 1
    return counts

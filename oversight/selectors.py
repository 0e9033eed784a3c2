"""Shared reads: results of the current run, league tables, explanations."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.db.models import QuerySet

from systems.models import Organisation, Trust

from .cut_points import format_cut_points
from .engine.explain import boundary_distances, leverage
from .engine.movement import Movement, Side, explain_movement
from .models import (
    MaturityAssessment,
    MetricDefinition,
    MetricScore,
    OrganisationAssessment,
    ProgrammeMembership,
    ReportingPeriod,
    RunStatus,
    SegmentationRun,
)


class NoResults(Exception):
    """The period has no completed segmentation run yet."""


def current_run(period: ReportingPeriod) -> SegmentationRun:
    """The period's published run (its official results)."""
    run = period.current_run
    if run is None:
        if period.latest_run_id:
            raise NoResults(
                f"{period.label} has no published results yet, only provisional ones (run "
                f"{period.latest_run_id}); ask with run=provisional, or publish it "
                f'(`manage.py publish_run --period "{period.label}"`).'
            )
        raise NoResults(
            f"{period.label} has not been segmented yet; run `manage.py segment --period "
            f'"{period.label}"`.'
        )
    return run


#: How a page or an API call names the run it wants: the published one (default), the
#: newest one (``provisional``), or a run id of the period.
RUN_CHOICES = ("published", "provisional")


class UnknownRun(ValueError):
    """A ``run`` choice that names no run of the period (the message says what is known)."""


def run_for(period: ReportingPeriod, which: str = "") -> SegmentationRun:
    """The run ``which`` names for ``period``: "" or "published" the published run,
    "provisional" (or "latest") the newest completed run, or a completed run's id.

    Raises :class:`UnknownRun` for a choice that is none of these, :class:`NoResults` when
    the period has no such run yet.
    """
    which = (which or "published").strip().lower()
    if which == "published":
        return current_run(period)
    if which in ("provisional", "latest"):
        if period.latest_run is None:
            return current_run(period)
        return period.latest_run
    if not which.isdigit():
        raise UnknownRun(
            f"run must be 'published', 'provisional' or a run id of {period.label}; got '{which}'."
        )
    run = SegmentationRun.objects.filter(
        pk=int(which), period=period, status=RunStatus.COMPLETED
    ).first()
    if run is None:
        raise UnknownRun(f"Run {which} is not a completed run of {period.label}.")
    return run


def describe_run(run: SegmentationRun) -> dict[str, Any]:
    """What a page, export or API answer says about the run it shows."""
    return {
        "id": run.pk,
        "state": run.state,
        "published_at": run.published_at,
        "published_by": run.published_by_label,
        "computed_at": run.finished_at,
        "as_at": run.inputs_as_at,
        "trigger": run.trigger,
        "uploads": list(run.uploads.values_list("pk", flat=True)),
    }


def domain_column(domain: str) -> str:
    return "domain_" + re.sub(r"[^a-z0-9]+", "_", domain.lower()).strip("_")


def assessments(run: SegmentationRun) -> QuerySet[OrganisationAssessment]:
    return (
        OrganisationAssessment.objects.filter(run=run)
        .select_related("organisation", "organisation__region")
        .order_by("peer_group", "league_rank", "organisation__code")
    )


def league_table(run: SegmentationRun, peer_group: str) -> QuerySet[OrganisationAssessment]:
    return (
        assessments(run)
        .filter(peer_group=peer_group, league_rank__isnull=False)
        .order_by("league_rank", "average_score", "organisation__code")
    )


def trust_details(organisation_ids: list[int]) -> dict[int, Trust]:
    return {t.pk: t for t in Trust.objects.filter(pk__in=organisation_ids)}


@dataclass
class MetricLine:
    metric_id: str
    name: str
    domain: str
    value: float | None
    text: str
    units: str
    score: float | None
    rank: float | None
    pool_size: int
    method: str
    status: str
    included: bool
    weight: float
    # Set when the score was ranked on a partial national pool, or ranked without counting.
    pool_note: str = ""

    @property
    def partial_pool(self) -> bool:
        return bool(self.pool_note) and "partial pool" in self.pool_note

    @property
    def rank_of_pool(self) -> str:
        if self.rank is None or not self.pool_size:
            return ""
        return f"{int(self.rank)}/{self.pool_size}"


@dataclass
class Explanation:
    organisation: Organisation
    period: ReportingPeriod
    run: SegmentationRun
    assessment: OrganisationAssessment
    metrics: list[MetricLine] = field(default_factory=list)
    cut_points: tuple[float, float, float] | None = None
    cut_points_source: str = ""
    boundaries: dict[str, Any] = field(default_factory=dict)
    leverage: list[dict[str, Any]] = field(default_factory=list)
    # Why it moved since the period before (``since``), when both were segmented.
    movement: Movement | None = None
    since: ReportingPeriod | None = None

    @property
    def cut_points_text(self) -> str:
        """The cut points as applied, to their exact precision ("2.05, 2.325, 2.62")."""
        return format_cut_points(self.cut_points)


def explain(
    organisation: Organisation,
    period: ReportingPeriod,
    *,
    top: int = 5,
    run: SegmentationRun | None = None,
) -> Explanation:
    """Why ``organisation`` is where it is in ``period``: every metric's value, rank/N and
    score, the cut points, the distance to the next segment boundary either way, and the
    metrics whose improvement by a quarter of their pool would move the average most."""
    run = run or current_run(period)
    assessment = OrganisationAssessment.objects.get(run=run, organisation=organisation)
    definitions = {
        d.score_id: d for d in MetricDefinition.objects.filter(methodology_id=run.methodology_id)
    }
    rows = list(
        MetricScore.objects.filter(run=run, organisation=organisation).order_by(
            "domain", "metric_id"
        )
    )
    partial = run.partial_pools()
    lines = [
        MetricLine(
            metric_id=r.metric_id,
            name=definitions[r.metric_id].name if r.metric_id in definitions else r.metric_id,
            domain=r.domain,
            value=r.value,
            text=r.text,
            units=definitions[r.metric_id].units if r.metric_id in definitions else "",
            score=r.score,
            rank=r.rank,
            pool_size=r.pool_size,
            method=r.method,
            status=r.status,
            included=r.included,
            weight=r.weight,
            pool_note=pool_note(r, partial, definitions.get(r.metric_id), assessment.peer_group),
        )
        for r in rows
    ]
    cut_points = cut_points_for(run, assessment.peer_group)
    explanation = Explanation(
        organisation=organisation,
        period=period,
        run=run,
        assessment=assessment,
        metrics=lines,
        cut_points=cut_points[0] if cut_points else None,
        cut_points_source=cut_points[1] if cut_points else "",
    )
    if assessment.segmented and assessment.average_score is not None and cut_points:
        explanation.boundaries = boundary_distances(assessment.average_score, cut_points[0])
        explanation.leverage = _leverage(rows, definitions, top)
    explanation.since = (
        ReportingPeriod.objects.filter(end_date__lt=period.start_date, current_run__isnull=False)
        .order_by("-end_date")
        .first()
    )
    if explanation.since is not None:
        explanation.movement = movements(
            run.pk, explanation.since.current_run_id, [organisation.pk]
        ).get(organisation.pk)
    return explanation


def _leverage(
    rows: list[MetricScore], definitions: Mapping[str, MetricDefinition], top: int
) -> list[dict[str, Any]]:
    """The metrics whose improvement would move the average most (see engine.explain)."""
    frame = pd.DataFrame(
        [
            {
                "metric_id": r.metric_id,
                "score": r.score,
                "rank": r.rank,
                "pool_size": r.pool_size,
                "method": r.method,
                "low": r.low,
                "high": r.high,
                "weight": r.weight,
                "included": r.included,
                "status": r.status,
                "domain": r.domain,
            }
            for r in rows
        ]
    )
    if not len(frame):
        return []
    return [
        {
            **rec,
            "name": definitions[rec["metric_id"]].name if rec["metric_id"] in definitions else "",
        }
        for rec in leverage(frame, top=top).to_dict("records")
    ]


def partial_pool_scores(run: SegmentationRun) -> dict[int, list[str]]:
    """Per organisation id: its scores of ``run`` ranked on a partial national pool, as
    "metric ranked/applies" (e.g. "OF1082 61/205")."""
    partial = run.partial_pools()
    if not partial:
        return {}
    out: dict[int, list[str]] = {}
    scored = MetricScore.objects.filter(
        run=run, method="rank", status="scored", metric_id__in=list(partial)
    ).order_by("metric_id")
    for org_id, metric_id in scored.values_list("organisation_id", "metric_id"):
        pool = partial[metric_id]
        out.setdefault(org_id, []).append(f"{metric_id} {pool['ranked']}/{pool['applies']}")
    return out


def pool_note(
    score: MetricScore,
    partial: Mapping[str, Mapping[str, Any]],
    definition: MetricDefinition | None,
    peer_group: str,
) -> str:
    """What to say beside a rank score that is not simply "exact": ranked on a partial
    national pool, or ranked (as an outside reporter) without counting in the average."""
    if score.method != "rank" or score.status != "scored":
        return ""
    notes = []
    pool = partial.get(score.metric_id)
    if pool:
        notes.append(
            f"ranked among {pool['ranked']} of {pool['applies']}: a partial pool, so the score "
            "may differ from NHS England's"
        )
    if definition is not None and peer_group not in definition.peer_groups:
        counted = "counts" if score.included else "does not count"
        notes.append(f"outside the metric's peer groups: ranked nationally, {counted} here")
    return "; ".join(notes)


def cut_points_for(
    run: SegmentationRun, peer_group: str
) -> tuple[tuple[float, float, float], str] | None:
    """The cut points ``run`` applied to ``peer_group`` and their source; None when the
    run segmented no organisation of that peer group."""
    by_group = run.cut_points_by_peer_group.get(peer_group)
    if by_group:
        return (by_group["t1"], by_group["t2"], by_group["t3"]), by_group["source"]
    if run.cut_points and not run.cut_points_by_peer_group:
        return run.cut_points, run.cut_points_source
    return None


def programme_members_on(day: datetime.date) -> QuerySet[Organisation]:
    """Organisations in the Provider Improvement Programme on ``day`` (judged per stay, so
    a trust that left and later re-entered counts)."""
    stays = ProgrammeMembership.objects.filter(entered_on__lte=day).exclude(left_on__lte=day)
    return Organisation.objects.filter(pk__in=stays.values("organisation_id"))


def movements(
    run_now: int | None, run_before: int | None, organisation_ids: list[int]
) -> dict[int, Movement]:
    """For each organisation, why its segment moved between two runs: the causes in order
    and the metrics that drove its average in the direction of the move (one explanation
    for every page and the API: ``oversight.engine.movement``)."""
    if not organisation_ids or not run_now or not run_before:
        return {}
    runs = SegmentationRun.objects.select_related("methodology").in_bulk([run_now, run_before])
    if len(runs) < 2:
        return {}
    sides: dict[tuple[int, int], dict[str, Any]] = {}
    for a in OrganisationAssessment.objects.filter(
        run_id__in=runs, organisation_id__in=organisation_ids
    ):
        cuts = cut_points_for(runs[a.run_id], a.peer_group)
        sides[(a.run_id, a.organisation_id)] = {
            "average": a.average_score if a.segmented else None,
            "cut_points": cuts[0] if cuts else None,
            "override": a.financial_override,
            "in_programme": a.in_programme,
            "final": a.final_segment,
            "scores": {},
        }
    for run_id, org_id, metric, score, weight in MetricScore.objects.filter(
        run_id__in=runs, organisation_id__in=organisation_ids, included=True, score__isnull=False
    ).values_list("run_id", "organisation_id", "metric_id", "score", "weight"):
        if (run_id, org_id) in sides:
            sides[(run_id, org_id)]["scores"][metric] = (score, weight)
    names = dict(MetricDefinition.objects.values_list("score_id", "name"))
    cap = runs[run_now].methodology.override_cap
    return {
        org_id: explain_movement(
            Side(**sides[(run_before, org_id)]),
            Side(**sides[(run_now, org_id)]),
            cap=cap,
            names=names,
        )
        for org_id in organisation_ids
        if (run_before, org_id) in sides and (run_now, org_id) in sides
    }


@dataclass(frozen=True)
class Spread:
    """The values of one metric among an organisation's peers in one run."""

    low: float
    q1: float
    median: float
    q3: float
    high: float
    count: int


def peer_spreads(
    run_ids: list[int], peer_group: str, metric_ids: list[str]
) -> dict[tuple[int, str], Spread]:
    """(run id, metric id) → the spread of the peer group's values (one query)."""
    rows = list(
        MetricScore.objects.filter(
            run_id__in=run_ids,
            metric_id__in=metric_ids,
            organisation__peer_group=peer_group,
            value__isnull=False,
        ).values_list("run_id", "metric_id", "value")
    )
    if not rows:
        return {}
    values = pd.DataFrame(rows, columns=["run_id", "metric_id", "value"]).groupby(
        ["run_id", "metric_id"]
    )["value"]
    quantiles = values.quantile([0.0, 0.25, 0.5, 0.75, 1.0]).unstack()
    counts = values.size()
    spreads = {}
    for key in quantiles.index:
        low, q1, median, q3, high = (float(q) for q in quantiles.loc[key])
        spreads[key] = Spread(low, q1, median, q3, high, count=int(counts.loc[key]))
    return spreads


def values_over_runs(
    organisation: Organisation, run_ids: list[int], metric_ids: list[str]
) -> dict[tuple[int, str], float]:
    """(run id, metric id) → the organisation's value (one query)."""
    rows = MetricScore.objects.filter(
        run_id__in=run_ids, organisation=organisation, metric_id__in=metric_ids
    ).values_list("run_id", "metric_id", "value")
    return {(run_id, metric): value for run_id, metric, value in rows if value is not None}


def latest_maturity(
    icb_ids: list[int], on: datetime.date | None = None
) -> dict[int, MaturityAssessment]:
    """Each system's latest maturity assessment (assessed on or before ``on``, when given);
    the ICB stands for its system."""
    qs = MaturityAssessment.objects.filter(icb_id__in=icb_ids)
    if on is not None:
        qs = qs.filter(assessed_on__lte=on)
    found: dict[int, MaturityAssessment] = {}
    for row in qs.order_by("icb_id", "-assessed_on", "-recorded_at"):
        found.setdefault(row.icb_id, row)
    return found

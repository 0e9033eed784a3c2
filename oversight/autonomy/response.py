"""The oversight response to a segmentation run.

:func:`respond_to_run` runs after every run, inside its transaction (``oversight.runs``
calls it): support levels and the actions they open, every freedom evaluated for every
organisation, grants created, proposed, put at risk, restored or revoked, and the people
in scope notified.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from systems import audit
from systems.actors import Actor
from systems.models import Organisation, OrganisationKind, Trust, host_icb_field

from ..engine.autonomy import Evaluation, Facts, evaluate
from ..metric_ids import CQC_OVERALL_ID
from ..models import (
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
    SegmentationRun,
)
from ..notifications import Notice, notify
from .maturity import maturity_on
from .models import (
    LIVE_GRANT,
    ActionEvent,
    ActionStatus,
    AutonomyPolicy,
    CapabilityAssessment,
    CqcRating,
    Freedom,
    FreedomEvaluation,
    FreedomGrant,
    GrantEvent,
    GrantStatus,
    OversightAction,
    SupportLevel,
)
from .policy import AFT, AFT_STATUS, spec_of


@dataclass
class Applied:
    support_levels: int = 0
    actions_opened: int = 0
    evaluations: int = 0
    changes: int = 0
    notifications: int = 0


def _history(run, periods_needed: int) -> dict[int, list[int | None]]:
    """Adjusted segments per organisation, latest first: this run, then the current runs of
    the periods before it."""

    earlier = list(
        ReportingPeriod.objects.filter(
            start_date__lt=run.period.start_date, current_run__isnull=False
        ).order_by("-start_date")[: max(periods_needed - 1, 0)]
    )
    run_ids = [run.pk] + [p.current_run_id for p in earlier]
    rows = OrganisationAssessment.objects.filter(run_id__in=run_ids).values_list(
        "run_id", "organisation_id", "adjusted_segment"
    )
    by_run: dict[int, dict[int, int | None]] = {}
    for run_id, org_id, segment in rows:
        by_run.setdefault(run_id, {})[org_id] = segment
    orgs = by_run.get(run.pk, {})
    return {org: [by_run.get(r, {}).get(org) for r in run_ids] for org in orgs}


def latest_cqc_ratings() -> dict[int, str]:
    """Each provider's latest CQC overall rating: recorded by national users, or uploaded
    (``CQC_OVERALL`` in the template, dated by its reporting date)."""

    dated: dict[int, tuple[datetime.date, str]] = {}
    for org_id, rating, on in CqcRating.objects.values_list(
        "organisation_id", "rating", "published_on"
    ):
        if org_id not in dated or on > dated[org_id][0]:
            dated[org_id] = (on, rating)
    for org_id, rating, on in (
        MetricValue.objects.current()
        .filter(metric_id=CQC_OVERALL_ID, reporting_date__isnull=False)
        .values_list("organisation_id", "text", "reporting_date")
    ):
        if org_id not in dated or on > dated[org_id][0]:
            dated[org_id] = (on, rating)
    return {org_id: rating for org_id, (_, rating) in dated.items()}


def facts_for(run: SegmentationRun, icb_segments: dict[int, int]) -> dict[int, Facts]:
    """What is known of every organisation the run assessed; ``icb_segments`` is each
    ICB's latest segment, computed or recorded (the run's own ICB results win)."""

    freedoms = list(Freedom.objects.filter(active=True))
    needed = max([int(f.criteria.get("consecutive_periods", 1)) for f in freedoms] + [1])
    history = _history(run, needed)
    assessments = list(
        OrganisationAssessment.objects.filter(run=run).select_related("organisation")
    )
    cqc = latest_cqc_ratings()
    capability: dict[int, int] = {}
    for org_id, overall in (
        CapabilityAssessment.objects.filter(assessor="region")
        .order_by("organisation_id", "-financial_year", "-recorded_at")
        .values_list("organisation_id", "overall")
    ):
        capability.setdefault(org_id, overall)
    holds: dict[int, set[str]] = {}
    for org_id in FreedomGrant.objects.filter(
        freedom__slug=AFT, panel_decision="approved", status__in=LIVE_GRANT
    ).values_list("organisation_id", flat=True):
        holds.setdefault(org_id, set()).add(AFT_STATUS)
    # An ICB's segment: this run's where its methodology segments ICBs, otherwise the latest
    # computed or recorded one.
    icb_segments = dict(icb_segments)
    icb_segments.update(
        {
            a.organisation_id: a.final_segment
            for a in assessments
            if a.organisation.kind == OrganisationKind.ICB and a.segmented
        }
    )
    hosts = dict(
        Trust.objects.filter(pk__in=[a.organisation_id for a in assessments]).values_list(
            "pk",
            host_icb_field(run.period.end_date),
        )
    )
    # ICBs the run did not assess (its methodology segments trusts only) are still judged
    # for the ICB freedoms on the segment recorded for them, if they existed then.
    unassessed = set(icb_segments) - {a.organisation_id for a in assessments}
    icbs_alone = list(
        Organisation.objects.existing_on(run.period.end_date).filter(
            pk__in=unassessed, kind=OrganisationKind.ICB
        )
    )
    maturity = maturity_on(
        [a.organisation_id for a in assessments if a.organisation.kind == OrganisationKind.ICB]
        + [icb.pk for icb in icbs_alone],
        run.period.end_date,
    )
    out = {}
    for a in assessments:
        is_icb = a.organisation.kind == OrganisationKind.ICB
        out[a.organisation_id] = Facts(
            code=a.organisation.code,
            kind="icb" if is_icb else "provider",
            adjusted_segments=tuple(history.get(a.organisation_id, [a.adjusted_segment])),
            final_segment=a.final_segment,
            in_programme=a.in_programme,
            financial_override=a.financial_override,
            cqc_overall=cqc.get(a.organisation_id),
            capability_overall=capability.get(a.organisation_id),
            icb_segment=(
                icb_segments.get(a.organisation_id)
                if is_icb
                else icb_segments.get(hosts.get(a.organisation_id))
            ),
            holds=frozenset(holds.get(a.organisation_id, set())),
            system_maturity=maturity.get(a.organisation_id),
        )
    for icb in icbs_alone:
        out[icb.pk] = Facts(
            code=icb.code,
            kind="icb",
            icb_segment=icb_segments.get(icb.pk),
            system_maturity=maturity.get(icb.pk),
        )
    return out


@dataclass
class _Response:
    """What one run's response works on, and what it has done so far."""

    run: SegmentationRun
    actor: Actor
    facts: dict[int, Facts]
    organisations: dict[int, Organisation]
    latest: bool
    applied: Applied = field(default_factory=Applied)
    notices: list[Notice] = field(default_factory=list)


def respond_to_run(
    *,
    run: SegmentationRun,
    actor: Actor,
    icb_segments: dict[int, int],
    replaced: SegmentationRun | None = None,
) -> Applied:
    """Support levels, actions, freedom evaluations and grant changes for ``run`` (a run
    being published), given each ICB's latest segment (``icb_segments``, ICB id →
    segment). ``replaced``: the run it replaces as the period's published results, whose
    segments the notices of movement compare with (else the previous period's)."""
    policy = AutonomyPolicy.objects.first()
    if policy is None:
        return Applied()
    facts = facts_for(run, icb_segments)
    # A re-run of an older period records its evaluations but does not move grants or open
    # actions: only the latest segmented period speaks for "now".
    latest = not ReportingPeriod.objects.filter(
        start_date__gt=run.period.start_date, current_run__isnull=False
    ).exists()
    response = _Response(run, actor, facts, Organisation.objects.in_bulk(list(facts)), latest)
    _support(response, policy)
    _evaluate_freedoms(response)
    applied = response.applied
    if latest:
        response.notices += _segment_moves(run, facts, response.organisations, replaced)
        applied.notifications = notify(response.notices)
    audit.record(
        actor=actor,
        action="autonomy.applied",
        obj=run,
        after={
            "support_levels": applied.support_levels,
            "actions_opened": applied.actions_opened,
            "evaluations": applied.evaluations,
            "grant_changes": applied.changes,
            "notifications": applied.notifications,
        },
        reason=f"Oversight response and freedoms after run {run.pk}",
    )
    return applied


def _support(response: _Response, policy: AutonomyPolicy) -> None:
    """Each organisation's support level from its final segment; for the latest period,
    the actions that level opens (unless one of the kind is already open)."""
    run, today = response.run, timezone.localdate()
    already_open: dict[int, set[str]] = {}
    for org_id, kind in OversightAction.objects.filter(
        organisation_id__in=list(response.facts), status=ActionStatus.OPEN
    ).values_list("organisation_id", "kind"):
        already_open.setdefault(org_id, set()).add(kind)
    levels = []
    for org_id, f in response.facts.items():
        if f.final_segment is None:
            continue
        level = policy.support.get(str(f.final_segment), {})
        levels.append(
            SupportLevel(
                run=run,
                organisation_id=org_id,
                final_segment=f.final_segment,
                level=level.get("level", ""),
            )
        )
        if not response.latest:
            continue
        for spec in level.get("actions", []):
            if spec["kind"] in already_open.get(org_id, set()):
                continue
            action = OversightAction.objects.create(
                organisation_id=org_id,
                kind=spec["kind"],
                title=spec["title"],
                opened_by_run=run,
                segment=f.final_segment,
                board_owner_required=bool(spec.get("board_owner")),
                due_date=today + datetime.timedelta(days=int(spec.get("due_days", 90))),
            )
            ActionEvent.objects.create(
                action=action,
                actor_label=audit.actor_label(response.actor),
                change="opened",
                note=f"Segment {f.final_segment} in {run.period.label} (run {run.pk})",
            )
            response.applied.actions_opened += 1
            response.notices.append(
                (
                    response.organisations[org_id],
                    f"Action opened: {spec['title']}",
                    f"Segment {f.final_segment} in {run.period.label}.",
                )
            )
    SupportLevel.objects.bulk_create(levels)
    response.applied.support_levels = len(levels)


def _evaluate_freedoms(response: _Response) -> None:
    """Every active freedom evaluated for every organisation it applies to; for the latest
    period, grants created, restored, put at risk or revoked."""
    evaluations = []
    for freedom in Freedom.objects.filter(active=True):
        spec = spec_of(freedom)
        live = {
            g.organisation_id: g
            for g in FreedomGrant.objects.filter(
                freedom=freedom, status__in=LIVE_GRANT
            ).select_related("at_risk_since")
        }
        for org_id, f in response.facts.items():
            if f.kind != spec.applies_to:
                continue
            result = evaluate(spec, f)
            evaluations.append(
                FreedomEvaluation(
                    run=response.run,
                    freedom=freedom,
                    organisation_id=org_id,
                    eligible=result.eligible,
                    criteria=[c.as_dict() for c in result.criteria],
                )
            )
            if not response.latest:
                continue
            change = _transition(
                freedom, live.get(org_id), org_id, result, response.run, response.actor
            )
            if change:
                response.applied.changes += 1
                if change[0] in (GrantStatus.AT_RISK, GrantStatus.REVOKED):
                    response.notices.append(
                        (
                            response.organisations[org_id],
                            f"{freedom.name}: {change[0].label}",
                            change[1],
                        )
                    )
    FreedomEvaluation.objects.bulk_create(evaluations, batch_size=2000)
    response.applied.evaluations = len(evaluations)


def record_grant_event(
    grant: FreedomGrant,
    status_from: str,
    status_to: str,
    run: SegmentationRun | None,
    result: Evaluation | None,
    reason: str,
    actor: Actor,
) -> None:
    """One step in a grant's history, with the run and criteria behind it."""
    GrantEvent.objects.create(
        grant=grant,
        status_from=status_from,
        status_to=status_to,
        run=run,
        criteria=[c.as_dict() for c in result.criteria] if result else [],
        reason=reason,
        actor_label=audit.actor_label(actor),
    )


def _transition(freedom, grant, org_id, result: Evaluation, run, actor):
    """Move a grant for one run's evaluation; returns (new status, reason) or None."""
    failing = "; ".join(f"{c.name}: {c.value!r} (needs {c.required})" for c in result.failing)
    if result.eligible:
        if grant is None:
            status = (
                GrantStatus.PROPOSED if freedom.grant == "confirmation" else GrantStatus.GRANTED
            )
            grant = FreedomGrant.objects.create(
                freedom=freedom,
                organisation_id=org_id,
                status=status,
                status_reason="Eligible"
                + (": awaiting confirmation" if status == "proposed" else ""),
                created_by_run=run,
            )
            record_grant_event(grant, "", status, run, result, grant.status_reason, actor)
            return status, grant.status_reason
        if grant.status == GrantStatus.AT_RISK:
            grant.status, grant.at_risk_since, grant.status_reason = (
                "granted",
                None,
                "Eligible again",
            )
            grant.save()
            record_grant_event(grant, "at_risk", "granted", run, result, "Eligible again", actor)
            return GrantStatus.GRANTED, "Eligible again"
        return None
    if grant is None:
        return None
    before = grant.status
    if before == GrantStatus.PROPOSED:
        new, reason = GrantStatus.LAPSED, f"No longer eligible before confirmation: {failing}"
    elif result.revoke_at_once:
        new, reason = GrantStatus.REVOKED, f"Revoked at once: {result.revoke_at_once}"
    elif before == GrantStatus.GRANTED:
        new, reason = GrantStatus.AT_RISK, f"Not eligible in {run.period.label}: {failing}"
    elif grant.at_risk_since_id and run.period.start_date > grant.at_risk_since.start_date:
        new, reason = GrantStatus.REVOKED, f"Not eligible for a second period: {failing}"
    else:
        return None  # the period that put it at risk, evaluated again
    grant.status, grant.status_reason = new, reason
    grant.at_risk_since = run.period if new == GrantStatus.AT_RISK else grant.at_risk_since
    grant.save()
    record_grant_event(grant, before, new, run, result, reason, actor)
    return new, reason


def _segment_moves(run, facts, orgs, replaced=None) -> list[tuple[Organisation, str, str]]:
    """A notice per organisation whose published segment changed: against the results this
    publication replaces, else against the previous period's published results."""
    if replaced is not None:
        before_run_id = replaced.pk
        since = f"{run.period.label} as published before"
    else:
        previous = (
            ReportingPeriod.objects.filter(
                start_date__lt=run.period.start_date, current_run__isnull=False
            )
            .order_by("-start_date")
            .first()
        )
        if previous is None:
            return []
        before_run_id, since = previous.current_run_id, previous.label
    before = dict(
        OrganisationAssessment.objects.filter(run_id=before_run_id).values_list(
            "organisation_id", "final_segment"
        )
    )
    notices = []
    for org_id, f in facts.items():
        old = before.get(org_id)
        if old is not None and f.final_segment is not None and old != f.final_segment:
            notices.append(
                (
                    orgs[org_id],
                    f"Segment {old} → {f.final_segment}",
                    f"{orgs[org_id].name} moved from segment {old} in {since} to "
                    f"segment {f.final_segment} in {run.period.label} (published).",
                )
            )
    return notices

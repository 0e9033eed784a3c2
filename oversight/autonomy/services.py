"""Writes for earned autonomy and the oversight response.

:func:`respond_to_run` runs after every segmentation run (inside its transaction): support
levels and the actions they open, every freedom evaluated for every organisation, grants
created, proposed, put at risk, restored or revoked, and the people in scope notified.
The other functions are the human steps, each audited.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from core.dates import is_financial_year
from core.errors import ApplicationError
from systems import audit
from systems.actors import Actor, is_system
from systems.authorization import Permission, has_permission
from systems.models import Organisation, OrganisationKind, Trust, host_icb_field

from ..engine.autonomy import Evaluation, Facts, FreedomError, FreedomSpec, evaluate
from ..metric_ids import CQC_OVERALL_ID
from ..models import (
    MetricValue,
    OrganisationAssessment,
    ProgrammeMembership,
    ReportingPeriod,
    SegmentationRun,
)
from ..notifications import notify
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

POLICY_FILE = Path(__file__).with_name("policy.yaml")
AFT = "aft-eligibility"
AFT_STATUS = "aft-status"
MAX_REASSESSMENT_YEARS = 5


class AutonomyError(ApplicationError, ValueError):
    """A human step that cannot be taken; the message says why."""


# --- Policy -------------------------------------------------------------------------------


def spec_of(freedom: Freedom) -> FreedomSpec:
    return FreedomSpec(
        slug=freedom.slug,
        name=freedom.name,
        applies_to=freedom.applies_to,
        grant=freedom.grant,
        criteria=dict(freedom.criteria),
        revoke_at_once_on=tuple(freedom.revoke_at_once_on),
    )


@transaction.atomic
def load_autonomy_policy(*, actor: Actor, path: Path = POLICY_FILE, force: bool = False) -> str:
    """Install ``policy.yaml``: created, replaced (a higher version, or ``force``) or kept."""
    document = yaml.safe_load(path.read_text())
    version = int(document["version"])
    specs = [
        FreedomSpec(
            slug=f["slug"],
            name=f["name"],
            applies_to=f["applies_to"],
            grant=f["grant"],
            criteria=f.get("criteria") or {},
            revoke_at_once_on=tuple(
                f.get("revoke_at_once_on", ("programme", "financial_override"))
            ),
        )
        for f in document["freedoms"]
    ]
    policy = AutonomyPolicy.objects.first()
    if policy is not None and policy.version >= version and not force:
        return "unchanged"
    fields = {
        "version": version,
        "support": {str(k): v for k, v in document["support"].items()},
        "capability_scale": document["capability"]["scale"],
        "capability_areas": document["capability"]["areas"],
    }
    if policy is None:
        policy = AutonomyPolicy.objects.create(**fields)
    else:
        AutonomyPolicy.objects.filter(pk=policy.pk).update(**fields)
    for spec in specs:
        Freedom.objects.update_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "applies_to": spec.applies_to,
                "grant": spec.grant,
                "criteria": dict(spec.criteria),
                "revoke_at_once_on": list(spec.revoke_at_once_on),
                "version": version,
            },
        )
    audit.record(
        actor=actor,
        action="autonomy.policy_loaded",
        obj=policy,
        after={"version": version, "freedoms": [s.slug for s in specs]},
        reason=f"Loaded from {path.name}",
    )
    return "loaded"


@transaction.atomic
def set_freedom_parameter(
    *, freedom: Freedom, name: str, value: Any, reason: str, actor: Actor
) -> Freedom:
    """Change one eligibility parameter (applies from the next run); audited."""
    if not reason.strip():
        raise AutonomyError("Give a reason for changing a freedom's eligibility rule.")
    freedom = Freedom.objects.select_for_update().get(pk=freedom.pk)
    before = dict(freedom.criteria)
    criteria = {**before, name: value}
    try:
        spec_of(Freedom(**{**_fields(freedom), "criteria": criteria}))
    except FreedomError as exc:
        raise AutonomyError(str(exc)) from exc
    freedom.criteria = criteria
    freedom.save(update_fields=["criteria", "updated_at"])
    audit.record(
        actor=actor,
        action="freedom.changed",
        obj=freedom,
        before={"criteria": before},
        after={"criteria": criteria},
        reason=reason,
    )
    return freedom


def _fields(freedom: Freedom) -> dict[str, Any]:
    return {
        "slug": freedom.slug,
        "name": freedom.name,
        "applies_to": freedom.applies_to,
        "grant": freedom.grant,
        "revoke_at_once_on": freedom.revoke_at_once_on,
    }


# --- After every run ----------------------------------------------------------------------


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
        )
    return out


def respond_to_run(*, run: SegmentationRun, actor: Actor, icb_segments: dict[int, int]) -> Applied:
    """Support levels, actions, freedom evaluations and grant changes for ``run``, given
    each ICB's latest segment (``icb_segments``, ICB id → segment)."""

    applied = Applied()
    policy = AutonomyPolicy.objects.first()
    if policy is None:
        return applied
    facts = facts_for(run, icb_segments)
    orgs = Organisation.objects.in_bulk(list(facts))
    # A re-run of an older period records its evaluations but does not move grants or open
    # actions: only the latest segmented period speaks for "now".
    latest = not ReportingPeriod.objects.filter(
        start_date__gt=run.period.start_date, current_run__isnull=False
    ).exists()
    today = timezone.localdate()
    notices: list[tuple[Organisation, str, str]] = []

    already_open: dict[int, set[str]] = {}
    for org_id, kind in OversightAction.objects.filter(
        organisation_id__in=list(facts), status=ActionStatus.OPEN
    ).values_list("organisation_id", "kind"):
        already_open.setdefault(org_id, set()).add(kind)
    levels = []
    for org_id, f in facts.items():
        if f.final_segment is None:
            continue
        response = policy.support.get(str(f.final_segment), {})
        levels.append(
            SupportLevel(
                run=run,
                organisation_id=org_id,
                final_segment=f.final_segment,
                level=response.get("level", ""),
            )
        )
        if not latest:
            continue
        open_kinds = already_open.get(org_id, set())
        for spec in response.get("actions", []):
            if spec["kind"] in open_kinds:
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
                actor_label=audit.actor_label(actor),
                change="opened",
                note=f"Segment {f.final_segment} in {run.period.label} (run {run.pk})",
            )
            applied.actions_opened += 1
            notices.append(
                (
                    orgs[org_id],
                    f"Action opened: {spec['title']}",
                    f"Segment {f.final_segment} in {run.period.label}.",
                )
            )
    SupportLevel.objects.bulk_create(levels)
    applied.support_levels = len(levels)

    evaluations = []
    for freedom in Freedom.objects.filter(active=True):
        spec = spec_of(freedom)
        live = {
            g.organisation_id: g
            for g in FreedomGrant.objects.filter(
                freedom=freedom, status__in=LIVE_GRANT
            ).select_related("at_risk_since")
        }
        for org_id, f in facts.items():
            if f.kind != spec.applies_to:
                continue
            result = evaluate(spec, f)
            criteria = [c.as_dict() for c in result.criteria]
            evaluations.append(
                FreedomEvaluation(
                    run=run,
                    freedom=freedom,
                    organisation_id=org_id,
                    eligible=result.eligible,
                    criteria=criteria,
                )
            )
            if latest:
                change = _transition(freedom, live.get(org_id), org_id, result, run, actor)
                if change:
                    applied.changes += 1
                    if change[0] in (GrantStatus.AT_RISK, GrantStatus.REVOKED):
                        notices.append(
                            (orgs[org_id], f"{freedom.name}: {change[0].label}", change[1])
                        )
    FreedomEvaluation.objects.bulk_create(evaluations, batch_size=2000)
    applied.evaluations = len(evaluations)

    if latest:
        notices += _segment_moves(run, facts, orgs)
        applied.notifications = notify(notices)
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


def _event(grant, status_from, status_to, run, result: Evaluation | None, reason, actor):
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
            _event(grant, "", status, run, result, grant.status_reason, actor)
            return status, grant.status_reason
        if grant.status == GrantStatus.AT_RISK:
            grant.status, grant.at_risk_since, grant.status_reason = (
                "granted",
                None,
                "Eligible again",
            )
            grant.save()
            _event(grant, "at_risk", "granted", run, result, "Eligible again", actor)
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
    _event(grant, before, new, run, result, reason, actor)
    return new, reason


def _segment_moves(run, facts, orgs) -> list[tuple[Organisation, str, str]]:

    previous = (
        ReportingPeriod.objects.filter(
            start_date__lt=run.period.start_date, current_run__isnull=False
        )
        .order_by("-start_date")
        .first()
    )
    if previous is None:
        return []
    before = dict(
        OrganisationAssessment.objects.filter(run_id=previous.current_run_id).values_list(
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
                    f"{orgs[org_id].name} moved from segment {old} in {previous.label} to "
                    f"segment {f.final_segment} in {run.period.label}.",
                )
            )
    return notices


# --- Human steps ----------------------------------------------------------------------------


def _require(actor: Actor, permission: str, organisation: Organisation) -> None:

    if not is_system(actor) and not has_permission(actor, permission, organisation):
        raise AutonomyError("You do not have permission to do this for this organisation.")


@transaction.atomic
def confirm_grant(*, grant: FreedomGrant, actor: Actor, reason: str, confirm: bool = True):
    """A regional director confirms (or declines) a proposed grant, with a reason."""

    _require(actor, Permission.CONFIRM_FREEDOM, grant.organisation)
    grant = FreedomGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.status != GrantStatus.PROPOSED:
        raise AutonomyError(f"This grant is {grant.get_status_display().lower()}, not proposed.")
    if not reason.strip():
        raise AutonomyError("Give the reason for the decision.")
    new = GrantStatus.GRANTED if confirm else GrantStatus.DECLINED
    grant.status, grant.status_reason = new, reason
    grant.confirmed_by_label, grant.confirmed_at = audit.actor_label(actor), timezone.now()
    grant.save()
    _event(grant, GrantStatus.PROPOSED, new, None, None, reason, actor)
    audit.record(
        actor=actor,
        action=f"freedom.{'confirmed' if confirm else 'declined'}",
        obj=grant,
        before={"status": "proposed"},
        after={"status": new},
        reason=reason,
    )
    return grant


def _aft_state(grant: FreedomGrant) -> dict[str, Any]:
    return {
        "nominated_on": grant.nominated_on.isoformat() if grant.nominated_on else None,
        "panel_decision": grant.panel_decision,
        "panel_decided_on": (
            grant.panel_decided_on.isoformat() if grant.panel_decided_on else None
        ),
        "reassessment_due": (
            grant.reassessment_due.isoformat() if grant.reassessment_due else None
        ),
    }


@transaction.atomic
def record_aft_step(
    *,
    grant: FreedomGrant,
    actor: Actor,
    nominated_on: datetime.date | None = None,
    panel_decision: str = "",
    panel_decided_on: datetime.date | None = None,
    reassessment_due: datetime.date | None = None,
    reason: str = "",
) -> FreedomGrant:
    """National users record the Advanced Foundation Trust nomination, panel decision and
    reassessment date (no more than five years after the decision)."""

    _require(actor, Permission.MANAGE_FREEDOMS_CATALOGUE, grant.organisation)
    grant = FreedomGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.freedom.slug != AFT:
        raise AutonomyError("Nomination and panel decisions are for Advanced Foundation Trusts.")
    before = _aft_state(grant)
    if nominated_on:
        grant.nominated_on = nominated_on
    if panel_decision:
        if panel_decision not in ("approved", "rejected"):
            raise AutonomyError("The panel decision is 'approved' or 'rejected'.")
        if not (panel_decided_on and grant.nominated_on):
            raise AutonomyError("Record the nomination and the decision date with the decision.")
        grant.panel_decision, grant.panel_decided_on = panel_decision, panel_decided_on
    if reassessment_due:
        decided = grant.panel_decided_on
        if decided is None:
            raise AutonomyError("A reassessment date follows a panel decision.")
        limit = decided.replace(year=decided.year + MAX_REASSESSMENT_YEARS)
        if not decided < reassessment_due <= limit:
            raise AutonomyError(
                f"The reassessment is due within five years of the decision (by {limit:%d %B %Y})."
            )
        grant.reassessment_due = reassessment_due
    grant.save()
    audit.record(
        actor=actor,
        action="freedom.aft_step",
        obj=grant,
        before=before,
        after=_aft_state(grant),
        reason=reason,
    )
    return grant


@transaction.atomic
def close_action(*, action: OversightAction, actor: Actor, note: str) -> OversightAction:

    _require(actor, Permission.MANAGE_ACTIONS, action.organisation)
    if not note.strip():
        raise AutonomyError("Closing an action needs a note saying why.")
    action = OversightAction.objects.select_for_update().get(pk=action.pk)
    if action.status == ActionStatus.CLOSED:
        raise AutonomyError("This action is already closed.")
    action.status, action.closed_at = ActionStatus.CLOSED, timezone.now()
    action.closed_by_label = audit.actor_label(actor)
    action.save()
    ActionEvent.objects.create(
        action=action, actor_label=action.closed_by_label, change="closed", note=note
    )
    audit.record(
        actor=actor,
        action="action.closed",
        obj=action,
        before={"status": "open"},
        after={"status": "closed"},
        reason=note,
    )
    return action


@transaction.atomic
def enter_programme(
    *, organisation: Organisation, entered_on: datetime.date, reason: str, actor: Actor
):
    """Record entry to the Provider Improvement Programme; every live grant of the
    organisation is revoked at once."""

    _require(actor, Permission.MANAGE_PROGRAMME, organisation)
    if not reason.strip():
        raise AutonomyError("Give the reason for entry to the programme.")
    membership = ProgrammeMembership.objects.create(
        organisation=organisation,
        entered_on=entered_on,
        entry_reason=reason,
        recorded_by_label=audit.actor_label(actor),
    )
    for grant in FreedomGrant.objects.filter(organisation=organisation, status__in=LIVE_GRANT):
        before = grant.status
        grant.status, grant.status_reason = GrantStatus.REVOKED, "Entered the programme"
        grant.save()
        _event(grant, before, GrantStatus.REVOKED, None, None, "Entered the programme", actor)
    audit.record(
        actor=actor,
        action="programme.entered",
        obj=membership,
        after={"organisation": organisation.code, "entered_on": entered_on.isoformat()},
        reason=reason,
    )
    return membership


@transaction.atomic
def leave_programme(
    *, organisation: Organisation, left_on: datetime.date, reason: str, actor: Actor
):
    """Record exit from the Provider Improvement Programme (applies from the next run)."""

    _require(actor, Permission.MANAGE_PROGRAMME, organisation)
    if not reason.strip():
        raise AutonomyError("Give the reason for leaving the programme.")
    stay = (
        ProgrammeMembership.objects.select_for_update()
        .filter(organisation=organisation, left_on__isnull=True)
        .order_by("-entered_on")
        .first()
    )
    if stay is None:
        raise AutonomyError(f"{organisation.code} is not in the programme.")
    if left_on <= stay.entered_on:
        raise AutonomyError(
            f"It entered on {stay.entered_on:%d %B %Y}; it must leave after.", field="left_on"
        )
    stay.left_on, stay.exit_reason = left_on, reason
    stay.save(update_fields=["left_on", "exit_reason"])
    audit.record(
        actor=actor,
        action="programme.left",
        obj=stay,
        before={"left_on": None},
        after={"organisation": organisation.code, "left_on": left_on.isoformat()},
        reason=reason,
    )
    return stay


@transaction.atomic
def record_cqc_rating(
    *, organisation: Organisation, rating: str, published_on, actor: Actor, source: str = ""
) -> CqcRating:

    _require(actor, Permission.MANAGE_FREEDOMS_CATALOGUE, organisation)
    valid = {r for r, _ in CqcRating._meta.get_field("rating").choices}
    if rating not in valid:
        raise AutonomyError(f"'{rating}' is not a CQC rating; expected {', '.join(sorted(valid))}.")
    row = CqcRating.objects.create(
        organisation=organisation,
        rating=rating,
        published_on=published_on,
        source=source,
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="cqc.recorded",
        obj=row,
        after={"organisation": organisation.code, "rating": rating},
    )
    return row


@transaction.atomic
def record_capability(
    *,
    organisation: Organisation,
    financial_year: str,
    assessor: str,
    areas: dict[str, int],
    overall: int,
    actor: Actor,
) -> CapabilityAssessment:

    _require(actor, Permission.RECORD_ICB_SEGMENT, organisation)
    if assessor not in ("board", "region"):
        raise AutonomyError("The assessor is the board (self-assessment) or the region.")
    if not is_financial_year(financial_year):
        raise AutonomyError(f"{financial_year!r} is not a financial year; write it like 2026/27.")
    policy = AutonomyPolicy.objects.first()
    levels = range(1, len(policy.capability_scale) + 1) if policy else range(1, 5)
    unknown = set(areas) - set(policy.capability_areas if policy else areas)
    if unknown:
        raise AutonomyError(f"Unknown capability area(s): {', '.join(sorted(unknown))}.")
    if overall not in levels or any(v not in levels for v in areas.values()):
        raise AutonomyError(f"Levels run from 1 (best) to {levels[-1]}.")
    row = CapabilityAssessment.objects.create(
        organisation=organisation,
        financial_year=financial_year,
        assessor=assessor,
        areas=areas,
        overall=overall,
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="capability.recorded",
        obj=row,
        after={"organisation": organisation.code, "assessor": assessor, "overall": overall},
    )
    return row

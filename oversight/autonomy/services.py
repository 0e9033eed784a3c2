"""The human steps of earned autonomy and the oversight response, each checked against
the actor's role and audited: confirming grants, Advanced Foundation Trust steps, closing
actions, programme entry and exit, CQC ratings and capability assessments.

The response to a run is in :mod:`oversight.autonomy.response`; the policy in
:mod:`oversight.autonomy.policy`.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.dates import is_financial_year
from core.errors import require_reason
from systems import audit
from systems.actors import Actor, is_system
from systems.authorization import INPUT_AUTHORITY, Input, Permission, has_permission
from systems.models import Organisation

from ..models import (
    ProgrammeMembership,
)
from .errors import AutonomyError
from .models import (
    LIVE_GRANT,
    ActionEvent,
    ActionStatus,
    AutonomyPolicy,
    CapabilityAssessment,
    CqcRating,
    FreedomGrant,
    GrantStatus,
    OversightAction,
)
from .policy import AFT, MAX_REASSESSMENT_YEARS
from .response import record_grant_event

__all__ = ["AutonomyError"]


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
    require_reason(reason, "Give the reason for the decision.", AutonomyError)
    new = GrantStatus.GRANTED if confirm else GrantStatus.DECLINED
    grant.status, grant.status_reason = new, reason
    grant.confirmed_by_label, grant.confirmed_at = audit.actor_label(actor), timezone.now()
    grant.save()
    record_grant_event(grant, GrantStatus.PROPOSED, new, None, None, reason, actor)
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
    require_reason(note, "Closing an action needs a note saying why.", AutonomyError, "note")
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

    _require(actor, INPUT_AUTHORITY[Input.PROGRAMME], organisation)
    require_reason(reason, "Give the reason for entry to the programme.", AutonomyError)
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
        record_grant_event(
            grant, before, GrantStatus.REVOKED, None, None, "Entered the programme", actor
        )
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

    _require(actor, INPUT_AUTHORITY[Input.PROGRAMME], organisation)
    require_reason(reason, "Give the reason for leaving the programme.", AutonomyError)
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

    _require(actor, INPUT_AUTHORITY[Input.RATING], organisation)
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

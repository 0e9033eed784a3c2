"""Commissioning change requests: they wait for the region's decision while the condition is
in force and overall spend changes, and are noted otherwise."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import require_reason
from oversight.notifications import notify, notify_person
from systems import audit
from systems.actors import Actor, is_system, person_of
from systems.authorization import Permission, has_permission
from systems.models import IntegratedCareBoard

from ..models import (
    AgreementCondition,
    ChangeRequestEvent,
    CommissioningChangeRequest,
    DelegationAgreement,
    RequestStatus,
    SpecialisedService,
)
from ..selectors import in_force_agreement
from .base import DelegationError, _require, _today


def _move(actor: Actor, request: CommissioningChangeRequest, status: str, note: str = "") -> None:
    before = request.status
    request.status = status
    request.save(update_fields=["status"])
    ChangeRequestEvent.objects.create(
        request=request,
        status_from=before,
        status_to=status,
        actor_label=audit.actor_label(actor),
        note=note,
    )
    audit.record(
        actor=actor,
        action=f"delegation.change_request_{status}",
        obj=request,
        before={"status": before},
        after={"status": status},
        reason=note,
    )


def _pounds(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", "").replace("£", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise DelegationError(
            f"The annual spend effect must be an amount in pounds, like 250000 or -1200000.50, "
            f"not {value!r}."
        ) from exc
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise DelegationError("The annual spend effect must be under £1,000,000,000,000.")
    return amount.quantize(Decimal("0.01"))


def _agreement_delegating(
    icb: IntegratedCareBoard, services: list[SpecialisedService], on: datetime.date
) -> DelegationAgreement:
    """The ICB's agreement in force, refusing unless it delegates every service on ``on``."""
    agreement = in_force_agreement(icb.pk)
    if agreement is None:
        raise DelegationError(
            f"{icb.name} has no delegation agreement in force, so NHS England commissions "
            "these services; there is nothing to change through a request."
        )
    scheduled = {
        line.service_id
        for line in agreement.schedule.all()
        if line.effective_from <= on and (line.effective_to is None or line.effective_to >= on)
    }
    outside = [s.name for s in services if s.pk not in scheduled]
    if outside:
        raise DelegationError(
            f"Not delegated to {icb.name} on {on:%-d %B %Y} under {agreement}: "
            + ", ".join(outside)
            + "."
        )
    return agreement


def _raised_note(
    icb: IntegratedCareBoard, condition: AgreementCondition | None, needs_approval: bool
) -> str:
    if needs_approval:
        return (
            f"{condition.rule.name} is in force and overall spend changes: awaits the "
            f"{icb.region.name} regional director's decision."
        )
    if condition is not None:
        return "No approval needed: overall spend does not change."
    return "No approval needed: no spending condition is in force."


@transaction.atomic
def raise_change_request(
    *,
    actor: Actor,
    icb: IntegratedCareBoard,
    services: Iterable[SpecialisedService],
    title: str,
    description: str,
    annual_spend_effect: Any,
    changes_overall_spend: bool,
    intended_start: datetime.date,
) -> CommissioningChangeRequest:
    """An ICB analyst describes a proposed change. With the condition in force and overall
    spend changing it awaits the regional director's decision; otherwise it is noted."""
    _require(actor, Permission.RAISE_CHANGE_REQUEST, icb, "raise change requests")
    services = list(services)
    if not services:
        raise DelegationError("Choose the delegated services the change affects.")
    if not title.strip() or not description.strip():
        raise DelegationError("Give the change a title and describe it.")
    amount = _pounds(annual_spend_effect)
    agreement = _agreement_delegating(icb, services, intended_start)
    condition = (
        AgreementCondition.objects.filter(agreement=agreement, lifted_at__isnull=True)
        .select_related("rule")
        .first()
    )
    needs_approval = condition is not None and bool(changes_overall_spend)
    status = RequestStatus.AWAITING_DECISION if needs_approval else RequestStatus.NOTED
    request = CommissioningChangeRequest.objects.create(
        icb=icb,
        agreement=agreement,
        title=title.strip()[:200],
        description=description.strip(),
        annual_spend_effect=amount,
        changes_overall_spend=bool(changes_overall_spend),
        intended_start=intended_start,
        status=status,
        needs_approval=needs_approval,
        condition=condition if needs_approval else None,
        raised_by=person_of(actor),
        raised_by_label=audit.actor_label(actor),
    )
    request.services.set(services)
    note = _raised_note(icb, condition, needs_approval)
    ChangeRequestEvent.objects.create(
        request=request, status_to=status, actor_label=audit.actor_label(actor), note=note
    )
    audit.record(
        actor=actor,
        action="delegation.change_request_raised",
        obj=request,
        after={
            "status": status,
            "services": [s.name for s in services],
            "annual_spend_effect": str(amount),
            "changes_overall_spend": bool(changes_overall_spend),
            "intended_start": intended_start.isoformat(),
        },
        reason=note,
    )
    if needs_approval:
        notify([(icb, f"change request awaiting decision: {request.title}", note)])
    return request


def _locked(request: CommissioningChangeRequest) -> CommissioningChangeRequest:
    return (
        CommissioningChangeRequest.objects.select_for_update(of=("self",))
        .select_related("icb__region", "raised_by")
        .get(pk=request.pk)
    )


@transaction.atomic
def decide_change_request(
    *, actor: Actor, request: CommissioningChangeRequest, approve: bool, reason: str
) -> CommissioningChangeRequest:
    """The regional director of the ICB's region approves or rejects, with a reason."""
    request = _locked(request)
    icb = request.icb
    if is_system(actor) or not has_permission(actor, Permission.DECIDE_CHANGE_REQUEST, icb):
        raise DelegationError(
            f"Only a regional director of {icb.region.name} can decide {icb.name}'s requests."
        )
    if request.status != RequestStatus.AWAITING_DECISION:
        raise DelegationError(
            f"This request is {request.get_status_display().lower()}; it is not awaiting a "
            "decision."
        )
    require_reason(reason, "Give the reason for the decision.", DelegationError)
    request.decided_by = person_of(actor)
    request.decided_by_label = audit.actor_label(actor)
    request.decided_at = timezone.now()
    request.decision_reason = reason.strip()
    request.save(update_fields=["decided_by", "decided_by_label", "decided_at", "decision_reason"])
    outcome = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    _move(actor, request, outcome, reason.strip())
    notify_person(
        request.raised_by,
        request.icb,
        f"change request {outcome}: {request.title}",
        f"{request.decided_by_label} {outcome} the request: {reason.strip()}",
    )
    return request


@transaction.atomic
def start_change_request(
    *, actor: Actor, request: CommissioningChangeRequest, started_on: datetime.date | None = None
) -> CommissioningChangeRequest:
    """Mark the change as started: only once approved, or when no approval was needed."""
    request = _locked(request)
    if not is_system(actor) and not (
        has_permission(actor, Permission.RAISE_CHANGE_REQUEST, request.icb)
        or has_permission(actor, Permission.DECIDE_CHANGE_REQUEST, request.icb)
    ):
        raise DelegationError(
            f"You do not have permission to update {request.icb.name}'s requests."
        )
    if request.status == RequestStatus.AWAITING_DECISION:
        raise DelegationError(
            "This change needs the region's approval before it is made or any change process "
            "begins; it cannot be marked as started yet."
        )
    if request.status not in (RequestStatus.APPROVED, RequestStatus.NOTED):
        raise DelegationError(
            f"This request is {request.get_status_display().lower()}; it cannot start."
        )
    request.started_on = started_on or _today()
    request.save(update_fields=["started_on"])
    _move(actor, request, RequestStatus.STARTED, f"Started on {request.started_on}.")
    return request

"""Delegation agreements: draft → signed → in force → ended. Only a regional director of
the ICB's own region signs; a retained service can never be scheduled."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q

from core.dates import financial_year_bounds, is_financial_year
from systems import audit
from systems.actors import Actor, SystemActor, is_system, person_of
from systems.authorization import Permission, has_permission
from systems.models import IntegratedCareBoard, Succession

from ..models import (
    AgreementCondition,
    AgreementService,
    AgreementStatus,
    AgreementTemplate,
    ArrangementCategory,
    CommissioningChangeRequest,
    DelegationAgreement,
    DevelopmentalArrangement,
    RequestStatus,
    ServiceStatus,
    SpecialisedService,
)
from ..selectors import delegation_dates
from .base import DelegationError, _require, _today
from .conditions import _lift, _release, apply_conditions


def _agreement_state(agreement: DelegationAgreement) -> dict[str, Any]:
    return {
        "status": agreement.status,
        "signed_by": agreement.signed_by_label or None,
        "signed_on": agreement.signed_on.isoformat() if agreement.signed_on else None,
        "in_force_from": agreement.in_force_from.isoformat() if agreement.in_force_from else None,
        "ended_on": agreement.ended_on.isoformat() if agreement.ended_on else None,
    }


def _check_financial_year(financial_year: str) -> tuple[datetime.date, datetime.date]:
    if not is_financial_year(financial_year):
        raise DelegationError(
            f"{financial_year!r} is not a financial year; write it like 2026/27.",
            field="financial_year",
        )
    return financial_year_bounds(financial_year)


@transaction.atomic
def create_agreement(
    *,
    actor: Actor,
    icb: IntegratedCareBoard,
    financial_year: str,
    template: AgreementTemplate | None = None,
    services: Iterable[SpecialisedService] | None = None,
) -> DelegationAgreement:
    """A draft agreement for ``icb`` and ``financial_year`` from the year's template.

    ``services`` defaults to every delegable service delegated in the ICB's region during
    the year, each effective from the later of the year's start and its delegation date.
    The agreements of ICBs that merged into ``icb`` are recorded as its predecessors.
    """
    _require(actor, Permission.MANAGE_DELEGATION, icb, "prepare delegation agreements")
    start, end = _check_financial_year(financial_year)
    if not icb.existed_on(start):
        raise DelegationError(
            f"{icb.name} does not exist on {start:%-d %B %Y}; agreements are made with the ICBs "
            "of that year."
        )
    if DelegationAgreement.objects.filter(icb=icb, financial_year=financial_year).exists():
        raise DelegationError(f"{icb.name} already has a {financial_year} agreement.")
    template = template or _template_for(financial_year)
    agreement = DelegationAgreement.objects.create(
        icb=icb,
        financial_year=financial_year,
        template=template,
        starts_on=start,
        ends_on=end,
        created_by_label=audit.actor_label(actor),
    )
    predecessors = _predecessor_agreements(icb, start)
    agreement.predecessors.set(predecessors)
    dates = delegation_dates(icb.region_id)
    if services is None:
        scheduled = _schedule_default(agreement, dates)
    else:
        services = list(services)
        for service in services:
            _schedule(agreement, service, start, None, dates)
        scheduled = len(services)
    audit.record(
        actor=actor,
        action="delegation.agreement_created",
        obj=agreement,
        after={
            **_agreement_state(agreement),
            "template": template.version,
            "services": scheduled,
            "predecessors": [str(p) for p in predecessors],
        },
    )
    return agreement


def _template_for(financial_year: str) -> AgreementTemplate:
    template = (
        AgreementTemplate.objects.filter(financial_year=financial_year)
        .order_by("-published_on", "-id")
        .first()
    )
    if template is None:
        raise DelegationError(
            f"No agreement template for {financial_year} is loaded; add one first."
        )
    return template


def _predecessor_agreements(
    icb: IntegratedCareBoard, start: datetime.date
) -> list[DelegationAgreement]:
    """The previous year's agreements of the ICBs that merged into ``icb`` in the year
    before ``start``."""
    predecessor_ids = Succession.objects.filter(
        successor=icb, date__lte=start, date__gt=start - datetime.timedelta(days=366)
    ).values_list("predecessor_id", flat=True)
    previous_year = f"{start.year - 1}/{start.year % 100:02d}"
    return list(
        DelegationAgreement.objects.filter(
            icb_id__in=list(predecessor_ids), financial_year=previous_year
        )
    )


def _schedule_default(agreement: DelegationAgreement, dates: dict[str, datetime.date]) -> int:
    """Every delegable service delegated in the region by the year's end, each from the
    later of the year's start and its delegation date: valid by construction, so written
    in one statement."""
    start, end = agreement.starts_on, agreement.ends_on
    lines = [
        AgreementService(
            agreement=agreement,
            service=service,
            effective_from=max(dates[service.tranche], start),
        )
        for service in SpecialisedService.objects.filter(
            status=ServiceStatus.DELEGABLE, retired_on__isnull=True
        )
        if service.tranche in dates and dates[service.tranche] <= end
    ]
    AgreementService.objects.bulk_create(lines)
    return len(lines)


def _schedule(
    agreement: DelegationAgreement,
    service: SpecialisedService,
    effective_from: datetime.date,
    effective_to: datetime.date | None,
    dates: dict[str, datetime.date] | None = None,
) -> AgreementService:
    if service.status == ServiceStatus.RETAINED:
        kind = "a highly specialised service" if service.highly_specialised else "a service"
        raise DelegationError(
            f"{service.name} is {kind} retained by NHS England as direct commissioner; "
            "it can never be delegated in an agreement."
        )
    if service.retired_on is not None and service.retired_on <= effective_from:
        raise DelegationError(
            f"{service.name} was retired from the catalogue on {service.retired_on}."
        )
    if not agreement.starts_on <= effective_from <= agreement.ends_on:
        raise DelegationError(
            f"{service.name}: the effective date {effective_from} is outside the agreement's "
            f"year ({agreement.starts_on} to {agreement.ends_on})."
        )
    if effective_to is not None and effective_to < effective_from:
        raise DelegationError(f"{service.name}: the end date is before the effective date.")
    if dates is None:
        dates = delegation_dates(agreement.icb.region_id)
    since = dates.get(service.tranche)
    region = agreement.icb.region.name
    if since is None:
        raise DelegationError(
            f"{service.name} has no delegation date for {region} in the timeline."
        )
    if effective_from < since:
        raise DelegationError(
            f"{service.name} is delegated in {region} from {since:%-d %B %Y}, not "
            f"{effective_from:%-d %B %Y}."
        )
    if AgreementService.objects.filter(agreement=agreement, service=service).exists():
        raise DelegationError(f"{service.name} is already in this agreement's schedule.")
    return AgreementService.objects.create(
        agreement=agreement,
        service=service,
        effective_from=effective_from,
        effective_to=effective_to,
    )


def _draft(agreement: DelegationAgreement) -> DelegationAgreement:
    agreement = (
        DelegationAgreement.objects.select_for_update()
        .select_related("icb__region")
        .get(pk=agreement.pk)
    )
    if agreement.status != AgreementStatus.DRAFT:
        raise DelegationError(
            f"This agreement is {agreement.get_status_display().lower()}; only a draft can be "
            "changed."
        )
    return agreement


@transaction.atomic
def schedule_service(
    *,
    actor: Actor,
    agreement: DelegationAgreement,
    service: SpecialisedService,
    effective_from: datetime.date,
    effective_to: datetime.date | None = None,
) -> AgreementService:
    """Add a service to a draft agreement's schedule (never a retained one)."""
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "prepare delegation agreements")
    agreement = _draft(agreement)
    line = _schedule(agreement, service, effective_from, effective_to)
    audit.record(
        actor=actor,
        action="delegation.service_scheduled",
        obj=agreement,
        after={
            "service": service.name,
            "effective_from": effective_from.isoformat(),
            "effective_to": effective_to.isoformat() if effective_to else None,
        },
    )
    return line


@transaction.atomic
def add_developmental_arrangement(
    *,
    actor: Actor,
    agreement: DelegationAgreement,
    category: str,
    text: str,
    agreed_by: str,
    review_date: datetime.date,
) -> DevelopmentalArrangement:
    """A local arrangement tailored to the ICB's readiness (draft, signed or in force)."""
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "prepare delegation agreements")
    if agreement.status == AgreementStatus.ENDED:
        raise DelegationError("This agreement has ended.")
    if category not in ArrangementCategory.values:
        raise DelegationError(
            f"The category must be one of {', '.join(ArrangementCategory.labels).lower()}."
        )
    if not text.strip() or not agreed_by.strip():
        raise DelegationError("Say what the arrangement is and who agreed it.")
    if review_date < agreement.starts_on:
        raise DelegationError("The review date is before the agreement starts.")
    item = DevelopmentalArrangement.objects.create(
        agreement=agreement,
        category=category,
        text=text.strip(),
        agreed_by=agreed_by.strip(),
        review_date=review_date,
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="delegation.arrangement_added",
        obj=agreement,
        after={
            "category": category,
            "text": item.text,
            "agreed_by": item.agreed_by,
            "review_date": review_date.isoformat(),
        },
    )
    return item


@transaction.atomic
def sign_agreement(
    *, actor: Actor, agreement: DelegationAgreement, signed_on: datetime.date | None = None
) -> DelegationAgreement:
    """The regional director of the ICB's own region signs for NHS England; nobody else can."""
    agreement = _draft(agreement)
    icb = agreement.icb
    if is_system(actor) or not has_permission(actor, Permission.SIGN_DELEGATION_AGREEMENT, icb):
        raise DelegationError(
            f"Only a regional director of {icb.region.name} can sign {icb.name}'s agreement."
        )
    lines = list(agreement.schedule.select_related("service"))
    if not lines:
        raise DelegationError("The agreement delegates no services yet; schedule them first.")
    retained = [line.service.name for line in lines if not line.service.is_delegable]
    if retained:
        raise DelegationError(
            "These services are retained or retired and cannot be delegated: "
            + ", ".join(retained)
            + ". Remove them before signing."
        )
    before = _agreement_state(agreement)
    agreement.status = AgreementStatus.SIGNED
    agreement.signed_by = person_of(actor)
    agreement.signed_by_label = audit.actor_label(actor)
    agreement.signed_on = signed_on or _today()
    agreement.save()
    audit.record(
        actor=actor,
        action="delegation.agreement_signed",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
    )
    return agreement


@transaction.atomic
def record_signature_made_elsewhere(
    *, actor: str, agreement: DelegationAgreement, signatory: str, signed_on: datetime.date
) -> DelegationAgreement:
    """Record a signature made on paper before the agreement was in the product (data
    migration from the command line only; people sign with :func:`sign_agreement`)."""
    if not is_system(actor):
        raise DelegationError("People sign agreements themselves; this is for data migration.")
    agreement = _draft(agreement)
    if not signatory.strip():
        raise DelegationError("Name who signed for NHS England.")
    before = _agreement_state(agreement)
    agreement.status = AgreementStatus.SIGNED
    agreement.signed_by_label = signatory.strip()[:150]
    agreement.signed_on = signed_on
    agreement.save()
    audit.record(
        actor=actor,
        action="delegation.agreement_signature_recorded",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
        reason="Signed outside the product; recorded from the signed copy",
    )
    return agreement


@transaction.atomic
def bring_into_force(
    *, actor: Actor, agreement: DelegationAgreement, on: datetime.date | None = None
) -> DelegationAgreement:
    """A signed agreement comes into force (on its start date, or ``on`` if later). The ICB's
    earlier agreement, and those of ICBs merged into it, end the day before."""
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "bring agreements into force")
    agreement = (
        DelegationAgreement.objects.select_for_update().select_related("icb").get(pk=agreement.pk)
    )
    if agreement.status != AgreementStatus.SIGNED:
        raise DelegationError(
            f"Only a signed agreement can come into force; this one is "
            f"{agreement.get_status_display().lower()}."
        )
    start = max(agreement.starts_on, on or agreement.starts_on)
    if start > agreement.ends_on:
        raise DelegationError("The agreement's year is over; it cannot come into force now.")
    earlier = DelegationAgreement.objects.filter(
        Q(icb=agreement.icb) | Q(pk__in=agreement.predecessors.values("pk")),
        status__in=[AgreementStatus.SIGNED, AgreementStatus.IN_FORCE],
    ).exclude(pk=agreement.pk)
    for old in earlier:
        why = (
            f"{old.icb.name} merged into {agreement.icb.name}; obligations pass to {agreement}."
            if old.icb_id != agreement.icb_id
            else f"Superseded by the {agreement.financial_year} agreement."
        )
        _end(actor, old, start - datetime.timedelta(days=1), why)
    before = _agreement_state(agreement)
    agreement.status = AgreementStatus.IN_FORCE
    agreement.in_force_from = start
    agreement.save()
    audit.record(
        actor=actor,
        action="delegation.agreement_in_force",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
    )
    # Requests still waiting under the agreements this one replaces carry on under it.
    waiting = list(
        CommissioningChangeRequest.objects.filter(
            agreement__in=[old.pk for old in earlier], status=RequestStatus.AWAITING_DECISION
        )
    )
    CommissioningChangeRequest.objects.filter(pk__in=[r.pk for r in waiting]).update(
        agreement=agreement
    )
    apply_conditions(actor=actor, icb_ids=[agreement.icb_id])
    condition = AgreementCondition.objects.filter(
        agreement=agreement, lifted_at__isnull=True
    ).first()
    for request in waiting:
        request.refresh_from_db()
        if condition is not None:
            request.condition = condition
            request.save(update_fields=["condition"])
        else:
            _release(actor, request, f"No spending condition applies under {agreement}.")
    return agreement


def _end(actor: Actor, agreement: DelegationAgreement, on: datetime.date, reason: str) -> None:
    before = _agreement_state(agreement)
    DelegationAgreement.objects.filter(pk=agreement.pk).update(
        status=AgreementStatus.ENDED, ended_on=on, end_reason=reason
    )
    agreement.refresh_from_db()
    for condition in AgreementCondition.objects.filter(agreement=agreement, lifted_at__isnull=True):
        # Waiting requests stay waiting: a following agreement takes them over.
        _lift(actor, condition, None, "The agreement ended.", release=False)
    audit.record(
        actor=actor,
        action="delegation.agreement_ended",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
        reason=reason,
    )


@transaction.atomic
def advance_agreements(
    *, today: datetime.date | None = None, actor: Actor = SystemActor("system")
) -> dict:
    """The daily step: signed agreements whose year has begun come into force, in-force
    agreements whose year is over end."""
    today = today or _today()
    done = {"in_force": 0, "ended": 0}
    for agreement in DelegationAgreement.objects.filter(
        status=AgreementStatus.IN_FORCE, ends_on__lt=today
    ):
        _end(actor, agreement, agreement.ends_on, "The agreement's financial year ended.")
        done["ended"] += 1
    for agreement in DelegationAgreement.objects.filter(
        status=AgreementStatus.SIGNED, starts_on__lte=today, ends_on__gte=today
    ).order_by("starts_on"):
        bring_into_force(actor=actor, agreement=agreement, on=today)
        done["in_force"] += 1
    return done

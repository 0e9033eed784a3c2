"""ICB segments and the spending-approval condition.

:func:`apply_conditions` puts the condition on (or lifts it from) each ICB's in-force
agreement from the ICB's latest segment. It runs after every segmentation run (in the order
``oversight.runs`` sets, after :func:`record_run_icb_segments`), every recorded ICB segment
and every agreement coming into force."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.errors import require_reason
from oversight.models import OrganisationAssessment, SegmentationRun
from oversight.notifications import notify, notify_person
from systems import audit
from systems.actors import Actor, person_of
from systems.authorization import Permission
from systems.models import IntegratedCareBoard

from ..models import (
    AgreementCondition,
    AgreementStatus,
    CommissioningChangeRequest,
    ConditionRule,
    DelegationAgreement,
    IcbSegment,
    RequestStatus,
    SegmentSource,
)
from ..selectors import current_icb_segments
from .base import DelegationError, _require, _today
from .change_requests import _move


@transaction.atomic
def record_icb_segment(
    *,
    actor: Actor,
    icb: IntegratedCareBoard,
    segment: int,
    source: str,
    as_of: datetime.date | None = None,
    reason: str = "",
    period=None,
) -> IcbSegment:
    """A national or regional user records an ICB's segment (for periods whose methodology
    does not segment ICBs), with its source; the condition follows at once."""
    _require(actor, Permission.RECORD_ICB_SEGMENT, icb, "record ICB segments")
    if segment not in (1, 2, 3, 4, 5):
        raise DelegationError(f"The segment must be 1, 2, 3, 4 or 5, not {segment!r}.")
    if not source.strip():
        raise DelegationError("Say where the segment comes from (e.g. the letter or meeting).")
    as_of = as_of or _today()
    if not icb.existed_on(as_of):
        raise DelegationError(f"{icb.name} did not exist on {as_of}.")
    record = IcbSegment.objects.create(
        icb=icb,
        segment=segment,
        as_of=as_of,
        source_kind=SegmentSource.RECORDED,
        source=source.strip(),
        period=period,
        reason=reason,
        recorded_by=person_of(actor),
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="delegation.icb_segment_recorded",
        obj=record,
        after={
            "icb": icb.code,
            "segment": segment,
            "as_of": as_of.isoformat(),
            "source": record.source,
        },
        reason=reason,
    )
    apply_conditions(actor=actor, icb_ids=[icb.pk])
    return record


@dataclass
class ConditionChanges:
    applied: list[AgreementCondition] = field(default_factory=list)
    lifted: list[AgreementCondition] = field(default_factory=list)


def record_run_icb_segments(*, run: SegmentationRun, actor: Actor) -> int:
    """After a segmentation run (inside its transaction): the segments it computed for ICBs
    join their segment history (unless the period's latest computed one is the same).
    Returns how many were recorded; the conditions follow in :func:`apply_conditions`."""
    latest_for_period = {
        icb_id: segment
        for icb_id, segment in IcbSegment.objects.filter(
            period=run.period, source_kind=SegmentSource.RUN
        )
        .order_by("icb_id", "recorded_at", "id")
        .values_list("icb_id", "segment")
    }
    icb_ids = set(IntegratedCareBoard.objects.values_list("pk", flat=True))
    new = []
    for org_id, segment in OrganisationAssessment.objects.filter(
        run=run, segmented=True, final_segment__isnull=False, organisation_id__in=icb_ids
    ).values_list("organisation_id", "final_segment"):
        if latest_for_period.get(org_id) == segment:
            continue
        new.append(
            IcbSegment(
                icb_id=org_id,
                segment=segment,
                as_of=run.period.end_date,
                source_kind=SegmentSource.RUN,
                source=f"Segmentation run {run.pk} for {run.period.label}",
                run=run,
                period=run.period,
                recorded_by_label=audit.actor_label(actor),
            )
        )
    IcbSegment.objects.bulk_create(new)
    if new:
        audit.record(
            actor=actor,
            action="delegation.icb_segments_computed",
            obj=run,
            after={"icbs": len(new)},
            reason=f"ICB segments from the run for {run.period.label}",
        )
    return len(new)


def apply_conditions(*, actor: Actor, icb_ids: Iterable[int] | None = None) -> ConditionChanges:
    """Each in-force agreement gets each active rule's condition while its ICB's latest
    segment is among the rule's segments, and has it lifted when the ICB leaves them."""
    changes = ConditionChanges()
    agreements = DelegationAgreement.objects.filter(status=AgreementStatus.IN_FORCE).select_related(
        "icb__region"
    )
    if icb_ids is not None:
        agreements = agreements.filter(icb_id__in=list(icb_ids))
    agreements = list(agreements)
    if not agreements:
        return changes
    rules = list(ConditionRule.objects.filter(active=True))
    segments = current_icb_segments([a.icb_id for a in agreements])
    open_conditions = {
        (c.agreement_id, c.rule_id): c
        for c in AgreementCondition.objects.filter(
            agreement__in=agreements, lifted_at__isnull=True
        ).select_related("rule")
    }
    notices = []
    for agreement in agreements:
        latest = segments.get(agreement.icb_id)
        for rule in rules:
            applies = latest is not None and latest.segment in rule.segments
            existing = open_conditions.get((agreement.pk, rule.pk))
            if applies and existing is None:
                condition = AgreementCondition.objects.create(
                    agreement=agreement, rule=rule, applied_on=_today(), applied_because=latest
                )
                audit.record(
                    actor=actor,
                    action="delegation.condition_applied",
                    obj=agreement,
                    after={
                        "condition": rule.slug,
                        "segment": latest.segment,
                        "because": latest.source,
                    },
                    reason=f"{agreement.icb.name} is in segment {latest.segment}",
                )
                changes.applied.append(condition)
                notices.append(
                    (
                        agreement.icb,
                        f"{rule.name}: now in force",
                        f"{agreement.icb.name} is in segment {latest.segment} "
                        f"({latest.source}). {rule.description}",
                    )
                )
            elif existing is not None and not applies:
                why = (
                    f"{agreement.icb.name} is now in segment {latest.segment}"
                    if latest is not None
                    else f"{agreement.icb.name} has no segment"
                )
                _lift(actor, existing, latest, why)
                changes.lifted.append(existing)
                notices.append((agreement.icb, f"{rule.name}: lifted", why + "."))
    if notices:
        notify(notices)
    return changes


def _lift(
    actor: Actor,
    condition: AgreementCondition,
    because: IcbSegment | None,
    why: str,
    release: bool = True,
):
    condition.lifted_on = _today()
    condition.lifted_at = timezone.now()
    condition.lifted_because = because
    condition.lift_reason = why[:300]
    condition.save(update_fields=["lifted_on", "lifted_at", "lifted_because", "lift_reason"])
    audit.record(
        actor=actor,
        action="delegation.condition_lifted",
        obj=condition.agreement,
        before={"condition": condition.rule.slug, "in_force": True},
        after={"condition": condition.rule.slug, "in_force": False},
        reason=why,
    )
    if not release:
        return
    waiting = CommissioningChangeRequest.objects.filter(
        agreement=condition.agreement, status=RequestStatus.AWAITING_DECISION
    )
    for request in waiting:
        _release(actor, request, f"The condition on {condition.agreement} was lifted ({why}).")


def _release(actor: Actor, request: CommissioningChangeRequest, why: str) -> None:
    """A waiting request no longer needs approval: it is noted and its requester told."""
    _move(actor, request, RequestStatus.NOTED, f"{why} Approval is no longer needed.")
    notify_person(
        request.raised_by,
        request.icb,
        "approval no longer needed",
        f"{why} Your request is noted and may go ahead.",
    )


@transaction.atomic
def set_condition_segments(
    *, actor: Actor, rule: ConditionRule, segments: list[int], reason: str
) -> ConditionRule:
    """A national user changes the segments a condition applies in; it takes effect now."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change delegation conditions")
    segments = sorted(set(segments))
    if not segments or any(s not in (1, 2, 3, 4, 5) for s in segments):
        raise DelegationError("The segments must be among 1 to 5.")
    require_reason(reason, "Give the reason for the change.", DelegationError)
    before = {"segments": rule.segments, "version": rule.version}
    rule.segments, rule.version = segments, rule.version + 1
    rule.save(update_fields=["segments", "version", "updated_at"])
    audit.record(
        actor=actor,
        action="delegation.condition_rule_changed",
        obj=rule,
        before=before,
        after={"segments": segments, "version": rule.version},
        reason=reason,
    )
    apply_conditions(actor=actor)
    return rule

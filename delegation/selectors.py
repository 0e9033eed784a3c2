"""Reads shared by delegation services, pages and the API."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from oversight.demo import DEMO_SOURCE
from systems.models import IntegratedCareBoard, Organisation, Region, Succession

from .models import (
    AgreementCondition,
    AgreementService,
    AgreementStatus,
    AgreementTemplate,
    Arrangement,
    CollaborationArrangement,
    CommissioningChangeRequest,
    DelegationAgreement,
    DelegationTimeline,
    IcbSegment,
    RequestStatus,
    SpecialisedService,
)

LIVE = (AgreementStatus.SIGNED, AgreementStatus.IN_FORCE)


def delegation_dates(region_id: int) -> dict[str, datetime.date]:
    """Tranche → the date its services were delegated in the region (absent: not yet)."""
    return dict(
        DelegationTimeline.objects.filter(
            region_id=region_id, arrangement=Arrangement.DELEGATED
        ).values_list("tranche", "starts_on")
    )


def delegated_from(region_id: int, tranche: str) -> datetime.date | None:
    """The date services of ``tranche`` were delegated in the region (None if not yet)."""
    return delegation_dates(region_id).get(tranche)


def current_icb_segments(
    icb_ids: Iterable[int] | None = None, on: datetime.date | None = None
) -> dict[int, IcbSegment]:
    """Each ICB's segment that applies now (or ``on``): the latest ``as_of``, then the
    latest recorded, computed and recorded alike."""
    rows = IcbSegment.objects.order_by("icb_id", "-as_of", "-recorded_at", "-id")
    if icb_ids is not None:
        rows = rows.filter(icb_id__in=list(icb_ids))
    if on is not None:
        rows = rows.filter(as_of__lte=on)
    out: dict[int, IcbSegment] = {}
    for row in rows.select_related("run", "period"):
        out.setdefault(row.icb_id, row)
    return out


def in_force_agreement(icb_id: int) -> DelegationAgreement | None:
    return (
        DelegationAgreement.objects.filter(icb_id=icb_id, status=AgreementStatus.IN_FORCE)
        .select_related("icb__region", "template")
        .prefetch_related("schedule")
        .order_by("-starts_on")
        .first()
    )


def icb_delegation_status(icb_id: int) -> dict[str, Any]:
    """An ICB's agreement in force, the segment that applies to it and, when it has an
    agreement, the spending-approval condition in force (three queries)."""
    agreement = in_force_agreement(icb_id)
    return {
        "agreement": agreement,
        "segment": current_icb_segments([icb_id]).get(icb_id),
        "condition": open_conditions([icb_id]).first() if agreement else None,
    }


def open_conditions(icb_ids: Iterable[int] | None = None) -> QuerySet[AgreementCondition]:
    rows = AgreementCondition.objects.filter(lifted_at__isnull=True).select_related(
        "agreement__icb", "rule", "applied_because"
    )
    if icb_ids is not None:
        rows = rows.filter(agreement__icb_id__in=list(icb_ids))
    return rows.order_by("agreement__icb__name")


def awaiting_decision(icb_ids: Iterable[int] | None = None) -> QuerySet:
    rows = CommissioningChangeRequest.objects.filter(
        status=RequestStatus.AWAITING_DECISION
    ).select_related("icb", "agreement", "condition__rule")
    if icb_ids is not None:
        rows = rows.filter(icb_id__in=list(icb_ids))
    return rows.prefetch_related("services").order_by("raised_at")


def without_collaboration(
    icb_ids: Iterable[int], on: datetime.date | None = None
) -> list[IntegratedCareBoard]:
    """ICBs with an in-force agreement and no collaboration arrangement on ``on`` (today)."""
    on = on or timezone.localdate()
    live = Q(collaborations__formed_on__lte=on) & (
        Q(collaborations__ended_on__isnull=True) | Q(collaborations__ended_on__gt=on)
    )
    with_agreement = IntegratedCareBoard.objects.filter(
        pk__in=list(icb_ids), delegation_agreements__status=AgreementStatus.IN_FORCE
    )
    collaborating = IntegratedCareBoard.objects.filter(live).values("pk")
    return list(with_agreement.exclude(pk__in=collaborating).distinct().order_by("name"))


def collaborations_for(icb_id: int, on: datetime.date | None = None) -> list:
    on = on or timezone.localdate()
    return list(
        CollaborationArrangement.objects.filter(members__pk=icb_id, formed_on__lte=on)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))
        .prefetch_related("members")
    )


@dataclass(frozen=True)
class MatrixCell:
    since: datetime.date
    agreement_id: int
    financial_year: str


def delegation_matrix(
    icb_ids: Iterable[int], on: datetime.date
) -> dict[tuple[int, int], MatrixCell]:
    """(service id, ICB id) → since when and under which agreement it is delegated on ``on``
    (agreements signed or in force whose year covers ``on``)."""
    lines = AgreementService.objects.filter(
        agreement__icb_id__in=list(icb_ids),
        agreement__status__in=LIVE,
        agreement__starts_on__lte=on,
        agreement__ends_on__gte=on,
        effective_from__lte=on,
    ).filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
    first = _delegated_since(icb_ids, on)
    out = {}
    for service_id, icb_id, since, agreement_id, year in lines.values_list(
        "service_id",
        "agreement__icb_id",
        "effective_from",
        "agreement_id",
        "agreement__financial_year",
    ):
        since = min(since, first.get((service_id, icb_id), since))
        out[(service_id, icb_id)] = MatrixCell(since, agreement_id, year)
    return out


def _delegated_since(
    icb_ids: Iterable[int], on: datetime.date
) -> dict[tuple[int, int], datetime.date]:
    """(service, ICB) → the earliest date the ICB, or an ICB that merged into it, had the
    service delegated under any agreement that was signed (before ``on``)."""
    icb_ids = list(icb_ids)
    lineage = {i: i for i in icb_ids}
    for predecessor, successor in Succession.objects.filter(successor_id__in=icb_ids).values_list(
        "predecessor_id", "successor_id"
    ):
        lineage.setdefault(predecessor, successor)
    out: dict[tuple[int, int], datetime.date] = {}
    for service_id, icb_id, since in AgreementService.objects.filter(
        agreement__icb_id__in=list(lineage),
        agreement__signed_on__isnull=False,
        effective_from__lte=on,
    ).values_list("service_id", "agreement__icb_id", "effective_from"):
        key = (service_id, lineage[icb_id])
        out[key] = min(since, out.get(key, since))
    return out


def agreement_detail(pk: int) -> DelegationAgreement:
    return (
        DelegationAgreement.objects.select_related("icb__region", "template")
        .prefetch_related(
            Prefetch("schedule", queryset=AgreementService.objects.select_related("service")),
            "developmental_arrangements",
            Prefetch(
                "conditions",
                queryset=AgreementCondition.objects.select_related(
                    "rule", "applied_because", "lifted_because"
                ),
            ),
            Prefetch("predecessors", queryset=DelegationAgreement.objects.select_related("icb")),
            Prefetch("successors", queryset=DelegationAgreement.objects.select_related("icb")),
            Prefetch(
                "change_requests",
                queryset=CommissioningChangeRequest.objects.prefetch_related("services"),
            ),
        )
        .get(pk=pk)
    )


def has_synthetic_records() -> bool:
    """Whether demonstration agreements are loaded (pages then say so)."""
    return DelegationAgreement.objects.filter(created_by_label=DEMO_SOURCE).exists()


# --- Reads for the pages ------------------------------------------------------------------


def regions_of(organisations: QuerySet[Organisation]) -> list[Region]:
    """The regions of ``organisations`` (those a person may see), by name."""
    return list(Region.objects.filter(pk__in=organisations.values("region_id")).order_by("name"))


def icbs_in_region(
    region: Region, organisations: QuerySet[Organisation], on: datetime.date
) -> list[IntegratedCareBoard]:
    """The region's ICBs on ``on`` among ``organisations`` (those a person may see), by
    name."""
    return list(
        IntegratedCareBoard.objects.existing_on(on)
        .filter(region=region, pk__in=organisations.values("pk"))
        .order_by("name")
    )


def service_catalogue() -> list[SpecialisedService]:
    """Every specialised service, by name."""
    return list(SpecialisedService.objects.order_by("name"))


def agreements_covering(
    icbs: Iterable[IntegratedCareBoard], on: datetime.date
) -> list[DelegationAgreement]:
    """The ICBs' agreements whose year covers ``on``, by ICB name."""
    return list(
        DelegationAgreement.objects.filter(icb__in=icbs, starts_on__lte=on, ends_on__gte=on)
        .select_related("icb")
        .order_by("icb__name")
    )


@dataclass
class IcbRecord:
    """What an ICB's delegation page reads about it."""

    segments: list[IcbSegment]  # latest first (the first applies), at most 20
    agreements: list[DelegationAgreement]  # latest year first
    in_force: DelegationAgreement | None
    condition: AgreementCondition | None  # open under the agreement in force
    change_requests: list[CommissioningChangeRequest]  # at most 50
    collaborations: list[CollaborationArrangement]
    years_to_prepare: list[str]  # years with a template and no agreement yet


def icb_record(icb: IntegratedCareBoard) -> IcbRecord:
    """An ICB's segment history, agreements, condition in force, change requests and
    collaborations (a fixed number of queries)."""
    agreements = list(icb.delegation_agreements.order_by("-financial_year"))
    in_force = next((a for a in agreements if a.status == AgreementStatus.IN_FORCE), None)
    return IcbRecord(
        segments=list(icb.segments.select_related("run", "period")[:20]),
        agreements=agreements,
        in_force=in_force,
        condition=open_conditions([icb.pk]).filter(agreement=in_force).first()
        if in_force
        else None,
        change_requests=list(icb.change_requests.select_related("icb")[:50]),
        collaborations=collaborations_for(icb.pk),
        years_to_prepare=sorted(
            set(AgreementTemplate.objects.values_list("financial_year", flat=True))
            - {a.financial_year for a in agreements}
        ),
    )


def recent_decisions(icb_ids: Iterable[int], count: int = 20) -> list[CommissioningChangeRequest]:
    """The ICBs' most recently decided change requests, latest first."""
    return list(
        CommissioningChangeRequest.objects.filter(
            icb_id__in=list(icb_ids), decided_at__isnull=False
        )
        .select_related("icb")
        .order_by("-decided_at")[:count]
    )

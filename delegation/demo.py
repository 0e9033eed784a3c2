"""Synthetic (clearly labelled) delegation records for the real ICBs, for ``make run``.

Every ICB of 2025/26 gets a 2025/26 agreement and every ICB from April 2026 a 2026/27 one
(merged ICBs' agreements recorded as predecessors), with signatures recorded as made on
paper; a few ICBs get recorded segments (so the spending condition applies to some) and
change requests; the collaboration of all Midlands ICBs (and, until the mergers, the six
East of England ICBs) named in NHS England's papers is recorded. Nothing here is real
oversight data: every record names ``synthetic demo data`` as its author.
"""

from __future__ import annotations

import datetime

from django.db import transaction

from oversight.demo import DEMO_SOURCE as DEMO
from systems.models import IntegratedCareBoard

from .models import CollaborationArrangement, DelegationAgreement, SpecialisedService
from .services import (
    add_developmental_arrangement,
    bring_into_force,
    create_agreement,
    load_delegation_data,
    raise_change_request,
    record_icb_segment,
    record_signature_made_elsewhere,
)

# (ICB, segment): synthetic segments recorded for 2026/27.
DEMO_SEGMENTS = {"QT1": 3, "QUA": 4, "QJ2": 2, "QHL": 2, "QKK": 3, "QOQ": 1}
FIRST_REGIONS = ("Y60", "Y61", "Y62")  # Midlands, East of England, North West: from April 2024
EAST_BEFORE_2026 = ("QHG", "QUE", "QM7", "QH8", "QJG", "QMM")


@transaction.atomic
def load_demo_delegation(regions: tuple[str, ...] | None = None) -> dict[str, int]:
    """All regions, or only ``regions`` (ODS codes), for a smaller demonstration."""
    load_delegation_data(actor=DEMO)
    if DelegationAgreement.objects.exists():
        return {"agreements": 0}
    made = _agreements(regions)
    notts = IntegratedCareBoard.objects.get(code="QT1")
    _developmental_arrangement(notts)
    _collaborations()
    _segments(regions)
    _change_requests(notts)
    return {"agreements": made}


def _agreements(regions: tuple[str, ...] | None) -> int:
    """Signed, in-force agreements for every year, ICB and region delegated."""
    made = 0
    years = (
        ("2024/25", datetime.date(2024, 4, 1)),
        ("2025/26", datetime.date(2025, 4, 1)),
        ("2026/27", datetime.date(2026, 4, 1)),
    )
    for year, start in years:
        icbs = IntegratedCareBoard.objects.existing_on(start).select_related("region")
        if year == "2024/25":  # delegated in three regions only (joint committees elsewhere)
            icbs = icbs.filter(region__ods_code__in=FIRST_REGIONS)
        if regions is not None:
            icbs = icbs.filter(region__ods_code__in=regions)
        for icb in icbs:
            agreement = create_agreement(actor=DEMO, icb=icb, financial_year=year)
            record_signature_made_elsewhere(
                actor=DEMO,
                agreement=agreement,
                signatory=f"{icb.region.name} regional director (synthetic)",
                signed_on=start - datetime.timedelta(days=14),
            )
            bring_into_force(actor=DEMO, agreement=agreement)
            made += 1
    return made


def _developmental_arrangement(notts: IntegratedCareBoard) -> None:
    current = DelegationAgreement.objects.get(icb=notts, financial_year="2026/27")
    add_developmental_arrangement(
        actor=DEMO,
        agreement=current,
        category="readiness_action",
        text="Synthetic: a joint clinical lead for adult critical care across the East "
        "Midlands in post before the review.",
        agreed_by="Midlands regional director (synthetic)",
        review_date=datetime.date(2027, 1, 31),
    )


def _collaborations() -> None:
    midlands = list(
        IntegratedCareBoard.objects.existing_on(datetime.date(2026, 4, 1)).filter(
            region__ods_code="Y60"
        )
    )
    services = list(SpecialisedService.objects.order_by("name")[:20])
    arrangement = CollaborationArrangement.objects.create(
        name="Midlands ICBs: delegated specialised services",
        kind="joint_committee",
        formed_on=datetime.date(2024, 4, 1),
        recorded_by_label=DEMO,
    )
    arrangement.members.set(midlands)
    arrangement.services.set(services)
    east = CollaborationArrangement.objects.create(
        name="East of England ICBs: delegated specialised services (to March 2026)",
        kind="joint_committee",
        formed_on=datetime.date(2024, 4, 1),
        ended_on=datetime.date(2026, 4, 1),
        recorded_by_label=DEMO,
    )
    east.members.set(IntegratedCareBoard.objects.filter(code__in=EAST_BEFORE_2026))


def _segments(regions: tuple[str, ...] | None) -> None:
    for code, segment in DEMO_SEGMENTS.items():
        icb = IntegratedCareBoard.objects.filter(code=code).first()
        if icb is None or (regions is not None and icb.region.ods_code not in regions):
            continue
        record_icb_segment(
            actor=DEMO,
            icb=icb,
            segment=segment,
            source="Synthetic demonstration segment",
            as_of=datetime.date(2026, 7, 1),
        )


def _change_requests(notts: IntegratedCareBoard) -> None:
    critical_care = SpecialisedService.objects.get(name="Adult critical care")
    renal = SpecialisedService.objects.get(name="Adult specialist renal services")
    raise_change_request(
        actor=DEMO,
        icb=notts,
        services=[critical_care],
        title="Four more level 3 adult critical care beds (synthetic)",
        description="Synthetic example: four additional level 3 beds at the major trauma "
        "centre to reduce out-of-area transfers.",
        annual_spend_effect="1250000",
        changes_overall_spend=True,
        intended_start=datetime.date(2027, 1, 4),
    )
    raise_change_request(
        actor=DEMO,
        icb=notts,
        services=[renal],
        title="Move a renal satellite clinic (synthetic)",
        description="Synthetic example: the same clinic sessions in a new location.",
        annual_spend_effect="0",
        changes_overall_spend=False,
        intended_start=datetime.date(2027, 2, 1),
    )
    raise_change_request(
        actor=DEMO,
        icb=IntegratedCareBoard.objects.get(code="QUA"),
        services=[renal],
        title="Home haemodialysis expansion (synthetic)",
        description="Synthetic example: 30 more patients on home haemodialysis.",
        annual_spend_effect="-180000",
        changes_overall_spend=True,
        intended_start=datetime.date(2027, 3, 1),
    )

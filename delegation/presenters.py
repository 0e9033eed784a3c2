"""Display text and tables for delegation pages, so templates hold no logic."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db.models import Sum
from django.urls import reverse

from core.tables import Column, Table
from systems.models import IntegratedCareBoard, Region

from . import selectors
from .models import (
    AgreementCondition,
    AgreementStatus,
    CommissioningChangeRequest,
    DelegationAgreement,
    IcbSegment,
    RequestStatus,
    SpecialisedService,
)

AGREEMENT_TAGS = {
    AgreementStatus.DRAFT: "grey",
    AgreementStatus.SIGNED: "blue",
    AgreementStatus.IN_FORCE: "green",
    AgreementStatus.ENDED: "white",
}
REQUEST_TAGS = {
    RequestStatus.AWAITING_DECISION: "yellow",
    RequestStatus.APPROVED: "green",
    RequestStatus.REJECTED: "red",
    RequestStatus.NOTED: "blue",
    RequestStatus.STARTED: "purple",
    RequestStatus.WITHDRAWN: "grey",
}


def tag(kind: str, status: str, label: str) -> dict[str, str]:
    colours = AGREEMENT_TAGS if kind == "agreement" else REQUEST_TAGS
    return {"label": label, "css": f"nhsuk-tag nhsuk-tag--{colours.get(status, 'grey')}"}


def pounds(amount: Decimal | None) -> str:
    """£1,250,000 or -£1,200,000.50 (pence only when there are some)."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    text = f"{value:,.2f}"
    if text.endswith(".00"):
        text = text[:-3]
    return f"{sign}£{text}"


def short_icb_name(name: str) -> str:
    """'NHS Nottingham and Nottinghamshire Integrated Care Board' → 'Nottingham and
    Nottinghamshire'."""
    text = name.removeprefix("NHS ")
    return text.removesuffix(" Integrated Care Board").strip()


def conditions_in_force_table(conditions: Iterable[AgreementCondition]) -> Table:
    return Table(
        "conditions",
        "Spending-approval conditions in force",
        [
            Column("icb", "ICB", link="url"),
            Column("segment", "Segment", numeric=True),
            Column("since", "In force since"),
            Column("because", "Because"),
        ],
        [
            {
                "icb": c.agreement.icb.name,
                "url": reverse("delegation:icb", args=[c.agreement.icb.code]),
                "segment": c.applied_because.segment,
                "since": c.applied_on,
                "because": c.applied_because.source,
            }
            for c in conditions
        ],
        empty="No ICB here is under the spending-approval condition.",
    )


def region_summary(icb_ids: list[int]) -> dict:
    """What the region dashboard shows of delegation (a fixed number of queries)."""
    conditions = list(selectors.open_conditions(icb_ids))
    waiting = selectors.awaiting_decision(icb_ids)
    return {
        "conditions_table": conditions_in_force_table(conditions),
        "waiting_count": waiting.count(),
        "waiting_spend": pounds(waiting.aggregate(total=Sum("annual_spend_effect"))["total"] or 0),
        "flagged": selectors.without_collaboration(icb_ids),
        "synthetic": selectors.has_synthetic_records(),
    }


def _signed(agreement: DelegationAgreement) -> str:
    if not agreement.signed_on:
        return ""
    return f"{agreement.signed_by_label} on {agreement.signed_on:%-d %b %Y}"


# --- The services by ICBs matrix ----------------------------------------------------------


def matrix_table(
    region: Region,
    on: datetime.date,
    icbs: list[IntegratedCareBoard],
    catalogue: list[SpecialisedService],
    cells: Mapping[tuple[int, int], selectors.MatrixCell],
) -> Table:
    """Who commissions each service in each of the region's ICBs on ``on``: the ICB, since
    the month shown, or NHS England."""
    rows = []
    for service in catalogue:
        row = {
            "service": service.name,
            "status": "Retained" if not service.is_delegable else f"Tranche {service.tranche}",
        }
        for icb in icbs:
            cell = cells.get((service.pk, icb.pk))
            row[f"icb_{icb.pk}"] = f"since {cell.since:%b %Y}" if cell else "NHS England"
        rows.append(row)
    return Table(
        "matrix",
        f"Who commissions each specialised service in {region.name} on {on:%-d %B %Y} "
        "(the ICB, delegated since the month shown, or NHS England)",
        [Column("service", "Service"), Column("status", "Status")]
        + [Column(f"icb_{i.pk}", short_icb_name(i.name)) for i in icbs],
        rows,
        empty="The services catalogue is empty.",
    )


def agreements_covering_table(agreements: list[DelegationAgreement], on: datetime.date) -> Table:
    """The region's agreements whose year covers ``on``, by ICB."""
    return Table(
        "agreements",
        f"Delegation agreements covering {on:%-d %B %Y}",
        [
            Column("icb", "ICB", link="url"),
            Column("year", "Year"),
            Column("status", "Status"),
            Column("signed", "Signed by"),
        ],
        [
            {
                "icb": a.icb.name,
                "url": reverse("delegation:agreement", args=[a.pk]),
                "year": a.financial_year,
                "status": a.get_status_display(),
                "signed": _signed(a),
            }
            for a in agreements
        ],
        empty="No agreements for this date.",
    )


# --- One agreement ------------------------------------------------------------------------


def agreement_tables(agreement: DelegationAgreement) -> list[Table]:
    """An agreement's schedule of services, developmental arrangements, conditions (history)
    and change requests (from :func:`selectors.agreement_detail`: no further queries)."""
    schedule = Table(
        "schedule",
        "Services delegated by this agreement",
        [
            Column("service", "Service"),
            Column("from", "Effective from"),
            Column("to", "Effective to"),
        ],
        [
            {
                "service": line.service.name,
                "from": line.effective_from,
                "to": line.effective_to if line.effective_to else "",
            }
            for line in agreement.schedule.all()
        ],
        empty="No services scheduled yet.",
    )
    arrangements = Table(
        "arrangements",
        "Developmental arrangements",
        [
            Column("category", "Category"),
            Column("text", "Arrangement"),
            Column("agreed_by", "Agreed by"),
            Column("review", "Review date"),
        ],
        [
            {
                "category": d.get_category_display(),
                "text": d.text,
                "agreed_by": d.agreed_by,
                "review": d.review_date,
            }
            for d in agreement.developmental_arrangements.all()
        ],
        empty="No developmental arrangements.",
    )
    requests = requests_table(
        "requests", "Commissioning change requests", agreement.change_requests.all()
    )
    return [schedule, arrangements, _condition_history(agreement), requests]


def _condition_history(agreement: DelegationAgreement) -> Table:
    return Table(
        "conditions",
        "Conditions (history)",
        [
            Column("condition", "Condition"),
            Column("applied", "Applied"),
            Column("because", "Because"),
            Column("lifted", "Lifted"),
            Column("why", "Why lifted"),
        ],
        [
            {
                "condition": c.rule.name,
                "applied": c.applied_on,
                "because": f"Segment {c.applied_because.segment}: {c.applied_because.source}",
                "lifted": c.lifted_on if c.lifted_on else "In force",
                "why": c.lift_reason,
            }
            for c in agreement.conditions.all()
        ],
        empty="No conditions have applied to this agreement.",
    )


def requests_table(
    slug: str,
    caption: str,
    requests: Iterable[CommissioningChangeRequest],
    with_icb: bool = False,
) -> Table:
    """Change requests with their status, effect on spend, start and who raised them (and
    the ICB, on pages about more than one)."""
    columns = [Column("title", "Request", link="url")]
    if with_icb:
        columns.append(Column("icb", "ICB"))
    columns += [
        Column("status", "Status"),
        Column("spend", "Annual spend effect", numeric=True),
        Column("changes", "Overall spend changes"),
        Column("start", "Intended start"),
        Column("raised", "Raised by"),
    ]
    return Table(
        slug,
        caption,
        columns,
        [
            {
                "title": r.title,
                "url": reverse("delegation:change-request", args=[r.pk]),
                "icb": r.icb.name if with_icb else "",
                "status": r.get_status_display(),
                "spend": pounds(r.annual_spend_effect),
                "changes": "Yes" if r.changes_overall_spend else "No",
                "start": r.intended_start,
                "raised": f"{r.raised_by_label}, {r.raised_at:%-d %b %Y}",
            }
            for r in requests
        ],
        empty="No change requests.",
    )


# --- An ICB's delegation status -----------------------------------------------------------


def icb_tables(record: selectors.IcbRecord) -> list[Table]:
    """An ICB's agreements, segment history and change requests."""
    agreements = Table(
        "agreements",
        "Delegation agreements",
        [
            Column("year", "Year", link="url"),
            Column("status", "Status"),
            Column("signed", "Signed by"),
            Column("ended", "Ended"),
        ],
        [
            {
                "year": a.financial_year,
                "url": reverse("delegation:agreement", args=[a.pk]),
                "status": a.get_status_display(),
                "signed": _signed(a),
                "ended": f"{a.ended_on:%-d %b %Y}: {a.end_reason}" if a.ended_on else "",
            }
            for a in record.agreements
        ],
        empty="No delegation agreements recorded.",
    )
    requests = requests_table("requests", "Commissioning change requests", record.change_requests)
    return [agreements, _segment_history(record.segments), requests]


def _segment_history(segments: list[IcbSegment]) -> Table:
    return Table(
        "segments",
        "Segment history (the first row applies)",
        [
            Column("segment", "Segment", numeric=True),
            Column("as_of", "Applies from"),
            Column("source", "Source"),
            Column("by", "Recorded by"),
        ],
        [
            {
                "segment": s.segment,
                "as_of": s.as_of,
                "source": s.source,
                "by": s.recorded_by_label,
            }
            for s in segments
        ],
        empty="No segment computed or recorded yet.",
    )


# --- A region's approval queue ------------------------------------------------------------


def decided_table(recent: Iterable[CommissioningChangeRequest]) -> Table:
    """The region's latest decisions on change requests, with the reason and who decided."""
    return Table(
        "decided",
        "Recent decisions",
        [
            Column("title", "Request", link="url"),
            Column("icb", "ICB"),
            Column("status", "Decision"),
            Column("reason", "Reason"),
            Column("by", "Decided by"),
        ],
        [
            {
                "title": r.title,
                "url": reverse("delegation:change-request", args=[r.pk]),
                "icb": r.icb.name,
                "status": r.get_status_display(),
                "reason": r.decision_reason,
                "by": f"{r.decided_by_label}, {r.decided_at:%-d %b %Y}",
            }
            for r in recent
        ],
        empty="No decisions yet.",
    )


def waiting_items(waiting: Iterable[CommissioningChangeRequest]) -> list[dict]:
    """Requests awaiting a decision, each with its spend and the services it affects."""
    return [
        {
            "item": r,
            "spend": pounds(r.annual_spend_effect),
            "services": ", ".join(s.name for s in r.services.all()),
        }
        for r in waiting
    ]

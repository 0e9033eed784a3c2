"""Display text for delegation pages, so templates hold no logic."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.urls import reverse

from core.tables import Column, Table

from . import selectors
from .models import AgreementStatus, RequestStatus

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


def conditions_in_force_table(conditions) -> Table:
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

"""Synthetic (clearly labelled) compacts and system maturity for two real Midlands systems.

Birmingham and Solihull (QHL) and Nottingham and Nottinghamshire (QT1) each agree a
2025/26 compact at a board-to-board meeting in March 2025, with commitments on real metric
ids for their acute trusts and support asked of NHS England. The targets follow the
synthetic demonstration values (``oversight.demo``) so that, once the demo quarters are
published, one commitment goes off track in Q4 while the others hold. Birmingham and
Solihull is assessed "maturing" (with its recorded segment 2 that makes it eligible to lead
its own oversight and scrutiny); Nottingham and Nottinghamshire "developing". A 2026/27
compact for Nottingham and Nottinghamshire is still a draft: it was not agreed by 31 March.

Runs before the demo quarters are published, so their publication tracks the commitments
and proposes the freedom as it would in use. Idempotent."""

from __future__ import annotations

import datetime
import math

from django.core.management.base import BaseCommand
from django.db import transaction

from oversight.autonomy.maturity import maturity_policy, record_maturity_assessment
from oversight.compacts.models import Compact, CompactStatus
from oversight.compacts.services import (
    create_compact,
    move_compact,
    propose_commitment,
    record_meeting,
    request_support,
    update_support,
)
from oversight.demo import demo_rows
from oversight.models import MetricDefinition, ReportingPeriod
from systems.models import IntegratedCareBoard

ACTOR = "manage.py load_demo_compacts"
YEAR = "2025/26"
QUARTERS = ("Q2 2025/26", "Q3 2025/26", "Q4 2025/26")
LABEL = " (synthetic demonstration)"

# ICB → (metric value id, title, off track in Q4?), each for the first acute trust of the
# system (by code) with a demonstration value in every quarter.
COMMITMENTS = {
    "QHL": [
        ("OF0013", "Four-hour A&E performance on the agreed trajectory", True),
        ("OF0023", "More patients treated within 18 weeks", False),
    ],
    "QT1": [
        ("OF0014", "Fewer patients spending over 12 hours in A&E", False),
        ("OF0010", "Cancer faster diagnosis standard met", False),
    ],
}
MATURITY = {"QHL": "maturing", "QT1": "developing"}
PEOPLE = {
    "QHL": [
        {
            "name": "Chair of the ICB",
            "role": "Chair",
            "organisation": "NHS Birmingham and Solihull ICB",
        },
        {
            "name": "Chief executive of the ICB",
            "role": "Chief executive",
            "organisation": "NHS Birmingham and Solihull ICB",
        },
        {
            "name": "Regional director",
            "role": "Regional director",
            "organisation": "NHS England Midlands",
        },
    ],
    "QT1": [
        {
            "name": "Chair of the ICB",
            "role": "Chair",
            "organisation": "NHS Nottingham and Nottinghamshire ICB",
        },
        {
            "name": "Regional director",
            "role": "Regional director",
            "organisation": "NHS England Midlands",
        },
    ],
}


class Command(BaseCommand):
    help = (
        "Record synthetic compacts and system maturity assessments for two Midlands "
        "systems (before the demo quarters are published). Idempotent."
    )

    def handle(self, *args, **options):
        made = 0
        with transaction.atomic():
            for code, level in MATURITY.items():
                icb = IntegratedCareBoard.objects.filter(code=code).first()
                if icb is None or Compact.objects.filter(icb=icb).exists():
                    continue
                _maturity(icb, level)
                _compact(icb)
                made += 1
            notts = IntegratedCareBoard.objects.filter(code="QT1").first()
            if notts and not Compact.objects.filter(icb=notts, financial_year="2026/27").exists():
                create_compact(icb=notts, financial_year="2026/27", actor=ACTOR)
        self.stdout.write(f"{made} demonstration compacts recorded")


def demo_values(org_ids: list[int], value_ids: set[str]) -> dict[tuple[int, str], list]:
    """(organisation id, metric value id) → its synthetic value in each demo quarter."""
    values: dict[tuple[int, str], list] = {}
    for label in QUARTERS:
        period = ReportingPeriod.objects.by_key(label)
        for r in demo_rows(period):
            if r.organisation_id in org_ids and r.metric_id in value_ids:
                values.setdefault((r.organisation_id, r.metric_id), []).append(r.value)
    return {k: v for k, v in values.items() if len(v) == len(QUARTERS) and None not in v}


def _maturity(icb: IntegratedCareBoard, level: str) -> None:
    _, criteria = maturity_policy()
    ratings = {
        c["slug"]: {"rating": level, "evidence": f"Synthetic: seen at the system review{LABEL}"}
        for c in criteria
    }
    record_maturity_assessment(
        icb=icb, assessed_on=datetime.date(2025, 9, 10), ratings=ratings, actor=ACTOR
    )


def _compact(icb: IntegratedCareBoard) -> None:
    compact = create_compact(icb=icb, financial_year=YEAR, actor=ACTOR)
    meeting = record_meeting(
        compact=compact,
        held_on=datetime.date(2025, 3, 24),
        attendees=PEOPLE[icb.code],
        minutes_reference=f"B2B-{icb.code}-2025-03{LABEL}",
        actor=ACTOR,
    )
    acute = list(compact.parties.filter(peer_group="acute").order_by("code"))
    wanted = COMMITMENTS[icb.code]
    values = demo_values([t.pk for t in acute], {m for m, _, _ in wanted})
    for value_id, title, off in wanted:
        trust = next((t for t in acute if (t.pk, value_id) in values), None)
        metric = MetricDefinition.objects.filter(
            value_id=value_id, methodology__slug="nof-2025-26"
        ).first()
        if trust is None or metric is None:
            continue
        higher = metric.direction == "higher"
        trajectory = _trajectory(values[(trust.pk, value_id)], higher=higher, off_in_q4=off)
        propose_commitment(
            compact=compact,
            organisation=trust,
            title=title + LABEL,
            detail="Synthetic: delivered through the system's recovery plan.",
            metric_id=value_id,
            target=trajectory["Q4"],
            direction="at_least" if higher else "at_most",
            trajectory=trajectory,
            due_on=datetime.date(2026, 3, 31),
            accountable_name=f"Chief executive of {trust.code}",
            accountable_role="Chief executive",
            actor=ACTOR,
        )
    propose_commitment(
        compact=compact,
        organisation=icb,
        title="One system elective hub open for the whole system" + LABEL,
        due_on=datetime.date(2025, 12, 31),
        accountable_name="Chief executive of the ICB",
        accountable_role="Chief executive",
        actor=ACTOR,
    )
    support = request_support(
        compact=compact,
        description="Urgent and emergency care improvement support" + LABEL,
        owner="NHS England Midlands UEC team",
        actor=ACTOR,
    )
    update_support(support=support, status="in_progress", reason="Team assigned", actor=ACTOR)
    move_compact(
        compact=compact,
        to=CompactStatus.AGREED,
        reason="Agreed at the board-to-board meeting",
        meeting=meeting,
        actor=ACTOR,
    )
    move_compact(compact=compact, to=CompactStatus.IN_YEAR, reason="The year began", actor=ACTOR)


def _trajectory(series: list[float], *, higher: bool, off_in_q4: bool) -> dict[str, float]:
    """Points each demo value meets (a step short of it, in the metric's good direction);
    for the commitment meant to slip, a Q4 point two steps beyond the Q4 value. A step is
    a tenth of the value's order of magnitude (1 for 78, 0.01 for 0.78)."""
    points = {}
    sign = 1 if higher else -1
    for quarter, value in zip(("Q2", "Q3", "Q4"), series, strict=True):
        points[quarter] = _nudge(value, -sign)
    if off_in_q4:
        points["Q4"] = _nudge(series[2], 2 * sign)
    return points


def _nudge(value: float, steps: int) -> float:
    places = 1 - math.floor(math.log10(abs(value))) if value else 2
    return round(value + steps * 10.0**-places, max(places, 0))

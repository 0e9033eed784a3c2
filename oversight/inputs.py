"""Storing metric inputs for a period: values, supplied scores, override flags.

A newer input for the same organisation, metric and period supersedes the current one
(``superseded_at`` is set; nothing is deleted). An input identical to the current one is
left alone, so recording the same data twice changes nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from systems import audit
from systems.actors import Actor, person_of

from .models import MetricValue, ReportingPeriod


@dataclass(frozen=True)
class InputRow:
    organisation_id: int
    metric_id: str
    kind: str
    value: float | None = None
    text: str = ""
    reporting_date: datetime.date | None = None
    reporting_period_text: str = ""
    note: str = ""

    def key(self) -> tuple[int, str]:
        return (self.organisation_id, self.metric_id)

    def same_as(self, stored: MetricValue) -> bool:
        return (
            stored.kind == self.kind
            and stored.value == self.value
            and stored.text == self.text
            and stored.reporting_date == self.reporting_date
        )


@dataclass
class RecordSummary:
    created: int = 0
    superseded: int = 0
    unchanged: int = 0


@transaction.atomic
def record_inputs(
    *,
    period: ReportingPeriod,
    rows: list[InputRow],
    source: str,
    actor: Actor,
    reason: str = "",
    upload: Any = None,
) -> RecordSummary:
    """Store ``rows`` for ``period`` (all or nothing) and audit the change."""
    summary = RecordSummary()
    keys = {row.key() for row in rows}
    current = {
        (v.organisation_id, v.metric_id): v
        for v in MetricValue.objects.current()
        .select_for_update()
        .filter(period=period, organisation_id__in={k[0] for k in keys})
    }
    now = timezone.now()
    to_supersede: list[MetricValue] = []
    to_create: list[MetricValue] = []
    user = person_of(actor)
    label = audit.actor_label(actor)
    for row in rows:
        stored = current.get(row.key())
        if stored is not None and row.same_as(stored):
            continue
        if stored is not None:
            stored.superseded_at = now
            to_supersede.append(stored)
        to_create.append(
            MetricValue(
                period=period,
                organisation_id=row.organisation_id,
                metric_id=row.metric_id,
                kind=row.kind,
                value=row.value,
                text=row.text,
                reporting_date=row.reporting_date,
                reporting_period_text=row.reporting_period_text,
                note=row.note,
                source=source,
                upload=upload,
                recorded_by=user,
                recorded_by_label=label,
                recorded_at=now,
            )
        )
    MetricValue.objects.bulk_update(to_supersede, ["superseded_at"], batch_size=2000)
    MetricValue.objects.bulk_create(to_create, batch_size=2000)
    summary.created = len(to_create)
    summary.superseded = len(to_supersede)
    summary.unchanged = len(rows) - summary.created
    if to_create:
        audit.record(
            actor=actor,
            action="inputs.recorded",
            obj=period,
            after={"created": summary.created, "superseded": summary.superseded, "source": source},
            reason=reason or f"Inputs recorded from {source}",
        )
    return summary

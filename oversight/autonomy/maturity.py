"""Recording a system's maturity (autonomy spec section 5): the region rates each of the
policy's criteria with evidence; the level is the lowest rating unless a reviewer
overrides it with a reason. Audited; read by the next run's freedom evaluation."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from systems import audit
from systems.actors import Actor, is_system
from systems.authorization import Permission, has_permission
from systems.models import Organisation, OrganisationKind

from ..selectors import latest_maturity
from .errors import AutonomyError
from .models import AutonomyPolicy, MaturityAssessment


def maturity_policy() -> tuple[list[str], list[dict[str, str]]]:
    """The scale (lowest first) and the criteria, from the loaded autonomy policy."""
    policy = AutonomyPolicy.objects.first()
    maturity = (policy.maturity if policy else None) or {}
    return list(maturity.get("scale") or []), list(maturity.get("criteria") or [])


@transaction.atomic
def record_maturity_assessment(
    *,
    icb: Organisation,
    assessed_on: datetime.date,
    ratings: dict[str, Any],
    actor: Actor,
    level: str = "",
    reason: str = "",
) -> MaturityAssessment:
    """Record one dated assessment. ``ratings`` maps each criterion's slug to its rating
    (or ``{"rating", "evidence"}``); every criterion must be rated on the scale. ``level``,
    when given and different from the lowest rating, overrides it and needs ``reason``."""
    if not is_system(actor) and not has_permission(actor, Permission.RECORD_ICB_SEGMENT, icb):
        raise AutonomyError("Recording a system's maturity needs a regional or national role.")
    if icb.kind != OrganisationKind.ICB:
        raise AutonomyError(f"{icb.code} is not an ICB: maturity is assessed for a system.")
    scale, criteria = maturity_policy()
    if not scale or not criteria:
        raise AutonomyError("The autonomy policy defines no system maturity criteria.")
    rated = {slug: _rating(value) for slug, value in ratings.items()}
    unknown = sorted(set(rated) - {c["slug"] for c in criteria})
    missing = [c["name"] for c in criteria if c["slug"] not in rated]
    wrong = sorted(slug for slug, r in rated.items() if r["rating"] not in scale)
    problems = []
    if unknown:
        problems.append(f"unknown criteria: {', '.join(unknown)}")
    if missing:
        problems.append(f"not rated: {'; '.join(missing)}")
    if wrong:
        problems.append(f"ratings must be one of {', '.join(scale)} ({', '.join(wrong)})")
    if problems:
        raise AutonomyError("The assessment is incomplete: " + "; ".join(problems) + ".")
    computed = min((r["rating"] for r in rated.values()), key=scale.index)
    applied = level or computed
    if applied not in scale:
        raise AutonomyError(f"The level must be one of {', '.join(scale)}.")
    if applied != computed and not reason.strip():
        raise AutonomyError(
            f"The criteria give {computed}: give the reason for setting the level to {applied}."
        )
    row = MaturityAssessment.objects.create(
        icb=icb,
        assessed_on=assessed_on,
        ratings=rated,
        computed_level=computed,
        level=applied,
        override_reason=reason.strip() if applied != computed else "",
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="maturity.recorded",
        obj=row,
        after={"icb": icb.code, "level": applied, "computed": computed},
        reason=reason.strip() or "Assessed against the criteria",
    )
    return row


def _rating(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {"rating": str(value.get("rating", "")), "evidence": str(value.get("evidence", ""))}
    return {"rating": str(value), "evidence": ""}


def maturity_on(icb_ids: list[int], day: datetime.date) -> dict[int, str]:
    """Each ICB's system maturity level as assessed on or before ``day`` (the latest)."""
    return {icb_id: row.level for icb_id, row in latest_maturity(icb_ids, on=day).items()}

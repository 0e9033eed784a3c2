"""The earned-autonomy policy as data: the support table, capability scale and freedoms
catalogue, loaded from ``policy.yaml`` and changed one parameter at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from core.errors import require_reason
from systems import audit
from systems.actors import Actor

from ..engine.autonomy import FreedomError, FreedomSpec
from .errors import AutonomyError
from .models import (
    AutonomyPolicy,
    Freedom,
)

POLICY_FILE = Path(__file__).with_name("policy.yaml")
AFT = "aft-eligibility"
AFT_STATUS = "aft-status"
MAX_REASSESSMENT_YEARS = 5


def spec_of(freedom: Freedom) -> FreedomSpec:
    return FreedomSpec(
        slug=freedom.slug,
        name=freedom.name,
        applies_to=freedom.applies_to,
        grant=freedom.grant,
        criteria=dict(freedom.criteria),
        revoke_at_once_on=tuple(freedom.revoke_at_once_on),
    )


@transaction.atomic
def load_autonomy_policy(*, actor: Actor, path: Path = POLICY_FILE, force: bool = False) -> str:
    """Install ``policy.yaml``: created, replaced (a higher version, or ``force``) or kept."""
    document = yaml.safe_load(path.read_text())
    version = int(document["version"])
    specs = [
        FreedomSpec(
            slug=f["slug"],
            name=f["name"],
            applies_to=f["applies_to"],
            grant=f["grant"],
            criteria=f.get("criteria") or {},
            revoke_at_once_on=tuple(
                f.get("revoke_at_once_on", ("programme", "financial_override"))
            ),
        )
        for f in document["freedoms"]
    ]
    policy = AutonomyPolicy.objects.first()
    if policy is not None and policy.version >= version and not force:
        return "unchanged"
    fields = {
        "version": version,
        "support": {str(k): v for k, v in document["support"].items()},
        "capability_scale": document["capability"]["scale"],
        "capability_areas": document["capability"]["areas"],
        "maturity": document.get("system_maturity") or {},
    }
    if policy is None:
        policy = AutonomyPolicy.objects.create(**fields)
    else:
        AutonomyPolicy.objects.filter(pk=policy.pk).update(**fields)
    for spec in specs:
        Freedom.objects.update_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "applies_to": spec.applies_to,
                "grant": spec.grant,
                "criteria": dict(spec.criteria),
                "revoke_at_once_on": list(spec.revoke_at_once_on),
                "version": version,
            },
        )
    audit.record(
        actor=actor,
        action="autonomy.policy_loaded",
        obj=policy,
        after={"version": version, "freedoms": [s.slug for s in specs]},
        reason=f"Loaded from {path.name}",
    )
    return "loaded"


@transaction.atomic
def set_freedom_parameter(
    *, freedom: Freedom, name: str, value: Any, reason: str, actor: Actor
) -> Freedom:
    """Change one eligibility parameter (applies from the next run); audited."""
    require_reason(
        reason, "Give a reason for changing a freedom's eligibility rule.", AutonomyError
    )
    freedom = Freedom.objects.select_for_update().get(pk=freedom.pk)
    before = dict(freedom.criteria)
    criteria = {**before, name: value}
    try:
        spec_of(Freedom(**{**_fields(freedom), "criteria": criteria}))
    except FreedomError as exc:
        raise AutonomyError(str(exc)) from exc
    freedom.criteria = criteria
    freedom.save(update_fields=["criteria", "updated_at"])
    audit.record(
        actor=actor,
        action="freedom.changed",
        obj=freedom,
        before={"criteria": before},
        after={"criteria": criteria},
        reason=reason,
    )
    return freedom


def _fields(freedom: Freedom) -> dict[str, Any]:
    return {
        "slug": freedom.slug,
        "name": freedom.name,
        "applies_to": freedom.applies_to,
        "grant": freedom.grant,
        "revoke_at_once_on": freedom.revoke_at_once_on,
    }

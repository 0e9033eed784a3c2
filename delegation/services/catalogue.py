"""The catalogue of specialised services, changed by national users one service at a time."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from core.errors import require_reason
from systems import audit
from systems.actors import Actor
from systems.authorization import Permission

from ..models import (
    AgreementService,
    AgreementStatus,
    ServiceStatus,
    SpecialisedService,
    Tranche,
)
from .base import DelegationError, _require


def service_problems(
    *, status: str, highly_specialised: bool, tranche: str, name: str = ""
) -> list[str]:
    """What is wrong with a service's classification (shared by files, forms and the admin)."""
    problems = []
    if status not in ServiceStatus.values:
        problems.append(f"status must be one of {', '.join(ServiceStatus.values)}")
    if highly_specialised and status != ServiceStatus.RETAINED:
        problems.append("a highly specialised service is always retained by NHS England")
    if status == ServiceStatus.DELEGABLE and tranche not in Tranche.values:
        problems.append(f"a delegable service needs its tranche ({' or '.join(Tranche.values)})")
    if status == ServiceStatus.RETAINED and tranche:
        problems.append("a retained service is never delegated, so it has no tranche")
    return [f"{name}: {p}" if name else p for p in problems]


def check_reclassification(service: SpecialisedService, status: str) -> None:
    if status == ServiceStatus.RETAINED and service.status != ServiceStatus.RETAINED:
        live = AgreementService.objects.filter(
            service=service,
            agreement__status__in=[AgreementStatus.SIGNED, AgreementStatus.IN_FORCE],
        ).exists()
        if live:
            raise DelegationError(
                f"{service.name} is delegated under a signed or in-force agreement; end or "
                "amend those agreements before marking it retained."
            )


@transaction.atomic
def add_service(
    *,
    actor: Actor,
    name: str,
    status: str,
    tranche: str = "",
    highly_specialised: bool = False,
    code: str = "",
    programme_of_care: str = "",
    source: str = "",
    reason: str = "",
) -> SpecialisedService:
    """A national user adds a service to the catalogue."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change the services catalogue")
    name = name.strip()
    if not name:
        raise DelegationError("Give the service's name.")
    problems = service_problems(
        status=status, highly_specialised=highly_specialised, tranche=tranche
    )
    if problems:
        raise DelegationError("; ".join(problems).capitalize() + ".")
    if SpecialisedService.objects.filter(name__iexact=name).exists():
        raise DelegationError(f"The catalogue already has a service called {name!r}.")
    if code and SpecialisedService.objects.filter(code=code).exists():
        raise DelegationError(f"The code {code!r} is already used by another service.")
    service = SpecialisedService.objects.create(
        name=name,
        code=code,
        programme_of_care=programme_of_care,
        status=status,
        tranche=tranche,
        highly_specialised=highly_specialised,
        source=source,
    )
    audit.record(
        actor=actor,
        action="delegation.service_added",
        obj=service,
        after=_service_state(service),
        reason=reason,
    )
    return service


def _service_state(service: SpecialisedService) -> dict[str, Any]:
    return {
        "name": service.name,
        "code": service.code,
        "programme_of_care": service.programme_of_care,
        "status": service.status,
        "highly_specialised": service.highly_specialised,
        "tranche": service.tranche,
        "retired_on": service.retired_on.isoformat() if service.retired_on else None,
    }


@transaction.atomic
def change_service(
    *, actor: Actor, service: SpecialisedService, reason: str, **changes: Any
) -> SpecialisedService:
    """Rename or reclassify a service (a national user, with a reason)."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change the services catalogue")
    allowed = {"name", "code", "programme_of_care", "status", "highly_specialised", "tranche"}
    unknown = set(changes) - allowed
    if unknown:
        raise DelegationError(f"These cannot be changed here: {', '.join(sorted(unknown))}.")
    require_reason(reason, "Give the reason for the change.", DelegationError)
    service = SpecialisedService.objects.select_for_update().get(pk=service.pk)
    before = _service_state(service)
    merged = {**{k: getattr(service, k) for k in allowed}, **changes}
    problems = service_problems(
        status=merged["status"],
        highly_specialised=merged["highly_specialised"],
        tranche=merged["tranche"],
    )
    if problems:
        raise DelegationError("; ".join(problems).capitalize() + ".")
    name = str(merged["name"]).strip()
    if SpecialisedService.objects.filter(name__iexact=name).exclude(pk=service.pk).exists():
        raise DelegationError(f"The catalogue already has a service called {name!r}.")
    check_reclassification(service, merged["status"])
    for key, value in merged.items():
        setattr(service, key, value)
    service.name = name
    service.save()
    audit.record(
        actor=actor,
        action="delegation.service_changed",
        obj=service,
        before=before,
        after=_service_state(service),
        reason=reason,
    )
    return service


@transaction.atomic
def retire_service(
    *, actor: Actor, service: SpecialisedService, on: datetime.date, reason: str
) -> SpecialisedService:
    """Take a service out of the catalogue from ``on``: it can no longer be scheduled."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change the services catalogue")
    require_reason(reason, "Give the reason for retiring the service.", DelegationError)
    service = SpecialisedService.objects.select_for_update().get(pk=service.pk)
    before = _service_state(service)
    service.retired_on, service.retired_reason = on, reason
    service.save(update_fields=["retired_on", "retired_reason", "updated_at"])
    audit.record(
        actor=actor,
        action="delegation.service_retired",
        obj=service,
        before=before,
        after=_service_state(service),
        reason=reason,
    )
    return service

"""Collaboration arrangements between ICBs for delegated services."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction

from systems import audit
from systems.actors import Actor
from systems.authorization import Permission
from systems.models import IntegratedCareBoard

from ..models import (
    CollaborationArrangement,
    CollaborationKind,
    SpecialisedService,
)
from .base import DelegationError, _require


@transaction.atomic
def create_collaboration(
    *,
    actor: Actor,
    name: str,
    kind: str,
    members: Iterable[IntegratedCareBoard],
    formed_on: datetime.date,
    services: Iterable[SpecialisedService] = (),
) -> CollaborationArrangement:
    members = list(members)
    if len(members) < 2:
        raise DelegationError("A collaboration arrangement needs at least two ICBs.")
    for icb in members:
        _require(actor, Permission.MANAGE_DELEGATION, icb, "record collaboration arrangements")
    if kind not in CollaborationKind.values:
        raise DelegationError(f"The type must be one of {', '.join(CollaborationKind.values)}.")
    if not name.strip():
        raise DelegationError("Give the arrangement a name.")
    if CollaborationArrangement.objects.filter(name__iexact=name.strip()).exists():
        raise DelegationError(f"There is already an arrangement called {name.strip()!r}.")
    closed = [i.name for i in members if not i.existed_on(formed_on)]
    if closed:
        raise DelegationError(f"These ICBs did not exist on {formed_on}: {', '.join(closed)}.")
    arrangement = CollaborationArrangement.objects.create(
        name=name.strip(),
        kind=kind,
        formed_on=formed_on,
        recorded_by_label=audit.actor_label(actor),
    )
    arrangement.members.set(members)
    services = list(services)
    arrangement.services.set(services)
    audit.record(
        actor=actor,
        action="delegation.collaboration_recorded",
        obj=arrangement,
        after={
            "kind": kind,
            "members": [i.code for i in members],
            "services": [s.name for s in services],
            "formed_on": formed_on.isoformat(),
        },
    )
    return arrangement

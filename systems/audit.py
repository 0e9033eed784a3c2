"""Recording state changes. Every service that changes data calls :func:`record`."""

from __future__ import annotations

from typing import Any

from django.db import models

from .actors import Actor, actor_label, person_of
from .models import AuditEvent

__all__ = ["actor_label", "record"]


def record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditEvent:
    """Write one audit event; call it inside the transaction that makes the change."""
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    return AuditEvent.objects.create(
        actor=person_of(actor),
        actor_label=actor_label(actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        before=before,
        after=after,
        reason=reason,
    )

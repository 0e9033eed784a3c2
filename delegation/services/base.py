"""What every delegation service shares: the refusal it raises and the permission check."""

from __future__ import annotations

import datetime

from django.utils import timezone

from core.errors import ApplicationError
from systems.actors import Actor, is_system
from systems.authorization import has_permission


class DelegationError(ApplicationError, ValueError):
    """A step that cannot be taken; the message says why and what would make it possible."""


class DelegationDataError(DelegationError):
    """Data files that cannot be loaded; ``problems`` lists every one (nothing is loaded)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s); nothing was loaded:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def _require(actor: Actor, permission: str, organisation=None, what: str = "do this") -> None:
    """People and tokens need ``permission`` for ``organisation``; the system (commands,
    tasks, runs) needs none."""
    if is_system(actor):
        return
    if not has_permission(actor, permission, organisation):
        where = f" for {organisation.name}" if organisation is not None else ""
        raise DelegationError(f"You do not have permission to {what}{where}.")


def _today() -> datetime.date:
    return timezone.localdate()

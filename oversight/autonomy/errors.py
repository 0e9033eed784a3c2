"""The refusal earned autonomy's human steps raise."""

from __future__ import annotations

from core.errors import ApplicationError


class AutonomyError(ApplicationError, ValueError):
    """A human step that cannot be taken; the message says why."""

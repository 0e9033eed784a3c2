"""The one error a service raises when it refuses a request.

A refusal is the user's to fix (a missing reason, a step out of order, an input out of
range), so it carries a sentence written for them. The API answers it once, as a 400 with
the standard error body (``api.errors``); a page shows it once, as an error message
(``core.pages.attempt``). Anything else that goes wrong is a fault, not a refusal.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A service refused: ``message`` says why, in words a user can act on.

    ``field`` names the input at fault, when there is one; a subclass may set a default.
    """

    field: str | None = None

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field

    @property
    def message(self) -> str:
        return str(self)


def require_reason(
    reason: str,
    message: str,
    error: type[ApplicationError] = ApplicationError,
    field: str = "reason",
) -> str:
    """``reason`` without surrounding space; a blank one is refused with ``message`` (as
    ``error``, naming the input ``field``)."""
    text = (reason or "").strip()
    if not text:
        raise error(message, field=field)
    return text

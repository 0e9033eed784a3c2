"""Who is acting: a person signed in, an API token, or the system itself.

Every service takes an ``actor: Actor``. A person or a token is checked against its roles;
the system (a command, a task, a segmentation run) acts with no permission check and is
named in the audit log. A plain text actor is the system acting under that name (``"system"``,
``"command"``, ``"test"``): :func:`as_actor` says so explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from .models import ApiToken


@dataclass(frozen=True)
class SystemActor:
    """The product acting for itself, under a name shown in the audit log."""

    name: str = "system"

    def __str__(self) -> str:
        return self.name


class TokenUser:
    """The user a request authenticated by an API token acts as."""

    is_active = True
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken) -> None:
        self.api_token = token

    def get_username(self) -> str:
        return f"token {self.api_token.prefix} ({self.api_token.name})"

    username = property(get_username)

    def __str__(self) -> str:
        return self.get_username()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.api_token.pk == self.api_token.pk

    def __hash__(self) -> int:
        return hash(("token", self.api_token.pk))


Actor = AbstractBaseUser | AnonymousUser | TokenUser | SystemActor | str | None

SYSTEM = SystemActor()


def as_actor(actor: Actor) -> AbstractBaseUser | AnonymousUser | TokenUser | SystemActor:
    """``actor`` with a text or missing actor made explicit as the system."""
    if actor is None:
        return SYSTEM
    if isinstance(actor, str):
        return SystemActor(actor)
    return actor


def is_system(actor: Actor) -> bool:
    """Whether ``actor`` is the system (no permission check applies)."""
    return isinstance(as_actor(actor), SystemActor)


def person_of(actor: Actor) -> User | None:
    """The person's account when a person acts; ``None`` for a token or the system."""
    return actor if isinstance(actor, User) else None


def actor_label(actor: Actor) -> str:
    """How ``actor`` is named in the audit log and on records."""
    actor = as_actor(actor)
    if isinstance(actor, SystemActor):
        return actor.name
    return actor.get_username() or "anonymous"

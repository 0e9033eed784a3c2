"""The audit log as people read it: each event's change as ``field: before → after``
lines, values written plainly (no Python dicts, no quotes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import AuditEvent

#: Recorded for every write a token makes: kept, but hidden from the log unless asked for.
TOKEN_NOISE = ("api_token.used_for_write",)
NOTHING = "\u2013"  # an en dash


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def plain(value: Any) -> str:
    """A recorded value as text: lists joined, mappings as ``key: value``, nothing as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return str(value)


def changes_of(event: AuditEvent) -> list[Change]:
    """What ``event`` changed, field by field (fields that did not change are left out)."""
    before, after = event.before, event.after
    if isinstance(before, dict) or isinstance(after, dict):
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        return [
            Change(str(key), plain(before.get(key)), plain(after.get(key)))
            for key in dict.fromkeys([*before, *after])
            if before.get(key) != after.get(key)
        ]
    if before is None and after is None:
        return []
    return [Change("value", plain(before), plain(after))]

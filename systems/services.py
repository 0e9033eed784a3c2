"""Writes to the organisation tables, role assignments and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from core.errors import ApplicationError

from . import audit
from .actors import Actor, SystemActor, person_of
from .authorization import ROLE_PERMISSIONS, Permission
from .models import (
    ApiToken,
    IntegratedCareBoard,
    Organisation,
    OrganisationKind,
    PeerGroup,
    Region,
    Role,
    RoleAssignment,
    Succession,
    Trust,
)
from .reference_data import DATA_DIR, read_reference_data


@dataclass
class LoadSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: str, model: str) -> None:
        counter = getattr(self, bucket)
        counter[model] = counter.get(model, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _upsert(
    model: type[models.Model],
    lookup: dict[str, Any],
    values: dict[str, Any],
    summary: LoadSummary,
    label: str,
) -> models.Model:
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        summary.count("created", label)
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
        summary.count("updated", label)
    else:
        summary.count("unchanged", label)
    return obj


@transaction.atomic
def load_reference_data(
    *, directory: Path = DATA_DIR, actor: Actor = SystemActor("load_reference_data")
) -> LoadSummary:
    """Create or update regions, ICBs, trusts and successions from the reference files.

    Idempotent: a second run with the same files changes nothing and records nothing.
    Every file is validated before anything is written (``ReferenceDataError``).
    """
    data = read_reference_data(directory)
    summary = LoadSummary()

    regions = {
        row.ods_code: _upsert(
            Region,
            {"ods_code": row.ods_code},
            {"ons_code": row.ons_code, "name": row.name, "short_name": row.short_name},
            summary,
            "region",
        )
        for row in data.regions
    }
    icbs = {
        row.code: _upsert(
            IntegratedCareBoard,
            {"code": row.code},
            {
                "name": row.name,
                "kind": OrganisationKind.ICB,
                "peer_group": PeerGroup.ICB,
                "region": regions[row.region_code],
                "ons_code": row.ons_code,
                "open_date": row.open_date,
                "close_date": row.close_date,
                "provenance": row.provenance,
            },
            summary,
            "icb",
        )
        for row in data.icbs
    }
    _load_trusts(data.trusts, regions, icbs, summary)
    organisations = {o.code: o for o in Organisation.objects.only("id", "code")}
    for row in data.successions:
        _upsert(
            Succession,
            {
                "predecessor": organisations[row.predecessor],
                "successor": organisations[row.successor],
            },
            {"date": row.date, "succession_type": row.succession_type},
            summary,
            "succession",
        )

    if summary.changed:
        audit.record(
            actor=actor,
            action="reference_data.loaded",
            object_type="systems.reference_data",
            object_repr=str(directory.name),
            after=summary.as_dict(),
            reason="Organisation reference data loaded from the repository's CSV files",
        )
    return summary


def _load_trusts(
    rows: list[Any], regions: dict[str, Region], icbs: dict[str, Any], summary: LoadSummary
) -> None:
    for row in rows:
        _upsert(
            Trust,
            {"code": row.code},
            {
                "name": row.name,
                "kind": OrganisationKind.TRUST,
                "peer_group": row.peer_group,
                "region": regions[row.region_code],
                "open_date": row.open_date,
                "close_date": row.close_date,
                "trust_type": row.trust_type,
                "subtype": row.subtype,
                "eric_type": row.eric_type,
                "type_source": row.type_source,
                "is_foundation_trust": row.is_foundation_trust,
                "icb_before_2026": icbs.get(row.icb_before_2026),
                "icb_from_2026": icbs.get(row.icb_from_2026),
                "icb_from_2026_basis": row.icb_from_2026_basis,
                "former_name": row.former_name,
                "name_source": row.name_source,
                "notes": row.notes,
            },
            summary,
            "trust",
        )


# --- Roles and API tokens -----------------------------------------------------------------


class AccessError(ApplicationError, ValueError):
    """A role or token request that cannot be honoured, with the reason in the message."""


def check_scope(role: str, region: Region | None, icb: IntegratedCareBoard | None) -> None:
    if role not in Role.values:
        raise AccessError(f"'{role}' is not a role; expected one of: {', '.join(Role.values)}.")
    if role in (Role.NATIONAL, Role.DATA_STEWARD) and (region or icb):
        raise AccessError("This role covers all of England: give no region or ICB.")
    if role == Role.REGIONAL and (region is None or icb is not None):
        raise AccessError("A regional role needs a region (and no ICB).")
    if role == Role.ICB_ANALYST and (icb is None or region is not None):
        raise AccessError("An ICB analyst role needs an ICB (and no region).")


def check_token_rights(role: str, can_upload: bool) -> None:
    """A token gets no right its role lacks: uploads only for a role that uploads."""
    if can_upload and Permission.UPLOAD_METRICS not in ROLE_PERMISSIONS.get(role, ()):
        raise AccessError(
            f"The role '{Role(role).label}' does not upload metric files, so its token cannot "
            "either: create the token read-only, or with a role that uploads."
        )


def _scope_document(obj: RoleAssignment | ApiToken) -> dict[str, Any]:
    return {
        "role": obj.role,
        "region": obj.region.ods_code if obj.region_id else None,
        "icb": obj.icb.code if obj.icb_id else None,
    }


@transaction.atomic
def grant_role(
    *,
    user: Any,
    role: str,
    region: Region | None = None,
    icb: IntegratedCareBoard | None = None,
    actor: Actor,
    reason: str = "",
) -> RoleAssignment:
    """Give ``user`` ``role`` for a scope. Granting a role already held changes nothing."""
    check_scope(role, region, icb)
    existing = (
        RoleAssignment.objects.active().filter(user=user, role=role, region=region, icb=icb).first()
    )
    if existing is not None:
        return existing
    assignment = RoleAssignment.objects.create(
        user=user,
        role=role,
        region=region,
        icb=icb,
        granted_by=person_of(actor),
        granted_by_label=audit.actor_label(actor),
        reason=reason,
    )
    audit.record(
        actor=actor,
        action="role.granted",
        obj=assignment,
        after={"user": user.get_username(), **_scope_document(assignment)},
        reason=reason,
    )
    return assignment


@transaction.atomic
def revoke_role(*, assignment: RoleAssignment, actor: Actor, reason: str = "") -> RoleAssignment:
    """End a role assignment (kept, with who ended it and when)."""
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.revoked_at is not None:
        return assignment
    assignment.revoked_at = timezone.now()
    assignment.revoked_by_label = audit.actor_label(actor)
    assignment.save(update_fields=["revoked_at", "revoked_by_label"])
    audit.record(
        actor=actor,
        action="role.revoked",
        obj=assignment,
        before={"user": assignment.user.get_username(), **_scope_document(assignment)},
        reason=reason,
    )
    return assignment


TOKEN_PREFIX = "nof_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class NewToken:
    token: ApiToken
    raw: str  # shown once, never stored


@transaction.atomic
def create_api_token(
    *,
    name: str,
    role: str,
    region: Region | None = None,
    icb: IntegratedCareBoard | None = None,
    can_upload: bool = False,
    actor: Actor,
    reason: str = "",
) -> NewToken:
    """A new token for another system. The returned ``raw`` value is the only copy."""
    check_scope(role, region, icb)
    if not name.strip():
        raise AccessError("Give the token a name saying who or what will use it.")
    check_token_rights(role, can_upload)
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name.strip(),
        role=role,
        region=region,
        icb=icb,
        can_upload=can_upload,
        prefix=prefix,
        token_hash=hash_token(raw),
        created_by=person_of(actor),
        created_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="api_token.created",
        obj=token,
        after={"name": token.name, "prefix": prefix, "can_upload": can_upload}
        | _scope_document(token),
        reason=reason,
    )
    return NewToken(token=token, raw=raw)


@transaction.atomic
def revoke_api_token(*, token: ApiToken, actor: Actor, reason: str = "") -> ApiToken:
    """Stop a token working at once. Revoking a revoked token changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = person_of(actor)
    token.revoked_by_label = audit.actor_label(actor)
    token.revoke_reason = reason
    token.save(update_fields=["revoked_at", "revoked_by", "revoked_by_label", "revoke_reason"])
    audit.record(
        actor=actor,
        action="api_token.revoked",
        obj=token,
        before={"name": token.name, "prefix": token.prefix, "active": True},
        after={"active": False},
        reason=reason,
    )
    return token


def token_from_raw(raw: str) -> ApiToken | None:
    """The active token ``raw`` is, or ``None``."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix = raw[len(TOKEN_PREFIX) :].split("_", 1)[0]
    # Checked on every API request: one indexed look-up, no ordering or joins.
    token = next(
        iter(
            ApiToken.objects.raw(
                f"SELECT * FROM {ApiToken._meta.db_table} WHERE prefix = %s AND revoked_at IS NULL",
                [prefix],
            )
        ),
        None,
    )
    if token is None or not secrets.compare_digest(token.token_hash, hash_token(raw)):
        return None
    return token


#: ``last_used_at`` is written at most this often per token, so reads stay cheap.
LAST_USED_RESOLUTION_SECONDS = 60


def note_token_used(token: ApiToken) -> None:
    now = timezone.now()
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def record_token_write(*, token: ApiToken, method: str, path: str) -> None:
    """A token was used to change something: who, what request."""
    audit.record(
        actor=f"token {token.prefix} ({token.name})",
        action="api_token.used_for_write",
        obj=token,
        after={"method": method, "path": path},
    )

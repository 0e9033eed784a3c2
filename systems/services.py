"""Writes to the organisation tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import models, transaction

from . import audit
from .models import (
    IntegratedCareBoard,
    Organisation,
    OrganisationKind,
    PeerGroup,
    Region,
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
    *, directory: Path = DATA_DIR, actor: Any = "load_reference_data"
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
    for row in data.trusts:
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

"""The catalogue, timeline, condition rules and agreement templates, loaded from the data
files in ``delegation/data/`` and ``delegation/policy.yaml`` (every problem listed; nothing
loaded when there is one)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from core.dates import financial_year_bounds
from systems import audit
from systems.actors import Actor
from systems.datafiles import CsvFile
from systems.models import Region

from ..models import (
    AgreementTemplate,
    Arrangement,
    ConditionRule,
    DelegationTimeline,
    SpecialisedService,
    Tranche,
)
from .base import DelegationDataError
from .catalogue import check_reclassification, service_problems

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SERVICES_FILE = DATA_DIR / "specialised_services.csv"
TIMELINE_FILE = DATA_DIR / "timeline.csv"
POLICY_FILE = Path(__file__).resolve().parent.parent / "policy.yaml"

SERVICE_COLUMNS = ("name", "code", "programme_of_care", "status", "highly_specialised", "tranche")
TIMELINE_COLUMNS = ("region_ods_code", "tranche", "arrangement", "starts_on")


@dataclass(frozen=True)
class ServiceRow:
    name: str
    code: str
    programme_of_care: str
    status: str
    highly_specialised: bool
    tranche: str
    source: str


@dataclass(frozen=True)
class TimelineRow:
    region_ods_code: str
    tranche: str
    arrangement: str
    starts_on: datetime.date


@dataclass
class DelegationData:
    services: list[ServiceRow] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)


def _csv_rows(path: Path, required: Iterable[str], problems: list[str]):
    return CsvFile(path, required, problems).rows


def _bad(problems: list[str], path: Path, line: int, column: str, value: str, expected: str):
    problems.append(f"{path.name}, row {line}, column {column}: got {value!r}, expected {expected}")


def read_delegation_data(
    services_path: Path = SERVICES_FILE,
    timeline_path: Path = TIMELINE_FILE,
    policy_path: Path = POLICY_FILE,
) -> DelegationData:
    """Every file checked, every problem reported together; raises on any problem."""
    problems: list[str] = []
    data = DelegationData(
        services=_read_services(services_path, problems),
        timeline=_read_timeline(timeline_path, problems),
        policy=_read_policy(policy_path, problems),
    )
    if problems:
        raise DelegationDataError(problems)
    return data


def _read_services(services_path: Path, problems: list[str]) -> list[ServiceRow]:
    services: list[ServiceRow] = []
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for line, row in _csv_rows(services_path, SERVICE_COLUMNS, problems):
        name = row["name"]
        if not name:
            _bad(problems, services_path, line, "name", name, "the service's name")
            continue
        if name.lower() in seen_names:
            _bad(
                problems,
                services_path,
                line,
                "name",
                name,
                f"a name not already on row {seen_names[name.lower()]}",
            )
        seen_names[name.lower()] = line
        code = row["code"]
        if code and code in seen_codes:
            _bad(
                problems, services_path, line, "code", code, f"a code not on row {seen_codes[code]}"
            )
        if code:
            seen_codes[code] = line
        flag = row["highly_specialised"].lower()
        if flag not in {"true", "false", "yes", "no"}:
            _bad(
                problems,
                services_path,
                line,
                "highly_specialised",
                row["highly_specialised"],
                "true or false",
            )
        highly = flag in {"true", "yes"}
        for problem in service_problems(
            status=row["status"], highly_specialised=highly, tranche=row["tranche"]
        ):
            problems.append(f"{services_path.name}, row {line}: {problem}")
        services.append(
            ServiceRow(
                name=name,
                code=code,
                programme_of_care=row["programme_of_care"],
                status=row["status"],
                highly_specialised=highly,
                tranche=row["tranche"],
                source=row.get("source", ""),
            )
        )
    return services


def _read_timeline(timeline_path: Path, problems: list[str]) -> list[TimelineRow]:
    timeline: list[TimelineRow] = []
    regions = set(Region.objects.values_list("ods_code", flat=True))
    for line, row in _csv_rows(timeline_path, TIMELINE_COLUMNS, problems):
        ok = True
        if row["region_ods_code"] not in regions:
            _bad(
                problems,
                timeline_path,
                line,
                "region_ods_code",
                row["region_ods_code"],
                "the ODS code of a loaded region (Y56 to Y63)",
            )
            ok = False
        if row["tranche"] not in Tranche.values:
            _bad(
                problems,
                timeline_path,
                line,
                "tranche",
                row["tranche"],
                " or ".join(Tranche.values),
            )
            ok = False
        if row["arrangement"] not in Arrangement.values:
            _bad(
                problems,
                timeline_path,
                line,
                "arrangement",
                row["arrangement"],
                " or ".join(Arrangement.values),
            )
            ok = False
        try:
            starts_on = datetime.date.fromisoformat(row["starts_on"])
        except ValueError:
            _bad(problems, timeline_path, line, "starts_on", row["starts_on"], "YYYY-MM-DD")
            ok = False
        if ok:
            timeline.append(
                TimelineRow(row["region_ods_code"], row["tranche"], row["arrangement"], starts_on)
            )
    return timeline


def _read_policy(policy_path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        policy = yaml.safe_load(policy_path.read_text()) or {}
        int(policy["version"])
        for rule in policy["conditions"]:
            segments = rule["segments"]
            if not segments or any(s not in (1, 2, 3, 4, 5) for s in segments):
                problems.append(f"{policy_path.name}: {rule['slug']}: segments must be 1 to 5")
        for template in policy.get("templates", []):
            financial_year_bounds(template["financial_year"])
        return policy
    except FileNotFoundError:
        problems.append(f"{policy_path.name}: file not found")
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        problems.append(f"{policy_path.name}: not a valid delegation policy ({exc})")
    return {}


@transaction.atomic
def load_delegation_data(
    *,
    actor: Actor,
    services_path: Path = SERVICES_FILE,
    timeline_path: Path = TIMELINE_FILE,
    policy_path: Path = POLICY_FILE,
) -> dict[str, int]:
    """Install the catalogue, the timeline, condition rules and templates (idempotent: an
    unchanged file changes nothing and writes no audit event). Services are matched by code,
    then by name; services missing from the file are kept (national users retire them)."""
    data = read_delegation_data(services_path, timeline_path, policy_path)
    counts = {"services_created": 0, "services_updated": 0, "timeline": 0, "rules": 0}
    _install_services(actor, data.services, services_path.name, counts)
    _install_timeline(actor, data.timeline, timeline_path.name, counts)
    _install_rules(actor, data.policy, policy_path.name, counts)
    _install_templates(actor, data.policy, policy_path.name)
    return counts


def _install_services(
    actor: Actor, services: list[ServiceRow], source: str, counts: dict[str, int]
) -> None:
    by_code = {s.code: s for s in SpecialisedService.objects.exclude(code="")}
    by_name = {s.name.lower(): s for s in SpecialisedService.objects.all()}
    for row in services:
        fields = {
            "name": row.name,
            "code": row.code,
            "programme_of_care": row.programme_of_care,
            "status": row.status,
            "highly_specialised": row.highly_specialised,
            "tranche": row.tranche,
            "source": row.source,
        }
        existing = (by_code.get(row.code) if row.code else None) or by_name.get(row.name.lower())
        if existing is None:
            service = SpecialisedService.objects.create(**fields)
            counts["services_created"] += 1
            audit.record(
                actor=actor,
                action="delegation.service_added",
                obj=service,
                after=fields,
                reason=f"Loaded from {source}",
            )
            continue
        before = {k: getattr(existing, k) for k in fields}
        if before != fields:
            check_reclassification(existing, row.status)
            SpecialisedService.objects.filter(pk=existing.pk).update(**fields)
            counts["services_updated"] += 1
            audit.record(
                actor=actor,
                action="delegation.service_changed",
                obj=existing,
                before=before,
                after=fields,
                reason=f"Loaded from {source}",
            )


def _install_timeline(
    actor: Actor, timeline: list[TimelineRow], source: str, counts: dict[str, int]
) -> None:
    regions = dict(Region.objects.values_list("ods_code", "pk"))
    for row in timeline:
        step, created = DelegationTimeline.objects.get_or_create(
            region_id=regions[row.region_ods_code],
            tranche=row.tranche,
            arrangement=row.arrangement,
            defaults={"starts_on": row.starts_on, "source": source},
        )
        if not created and step.starts_on != row.starts_on:
            audit.record(
                actor=actor,
                action="delegation.timeline_changed",
                obj=step,
                before={"starts_on": step.starts_on.isoformat()},
                after={"starts_on": row.starts_on.isoformat()},
                reason=f"Loaded from {source}",
            )
            DelegationTimeline.objects.filter(pk=step.pk).update(starts_on=row.starts_on)
            created = True
        counts["timeline"] += int(created)


def _install_rules(
    actor: Actor, policy: dict[str, Any], source: str, counts: dict[str, int]
) -> None:
    version = int(policy["version"])
    for rule in policy["conditions"]:
        existing = ConditionRule.objects.filter(slug=rule["slug"]).first()
        if existing is not None and existing.version >= version:
            continue
        values = {
            "name": rule["name"],
            "description": rule["description"],
            "segments": sorted(rule["segments"]),
            "version": version,
        }
        saved, _ = ConditionRule.objects.update_or_create(slug=rule["slug"], defaults=values)
        counts["rules"] += 1
        audit.record(
            actor=actor,
            action="delegation.condition_rule_loaded",
            obj=saved,
            before={"segments": existing.segments, "version": existing.version}
            if existing
            else None,
            after=values,
            reason=f"Loaded from {source}",
        )


def _install_templates(actor: Actor, policy: dict[str, Any], source: str) -> None:
    for template in policy.get("templates", []):
        saved, created = AgreementTemplate.objects.get_or_create(
            version=template["version"],
            defaults={
                "financial_year": template["financial_year"],
                "published_on": template.get("published_on"),
                "notes": template.get("notes", ""),
            },
        )
        if created:
            audit.record(
                actor=actor,
                action="delegation.template_added",
                obj=saved,
                after={"financial_year": saved.financial_year},
                reason=f"Loaded from {source}",
            )

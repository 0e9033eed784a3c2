"""Writes for delegated specialised services. Each public function is one transaction and
writes its own audit events; the checks that make a step impossible raise
:class:`DelegationError` with a message a person can act on.

- the catalogue, timeline, condition rules and templates load from data files
  (:func:`load_delegation_data`) and national users change services one at a time;
- agreements go draft → signed → in force → ended; only a regional director of the ICB's
  own region signs, and a retained service can never be scheduled;
- :func:`apply_conditions` puts the spending-approval condition on (or lifts it from) each
  ICB's in-force agreement from the ICB's latest segment; it runs after every segmentation
  run (in the order ``oversight.runs`` sets), every recorded ICB segment and every
  agreement coming into force;
- commissioning change requests wait for the region's decision while the condition is in
  force and overall spend changes, and are noted otherwise.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.dates import financial_year_bounds, is_financial_year
from core.errors import ApplicationError
from oversight.models import OrganisationAssessment, SegmentationRun
from oversight.notifications import notify, notify_person
from systems import audit
from systems.actors import Actor, is_system, person_of
from systems.authorization import Permission, has_permission
from systems.models import IntegratedCareBoard, Region, Succession

from .models import (
    AgreementCondition,
    AgreementService,
    AgreementStatus,
    AgreementTemplate,
    Arrangement,
    ArrangementCategory,
    ChangeRequestEvent,
    CollaborationArrangement,
    CollaborationKind,
    CommissioningChangeRequest,
    ConditionRule,
    DelegationAgreement,
    DelegationTimeline,
    DevelopmentalArrangement,
    IcbSegment,
    RequestStatus,
    SegmentSource,
    ServiceStatus,
    SpecialisedService,
    Tranche,
)
from .selectors import current_icb_segments, delegation_dates, in_force_agreement

DATA_DIR = Path(__file__).resolve().parent / "data"
SERVICES_FILE = DATA_DIR / "specialised_services.csv"
TIMELINE_FILE = DATA_DIR / "timeline.csv"
POLICY_FILE = Path(__file__).resolve().parent / "policy.yaml"

SERVICE_COLUMNS = ("name", "code", "programme_of_care", "status", "highly_specialised", "tranche")
TIMELINE_COLUMNS = ("region_ods_code", "tranche", "arrangement", "starts_on")


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
    """People need ``permission`` for ``organisation``; commands and tasks (a text actor)
    act for the system."""
    if is_system(actor):
        return
    if not has_permission(actor, permission, organisation):
        where = f" for {organisation.name}" if organisation is not None else ""
        raise DelegationError(f"You do not have permission to {what}{where}.")


def _today() -> datetime.date:
    return timezone.localdate()


# --- Reading the data files ------------------------------------------------------------------


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
    name = path.name
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in required if c not in header]
            if missing:
                problems.append(
                    f"{name}: missing column(s) {', '.join(missing)}; "
                    f"found {', '.join(header) or 'no header'}"
                )
                return []
            rows = []
            for line_no, raw in enumerate(reader, start=2):
                if None in raw:
                    problems.append(f"{name}, row {line_no}: more values than columns")
                    continue
                row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
                if any(row.values()):
                    rows.append((line_no, row))
            return rows
    except FileNotFoundError:
        problems.append(f"{name}: file not found")
    except UnicodeDecodeError as exc:
        problems.append(f"{name}: not valid UTF-8 ({exc.reason} at byte {exc.start})")
    return []


def _bad(problems: list[str], path: Path, line: int, column: str, value: str, expected: str):
    problems.append(f"{path.name}, row {line}, column {column}: got {value!r}, expected {expected}")


def service_problems(
    *, status: str, highly_specialised: bool, tranche: str, name: str = ""
) -> list[str]:
    """What is wrong with a service's classification (shared by files, forms and the admin)."""
    problems = []
    if status not in ServiceStatus.values:
        problems.append(f"status must be one of {', '.join(ServiceStatus.values)}")
    if highly_specialised and status != ServiceStatus.RETAINED:
        problems.append("a highly specialised service is always retained by NHS England")
    if status == ServiceStatus.DELEGABLE and tranche not in Tranche.values:
        problems.append(f"a delegable service needs its tranche ({' or '.join(Tranche.values)})")
    if status == ServiceStatus.RETAINED and tranche:
        problems.append("a retained service is never delegated, so it has no tranche")
    return [f"{name}: {p}" if name else p for p in problems]


def read_delegation_data(
    services_path: Path = SERVICES_FILE,
    timeline_path: Path = TIMELINE_FILE,
    policy_path: Path = POLICY_FILE,
) -> DelegationData:
    """Every file checked, every problem reported together; raises on any problem."""
    problems: list[str] = []
    data = DelegationData()
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
        data.services.append(
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
            data.timeline.append(
                TimelineRow(row["region_ods_code"], row["tranche"], row["arrangement"], starts_on)
            )
    try:
        policy = yaml.safe_load(policy_path.read_text()) or {}
        int(policy["version"])
        for rule in policy["conditions"]:
            segments = rule["segments"]
            if not segments or any(s not in (1, 2, 3, 4, 5) for s in segments):
                problems.append(f"{policy_path.name}: {rule['slug']}: segments must be 1 to 5")
        for template in policy.get("templates", []):
            financial_year_bounds(template["financial_year"])
        data.policy = policy
    except FileNotFoundError:
        problems.append(f"{policy_path.name}: file not found")
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        problems.append(f"{policy_path.name}: not a valid delegation policy ({exc})")
    if problems:
        raise DelegationDataError(problems)
    return data


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
    by_code = {s.code: s for s in SpecialisedService.objects.exclude(code="")}
    by_name = {s.name.lower(): s for s in SpecialisedService.objects.all()}
    for row in data.services:
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
                reason=f"Loaded from {services_path.name}",
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
                reason=f"Loaded from {services_path.name}",
            )
    regions = dict(Region.objects.values_list("ods_code", "pk"))
    for row in data.timeline:
        step, created = DelegationTimeline.objects.get_or_create(
            region_id=regions[row.region_ods_code],
            tranche=row.tranche,
            arrangement=row.arrangement,
            defaults={"starts_on": row.starts_on, "source": timeline_path.name},
        )
        if not created and step.starts_on != row.starts_on:
            audit.record(
                actor=actor,
                action="delegation.timeline_changed",
                obj=step,
                before={"starts_on": step.starts_on.isoformat()},
                after={"starts_on": row.starts_on.isoformat()},
                reason=f"Loaded from {timeline_path.name}",
            )
            DelegationTimeline.objects.filter(pk=step.pk).update(starts_on=row.starts_on)
            created = True
        counts["timeline"] += int(created)
    version = int(data.policy["version"])
    for rule in data.policy["conditions"]:
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
            reason=f"Loaded from {policy_path.name}",
        )
    for template in data.policy.get("templates", []):
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
                reason=f"Loaded from {policy_path.name}",
            )
    return counts


# --- The catalogue, one service at a time ------------------------------------------------


def check_reclassification(service: SpecialisedService, status: str) -> None:
    if status == ServiceStatus.RETAINED and service.status != ServiceStatus.RETAINED:
        live = AgreementService.objects.filter(
            service=service,
            agreement__status__in=[AgreementStatus.SIGNED, AgreementStatus.IN_FORCE],
        ).exists()
        if live:
            raise DelegationError(
                f"{service.name} is delegated under a signed or in-force agreement; end or "
                "amend those agreements before marking it retained."
            )


@transaction.atomic
def add_service(
    *,
    actor: Actor,
    name: str,
    status: str,
    tranche: str = "",
    highly_specialised: bool = False,
    code: str = "",
    programme_of_care: str = "",
    source: str = "",
    reason: str = "",
) -> SpecialisedService:
    """A national user adds a service to the catalogue."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change the services catalogue")
    name = name.strip()
    if not name:
        raise DelegationError("Give the service's name.")
    problems = service_problems(
        status=status, highly_specialised=highly_specialised, tranche=tranche
    )
    if problems:
        raise DelegationError("; ".join(problems).capitalize() + ".")
    if SpecialisedService.objects.filter(name__iexact=name).exists():
        raise DelegationError(f"The catalogue already has a service called {name!r}.")
    if code and SpecialisedService.objects.filter(code=code).exists():
        raise DelegationError(f"The code {code!r} is already used by another service.")
    service = SpecialisedService.objects.create(
        name=name,
        code=code,
        programme_of_care=programme_of_care,
        status=status,
        tranche=tranche,
        highly_specialised=highly_specialised,
        source=source,
    )
    audit.record(
        actor=actor,
        action="delegation.service_added",
        obj=service,
        after=_service_state(service),
        reason=reason,
    )
    return service


def _service_state(service: SpecialisedService) -> dict[str, Any]:
    return {
        "name": service.name,
        "code": service.code,
        "programme_of_care": service.programme_of_care,
        "status": service.status,
        "highly_specialised": service.highly_specialised,
        "tranche": service.tranche,
        "retired_on": service.retired_on.isoformat() if service.retired_on else None,
    }


@transaction.atomic
def change_service(
    *, actor: Actor, service: SpecialisedService, reason: str, **changes: Any
) -> SpecialisedService:
    """Rename or reclassify a service (a national user, with a reason)."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change the services catalogue")
    allowed = {"name", "code", "programme_of_care", "status", "highly_specialised", "tranche"}
    unknown = set(changes) - allowed
    if unknown:
        raise DelegationError(f"These cannot be changed here: {', '.join(sorted(unknown))}.")
    if not reason.strip():
        raise DelegationError("Give the reason for the change.")
    service = SpecialisedService.objects.select_for_update().get(pk=service.pk)
    before = _service_state(service)
    merged = {**{k: getattr(service, k) for k in allowed}, **changes}
    problems = service_problems(
        status=merged["status"],
        highly_specialised=merged["highly_specialised"],
        tranche=merged["tranche"],
    )
    if problems:
        raise DelegationError("; ".join(problems).capitalize() + ".")
    name = str(merged["name"]).strip()
    if SpecialisedService.objects.filter(name__iexact=name).exclude(pk=service.pk).exists():
        raise DelegationError(f"The catalogue already has a service called {name!r}.")
    check_reclassification(service, merged["status"])
    for key, value in merged.items():
        setattr(service, key, value)
    service.name = name
    service.save()
    audit.record(
        actor=actor,
        action="delegation.service_changed",
        obj=service,
        before=before,
        after=_service_state(service),
        reason=reason,
    )
    return service


@transaction.atomic
def retire_service(
    *, actor: Actor, service: SpecialisedService, on: datetime.date, reason: str
) -> SpecialisedService:
    """Take a service out of the catalogue from ``on``: it can no longer be scheduled."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change the services catalogue")
    if not reason.strip():
        raise DelegationError("Give the reason for retiring the service.")
    service = SpecialisedService.objects.select_for_update().get(pk=service.pk)
    before = _service_state(service)
    service.retired_on, service.retired_reason = on, reason
    service.save(update_fields=["retired_on", "retired_reason", "updated_at"])
    audit.record(
        actor=actor,
        action="delegation.service_retired",
        obj=service,
        before=before,
        after=_service_state(service),
        reason=reason,
    )
    return service


# --- Agreements ------------------------------------------------------------------------------


def _agreement_state(agreement: DelegationAgreement) -> dict[str, Any]:
    return {
        "status": agreement.status,
        "signed_by": agreement.signed_by_label or None,
        "signed_on": agreement.signed_on.isoformat() if agreement.signed_on else None,
        "in_force_from": agreement.in_force_from.isoformat() if agreement.in_force_from else None,
        "ended_on": agreement.ended_on.isoformat() if agreement.ended_on else None,
    }


def _check_financial_year(financial_year: str) -> tuple[datetime.date, datetime.date]:
    if not is_financial_year(financial_year):
        raise DelegationError(
            f"{financial_year!r} is not a financial year; write it like 2026/27.",
            field="financial_year",
        )
    return financial_year_bounds(financial_year)


@transaction.atomic
def create_agreement(
    *,
    actor: Actor,
    icb: IntegratedCareBoard,
    financial_year: str,
    template: AgreementTemplate | None = None,
    services: Iterable[SpecialisedService] | None = None,
) -> DelegationAgreement:
    """A draft agreement for ``icb`` and ``financial_year`` from the year's template.

    ``services`` defaults to every delegable service delegated in the ICB's region during
    the year, each effective from the later of the year's start and its delegation date.
    The agreements of ICBs that merged into ``icb`` are recorded as its predecessors.
    """
    _require(actor, Permission.MANAGE_DELEGATION, icb, "prepare delegation agreements")
    start, end = _check_financial_year(financial_year)
    if not icb.existed_on(start):
        raise DelegationError(
            f"{icb.name} does not exist on {start:%-d %B %Y}; agreements are made with the ICBs "
            "of that year."
        )
    if DelegationAgreement.objects.filter(icb=icb, financial_year=financial_year).exists():
        raise DelegationError(f"{icb.name} already has a {financial_year} agreement.")
    if template is None:
        template = (
            AgreementTemplate.objects.filter(financial_year=financial_year)
            .order_by("-published_on", "-id")
            .first()
        )
        if template is None:
            raise DelegationError(
                f"No agreement template for {financial_year} is loaded; add one first."
            )
    agreement = DelegationAgreement.objects.create(
        icb=icb,
        financial_year=financial_year,
        template=template,
        starts_on=start,
        ends_on=end,
        created_by_label=audit.actor_label(actor),
    )
    predecessor_ids = Succession.objects.filter(
        successor=icb, date__lte=start, date__gt=start - datetime.timedelta(days=366)
    ).values_list("predecessor_id", flat=True)
    previous_year = f"{start.year - 1}/{start.year % 100:02d}"
    predecessors = list(
        DelegationAgreement.objects.filter(
            icb_id__in=list(predecessor_ids), financial_year=previous_year
        )
    )
    agreement.predecessors.set(predecessors)
    dates = delegation_dates(icb.region_id)
    if services is None:
        # Every delegable service delegated in the region by the year's end: valid by
        # construction, so written in one statement.
        lines = [
            AgreementService(
                agreement=agreement,
                service=service,
                effective_from=max(dates[service.tranche], start),
            )
            for service in SpecialisedService.objects.filter(
                status=ServiceStatus.DELEGABLE, retired_on__isnull=True
            )
            if service.tranche in dates and dates[service.tranche] <= end
        ]
        AgreementService.objects.bulk_create(lines)
        scheduled = len(lines)
    else:
        services = list(services)
        for service in services:
            _schedule(agreement, service, start, None, dates)
        scheduled = len(services)
    audit.record(
        actor=actor,
        action="delegation.agreement_created",
        obj=agreement,
        after={
            **_agreement_state(agreement),
            "template": template.version,
            "services": scheduled,
            "predecessors": [str(p) for p in predecessors],
        },
    )
    return agreement


def _schedule(
    agreement: DelegationAgreement,
    service: SpecialisedService,
    effective_from: datetime.date,
    effective_to: datetime.date | None,
    dates: dict[str, datetime.date] | None = None,
) -> AgreementService:
    if service.status == ServiceStatus.RETAINED:
        kind = "a highly specialised service" if service.highly_specialised else "a service"
        raise DelegationError(
            f"{service.name} is {kind} retained by NHS England as direct commissioner; "
            "it can never be delegated in an agreement."
        )
    if service.retired_on is not None and service.retired_on <= effective_from:
        raise DelegationError(
            f"{service.name} was retired from the catalogue on {service.retired_on}."
        )
    if not agreement.starts_on <= effective_from <= agreement.ends_on:
        raise DelegationError(
            f"{service.name}: the effective date {effective_from} is outside the agreement's "
            f"year ({agreement.starts_on} to {agreement.ends_on})."
        )
    if effective_to is not None and effective_to < effective_from:
        raise DelegationError(f"{service.name}: the end date is before the effective date.")
    if dates is None:
        dates = delegation_dates(agreement.icb.region_id)
    since = dates.get(service.tranche)
    region = agreement.icb.region.name
    if since is None:
        raise DelegationError(
            f"{service.name} has no delegation date for {region} in the timeline."
        )
    if effective_from < since:
        raise DelegationError(
            f"{service.name} is delegated in {region} from {since:%-d %B %Y}, not "
            f"{effective_from:%-d %B %Y}."
        )
    if AgreementService.objects.filter(agreement=agreement, service=service).exists():
        raise DelegationError(f"{service.name} is already in this agreement's schedule.")
    return AgreementService.objects.create(
        agreement=agreement,
        service=service,
        effective_from=effective_from,
        effective_to=effective_to,
    )


def _draft(agreement: DelegationAgreement) -> DelegationAgreement:
    agreement = (
        DelegationAgreement.objects.select_for_update()
        .select_related("icb__region")
        .get(pk=agreement.pk)
    )
    if agreement.status != AgreementStatus.DRAFT:
        raise DelegationError(
            f"This agreement is {agreement.get_status_display().lower()}; only a draft can be "
            "changed."
        )
    return agreement


@transaction.atomic
def schedule_service(
    *,
    actor: Actor,
    agreement: DelegationAgreement,
    service: SpecialisedService,
    effective_from: datetime.date,
    effective_to: datetime.date | None = None,
) -> AgreementService:
    """Add a service to a draft agreement's schedule (never a retained one)."""
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "prepare delegation agreements")
    agreement = _draft(agreement)
    line = _schedule(agreement, service, effective_from, effective_to)
    audit.record(
        actor=actor,
        action="delegation.service_scheduled",
        obj=agreement,
        after={
            "service": service.name,
            "effective_from": effective_from.isoformat(),
            "effective_to": effective_to.isoformat() if effective_to else None,
        },
    )
    return line


@transaction.atomic
def unschedule_service(
    *, actor: Actor, agreement: DelegationAgreement, service: SpecialisedService, reason: str
) -> None:
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "prepare delegation agreements")
    agreement = _draft(agreement)
    deleted, _ = AgreementService.objects.filter(agreement=agreement, service=service).delete()
    if not deleted:
        raise DelegationError(f"{service.name} is not in this agreement's schedule.")
    audit.record(
        actor=actor,
        action="delegation.service_unscheduled",
        obj=agreement,
        before={"service": service.name},
        reason=reason,
    )


@transaction.atomic
def add_developmental_arrangement(
    *,
    actor: Actor,
    agreement: DelegationAgreement,
    category: str,
    text: str,
    agreed_by: str,
    review_date: datetime.date,
) -> DevelopmentalArrangement:
    """A local arrangement tailored to the ICB's readiness (draft, signed or in force)."""
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "prepare delegation agreements")
    if agreement.status == AgreementStatus.ENDED:
        raise DelegationError("This agreement has ended.")
    if category not in ArrangementCategory.values:
        raise DelegationError(
            f"The category must be one of {', '.join(ArrangementCategory.labels).lower()}."
        )
    if not text.strip() or not agreed_by.strip():
        raise DelegationError("Say what the arrangement is and who agreed it.")
    if review_date < agreement.starts_on:
        raise DelegationError("The review date is before the agreement starts.")
    item = DevelopmentalArrangement.objects.create(
        agreement=agreement,
        category=category,
        text=text.strip(),
        agreed_by=agreed_by.strip(),
        review_date=review_date,
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="delegation.arrangement_added",
        obj=agreement,
        after={
            "category": category,
            "text": item.text,
            "agreed_by": item.agreed_by,
            "review_date": review_date.isoformat(),
        },
    )
    return item


@transaction.atomic
def sign_agreement(
    *, actor: Actor, agreement: DelegationAgreement, signed_on: datetime.date | None = None
) -> DelegationAgreement:
    """The regional director of the ICB's own region signs for NHS England; nobody else can."""
    agreement = _draft(agreement)
    icb = agreement.icb
    if is_system(actor) or not has_permission(actor, Permission.SIGN_DELEGATION_AGREEMENT, icb):
        raise DelegationError(
            f"Only a regional director of {icb.region.name} can sign {icb.name}'s agreement."
        )
    lines = list(agreement.schedule.select_related("service"))
    if not lines:
        raise DelegationError("The agreement delegates no services yet; schedule them first.")
    retained = [line.service.name for line in lines if not line.service.is_delegable]
    if retained:
        raise DelegationError(
            "These services are retained or retired and cannot be delegated: "
            + ", ".join(retained)
            + ". Remove them before signing."
        )
    before = _agreement_state(agreement)
    agreement.status = AgreementStatus.SIGNED
    agreement.signed_by = actor
    agreement.signed_by_label = audit.actor_label(actor)
    agreement.signed_on = signed_on or _today()
    agreement.save()
    audit.record(
        actor=actor,
        action="delegation.agreement_signed",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
    )
    return agreement


@transaction.atomic
def record_signature_made_elsewhere(
    *, actor: str, agreement: DelegationAgreement, signatory: str, signed_on: datetime.date
) -> DelegationAgreement:
    """Record a signature made on paper before the agreement was in the product (data
    migration from the command line only; people sign with :func:`sign_agreement`)."""
    if not is_system(actor):
        raise DelegationError("People sign agreements themselves; this is for data migration.")
    agreement = _draft(agreement)
    if not signatory.strip():
        raise DelegationError("Name who signed for NHS England.")
    before = _agreement_state(agreement)
    agreement.status = AgreementStatus.SIGNED
    agreement.signed_by_label = signatory.strip()[:150]
    agreement.signed_on = signed_on
    agreement.save()
    audit.record(
        actor=actor,
        action="delegation.agreement_signature_recorded",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
        reason="Signed outside the product; recorded from the signed copy",
    )
    return agreement


@transaction.atomic
def bring_into_force(
    *, actor: Actor, agreement: DelegationAgreement, on: datetime.date | None = None
) -> DelegationAgreement:
    """A signed agreement comes into force (on its start date, or ``on`` if later). The ICB's
    earlier agreement, and those of ICBs merged into it, end the day before."""
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "bring agreements into force")
    agreement = (
        DelegationAgreement.objects.select_for_update().select_related("icb").get(pk=agreement.pk)
    )
    if agreement.status != AgreementStatus.SIGNED:
        raise DelegationError(
            f"Only a signed agreement can come into force; this one is "
            f"{agreement.get_status_display().lower()}."
        )
    start = max(agreement.starts_on, on or agreement.starts_on)
    if start > agreement.ends_on:
        raise DelegationError("The agreement's year is over; it cannot come into force now.")
    earlier = DelegationAgreement.objects.filter(
        Q(icb=agreement.icb) | Q(pk__in=agreement.predecessors.values("pk")),
        status__in=[AgreementStatus.SIGNED, AgreementStatus.IN_FORCE],
    ).exclude(pk=agreement.pk)
    for old in earlier:
        why = (
            f"{old.icb.name} merged into {agreement.icb.name}; obligations pass to {agreement}."
            if old.icb_id != agreement.icb_id
            else f"Superseded by the {agreement.financial_year} agreement."
        )
        _end(actor, old, start - datetime.timedelta(days=1), why)
    before = _agreement_state(agreement)
    agreement.status = AgreementStatus.IN_FORCE
    agreement.in_force_from = start
    agreement.save()
    audit.record(
        actor=actor,
        action="delegation.agreement_in_force",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
    )
    # Requests still waiting under the agreements this one replaces carry on under it.
    waiting = list(
        CommissioningChangeRequest.objects.filter(
            agreement__in=[old.pk for old in earlier], status=RequestStatus.AWAITING_DECISION
        )
    )
    CommissioningChangeRequest.objects.filter(pk__in=[r.pk for r in waiting]).update(
        agreement=agreement
    )
    apply_conditions(actor=actor, icb_ids=[agreement.icb_id])
    condition = AgreementCondition.objects.filter(
        agreement=agreement, lifted_at__isnull=True
    ).first()
    for request in waiting:
        request.refresh_from_db()
        if condition is not None:
            request.condition = condition
            request.save(update_fields=["condition"])
        else:
            _release(actor, request, f"No spending condition applies under {agreement}.")
    return agreement


def _end(actor: Actor, agreement: DelegationAgreement, on: datetime.date, reason: str) -> None:
    before = _agreement_state(agreement)
    DelegationAgreement.objects.filter(pk=agreement.pk).update(
        status=AgreementStatus.ENDED, ended_on=on, end_reason=reason
    )
    agreement.refresh_from_db()
    for condition in AgreementCondition.objects.filter(agreement=agreement, lifted_at__isnull=True):
        # Waiting requests stay waiting: a following agreement takes them over.
        _lift(actor, condition, None, "The agreement ended.", release=False)
    audit.record(
        actor=actor,
        action="delegation.agreement_ended",
        obj=agreement,
        before=before,
        after=_agreement_state(agreement),
        reason=reason,
    )


@transaction.atomic
def end_agreement(
    *, actor: Actor, agreement: DelegationAgreement, on: datetime.date, reason: str
) -> DelegationAgreement:
    _require(actor, Permission.MANAGE_DELEGATION, agreement.icb, "end delegation agreements")
    agreement = DelegationAgreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.status not in (AgreementStatus.SIGNED, AgreementStatus.IN_FORCE):
        raise DelegationError(
            f"This agreement is {agreement.get_status_display().lower()}; only a signed or "
            "in-force agreement can end."
        )
    if not reason.strip():
        raise DelegationError("Give the reason the agreement ends.")
    _end(actor, agreement, on, reason)
    return agreement


@transaction.atomic
def advance_agreements(*, today: datetime.date | None = None, actor: Actor = "system") -> dict:
    """The daily step: signed agreements whose year has begun come into force, in-force
    agreements whose year is over end."""
    today = today or _today()
    done = {"in_force": 0, "ended": 0}
    for agreement in DelegationAgreement.objects.filter(
        status=AgreementStatus.IN_FORCE, ends_on__lt=today
    ):
        _end(actor, agreement, agreement.ends_on, "The agreement's financial year ended.")
        done["ended"] += 1
    for agreement in DelegationAgreement.objects.filter(
        status=AgreementStatus.SIGNED, starts_on__lte=today, ends_on__gte=today
    ).order_by("starts_on"):
        bring_into_force(actor=actor, agreement=agreement, on=today)
        done["in_force"] += 1
    return done


# --- ICB segments and the condition ---------------------------------------------------------


@transaction.atomic
def record_icb_segment(
    *,
    actor: Actor,
    icb: IntegratedCareBoard,
    segment: int,
    source: str,
    as_of: datetime.date | None = None,
    reason: str = "",
    period=None,
) -> IcbSegment:
    """A national or regional user records an ICB's segment (for periods whose methodology
    does not segment ICBs), with its source; the condition follows at once."""
    _require(actor, Permission.RECORD_ICB_SEGMENT, icb, "record ICB segments")
    if segment not in (1, 2, 3, 4, 5):
        raise DelegationError(f"The segment must be 1, 2, 3, 4 or 5, not {segment!r}.")
    if not source.strip():
        raise DelegationError("Say where the segment comes from (e.g. the letter or meeting).")
    as_of = as_of or _today()
    if not icb.existed_on(as_of):
        raise DelegationError(f"{icb.name} did not exist on {as_of}.")
    record = IcbSegment.objects.create(
        icb=icb,
        segment=segment,
        as_of=as_of,
        source_kind=SegmentSource.RECORDED,
        source=source.strip(),
        period=period,
        reason=reason,
        recorded_by=person_of(actor),
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="delegation.icb_segment_recorded",
        obj=record,
        after={
            "icb": icb.code,
            "segment": segment,
            "as_of": as_of.isoformat(),
            "source": record.source,
        },
        reason=reason,
    )
    apply_conditions(actor=actor, icb_ids=[icb.pk])
    return record


@dataclass
class ConditionChanges:
    applied: list[AgreementCondition] = field(default_factory=list)
    lifted: list[AgreementCondition] = field(default_factory=list)


def record_run_icb_segments(*, run: SegmentationRun, actor: Actor) -> int:
    """After a segmentation run (inside its transaction): the segments it computed for ICBs
    join their segment history (unless the period's latest computed one is the same).
    Returns how many were recorded; the conditions follow in :func:`apply_conditions`."""
    latest_for_period = {
        icb_id: segment
        for icb_id, segment in IcbSegment.objects.filter(
            period=run.period, source_kind=SegmentSource.RUN
        )
        .order_by("icb_id", "recorded_at", "id")
        .values_list("icb_id", "segment")
    }
    icb_ids = set(IntegratedCareBoard.objects.values_list("pk", flat=True))
    new = []
    for org_id, segment in OrganisationAssessment.objects.filter(
        run=run, segmented=True, final_segment__isnull=False, organisation_id__in=icb_ids
    ).values_list("organisation_id", "final_segment"):
        if latest_for_period.get(org_id) == segment:
            continue
        new.append(
            IcbSegment(
                icb_id=org_id,
                segment=segment,
                as_of=run.period.end_date,
                source_kind=SegmentSource.RUN,
                source=f"Segmentation run {run.pk} for {run.period.label}",
                run=run,
                period=run.period,
                recorded_by_label=audit.actor_label(actor),
            )
        )
    IcbSegment.objects.bulk_create(new)
    if new:
        audit.record(
            actor=actor,
            action="delegation.icb_segments_computed",
            obj=run,
            after={"icbs": len(new)},
            reason=f"ICB segments from the run for {run.period.label}",
        )
    return len(new)


def apply_conditions(*, actor: Actor, icb_ids: Iterable[int] | None = None) -> ConditionChanges:
    """Each in-force agreement gets each active rule's condition while its ICB's latest
    segment is among the rule's segments, and has it lifted when the ICB leaves them."""
    changes = ConditionChanges()
    agreements = DelegationAgreement.objects.filter(status=AgreementStatus.IN_FORCE).select_related(
        "icb__region"
    )
    if icb_ids is not None:
        agreements = agreements.filter(icb_id__in=list(icb_ids))
    agreements = list(agreements)
    if not agreements:
        return changes
    rules = list(ConditionRule.objects.filter(active=True))
    segments = current_icb_segments([a.icb_id for a in agreements])
    open_conditions = {
        (c.agreement_id, c.rule_id): c
        for c in AgreementCondition.objects.filter(
            agreement__in=agreements, lifted_at__isnull=True
        ).select_related("rule")
    }
    notices = []
    for agreement in agreements:
        latest = segments.get(agreement.icb_id)
        for rule in rules:
            applies = latest is not None and latest.segment in rule.segments
            existing = open_conditions.get((agreement.pk, rule.pk))
            if applies and existing is None:
                condition = AgreementCondition.objects.create(
                    agreement=agreement, rule=rule, applied_on=_today(), applied_because=latest
                )
                audit.record(
                    actor=actor,
                    action="delegation.condition_applied",
                    obj=agreement,
                    after={
                        "condition": rule.slug,
                        "segment": latest.segment,
                        "because": latest.source,
                    },
                    reason=f"{agreement.icb.name} is in segment {latest.segment}",
                )
                changes.applied.append(condition)
                notices.append(
                    (
                        agreement.icb,
                        f"{rule.name}: now in force",
                        f"{agreement.icb.name} is in segment {latest.segment} "
                        f"({latest.source}). {rule.description}",
                    )
                )
            elif existing is not None and not applies:
                why = (
                    f"{agreement.icb.name} is now in segment {latest.segment}"
                    if latest is not None
                    else f"{agreement.icb.name} has no segment"
                )
                _lift(actor, existing, latest, why)
                changes.lifted.append(existing)
                notices.append((agreement.icb, f"{rule.name}: lifted", why + "."))
    if notices:
        notify(notices)
    return changes


def _lift(
    actor: Actor,
    condition: AgreementCondition,
    because: IcbSegment | None,
    why: str,
    release: bool = True,
):
    condition.lifted_on = _today()
    condition.lifted_at = timezone.now()
    condition.lifted_because = because
    condition.lift_reason = why[:300]
    condition.save(update_fields=["lifted_on", "lifted_at", "lifted_because", "lift_reason"])
    audit.record(
        actor=actor,
        action="delegation.condition_lifted",
        obj=condition.agreement,
        before={"condition": condition.rule.slug, "in_force": True},
        after={"condition": condition.rule.slug, "in_force": False},
        reason=why,
    )
    if not release:
        return
    waiting = CommissioningChangeRequest.objects.filter(
        agreement=condition.agreement, status=RequestStatus.AWAITING_DECISION
    )
    for request in waiting:
        _release(actor, request, f"The condition on {condition.agreement} was lifted ({why}).")


def _release(actor: Actor, request: CommissioningChangeRequest, why: str) -> None:
    """A waiting request no longer needs approval: it is noted and its requester told."""
    _move(actor, request, RequestStatus.NOTED, f"{why} Approval is no longer needed.")
    notify_person(
        request.raised_by,
        request.icb,
        "approval no longer needed",
        f"{why} Your request is noted and may go ahead.",
    )


@transaction.atomic
def set_condition_segments(
    *, actor: Actor, rule: ConditionRule, segments: list[int], reason: str
) -> ConditionRule:
    """A national user changes the segments a condition applies in; it takes effect now."""
    _require(actor, Permission.MANAGE_METHODOLOGIES, what="change delegation conditions")
    segments = sorted(set(segments))
    if not segments or any(s not in (1, 2, 3, 4, 5) for s in segments):
        raise DelegationError("The segments must be among 1 to 5.")
    if not reason.strip():
        raise DelegationError("Give the reason for the change.")
    before = {"segments": rule.segments, "version": rule.version}
    rule.segments, rule.version = segments, rule.version + 1
    rule.save(update_fields=["segments", "version", "updated_at"])
    audit.record(
        actor=actor,
        action="delegation.condition_rule_changed",
        obj=rule,
        before=before,
        after={"segments": segments, "version": rule.version},
        reason=reason,
    )
    apply_conditions(actor=actor)
    return rule


# --- Commissioning change requests ----------------------------------------------------------


def _move(actor: Actor, request: CommissioningChangeRequest, status: str, note: str = "") -> None:
    before = request.status
    request.status = status
    request.save(update_fields=["status"])
    ChangeRequestEvent.objects.create(
        request=request,
        status_from=before,
        status_to=status,
        actor_label=audit.actor_label(actor),
        note=note,
    )
    audit.record(
        actor=actor,
        action=f"delegation.change_request_{status}",
        obj=request,
        before={"status": before},
        after={"status": status},
        reason=note,
    )


def _pounds(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", "").replace("£", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise DelegationError(
            f"The annual spend effect must be an amount in pounds, like 250000 or -1200000.50, "
            f"not {value!r}."
        ) from exc
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise DelegationError("The annual spend effect must be under £1,000,000,000,000.")
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def raise_change_request(
    *,
    actor: Actor,
    icb: IntegratedCareBoard,
    services: Iterable[SpecialisedService],
    title: str,
    description: str,
    annual_spend_effect: Any,
    changes_overall_spend: bool,
    intended_start: datetime.date,
) -> CommissioningChangeRequest:
    """An ICB analyst describes a proposed change. With the condition in force and overall
    spend changing it awaits the regional director's decision; otherwise it is noted."""
    _require(actor, Permission.RAISE_CHANGE_REQUEST, icb, "raise change requests")
    services = list(services)
    if not services:
        raise DelegationError("Choose the delegated services the change affects.")
    if not title.strip() or not description.strip():
        raise DelegationError("Give the change a title and describe it.")
    amount = _pounds(annual_spend_effect)
    agreement = in_force_agreement(icb.pk)
    if agreement is None:
        raise DelegationError(
            f"{icb.name} has no delegation agreement in force, so NHS England commissions "
            "these services; there is nothing to change through a request."
        )
    scheduled = {
        line.service_id
        for line in agreement.schedule.all()
        if line.effective_from <= intended_start
        and (line.effective_to is None or line.effective_to >= intended_start)
    }
    outside = [s.name for s in services if s.pk not in scheduled]
    if outside:
        raise DelegationError(
            f"Not delegated to {icb.name} on {intended_start:%-d %B %Y} under {agreement}: "
            + ", ".join(outside)
            + "."
        )
    condition = (
        AgreementCondition.objects.filter(agreement=agreement, lifted_at__isnull=True)
        .select_related("rule")
        .first()
    )
    needs_approval = condition is not None and bool(changes_overall_spend)
    status = RequestStatus.AWAITING_DECISION if needs_approval else RequestStatus.NOTED
    request = CommissioningChangeRequest.objects.create(
        icb=icb,
        agreement=agreement,
        title=title.strip()[:200],
        description=description.strip(),
        annual_spend_effect=amount,
        changes_overall_spend=bool(changes_overall_spend),
        intended_start=intended_start,
        status=status,
        needs_approval=needs_approval,
        condition=condition if needs_approval else None,
        raised_by=person_of(actor),
        raised_by_label=audit.actor_label(actor),
    )
    request.services.set(services)
    note = (
        f"{condition.rule.name} is in force and overall spend changes: awaits the "
        f"{icb.region.name} regional director's decision."
        if needs_approval
        else (
            "No approval needed: "
            + (
                "overall spend does not change."
                if condition is not None
                else "no spending condition is in force."
            )
        )
    )
    ChangeRequestEvent.objects.create(
        request=request, status_to=status, actor_label=audit.actor_label(actor), note=note
    )
    audit.record(
        actor=actor,
        action="delegation.change_request_raised",
        obj=request,
        after={
            "status": status,
            "services": [s.name for s in services],
            "annual_spend_effect": str(amount),
            "changes_overall_spend": bool(changes_overall_spend),
            "intended_start": intended_start.isoformat(),
        },
        reason=note,
    )
    if needs_approval:
        notify([(icb, f"change request awaiting decision: {request.title}", note)])
    return request


def _locked(request: CommissioningChangeRequest) -> CommissioningChangeRequest:
    return (
        CommissioningChangeRequest.objects.select_for_update(of=("self",))
        .select_related("icb__region", "raised_by")
        .get(pk=request.pk)
    )


@transaction.atomic
def decide_change_request(
    *, actor: Actor, request: CommissioningChangeRequest, approve: bool, reason: str
) -> CommissioningChangeRequest:
    """The regional director of the ICB's region approves or rejects, with a reason."""
    request = _locked(request)
    icb = request.icb
    if is_system(actor) or not has_permission(actor, Permission.DECIDE_CHANGE_REQUEST, icb):
        raise DelegationError(
            f"Only a regional director of {icb.region.name} can decide {icb.name}'s requests."
        )
    if request.status != RequestStatus.AWAITING_DECISION:
        raise DelegationError(
            f"This request is {request.get_status_display().lower()}; it is not awaiting a "
            "decision."
        )
    if not reason.strip():
        raise DelegationError("Give the reason for the decision.")
    request.decided_by = actor
    request.decided_by_label = audit.actor_label(actor)
    request.decided_at = timezone.now()
    request.decision_reason = reason.strip()
    request.save(update_fields=["decided_by", "decided_by_label", "decided_at", "decision_reason"])
    outcome = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    _move(actor, request, outcome, reason.strip())
    notify_person(
        request.raised_by,
        request.icb,
        f"change request {outcome}: {request.title}",
        f"{request.decided_by_label} {outcome} the request: {reason.strip()}",
    )
    return request


@transaction.atomic
def start_change_request(
    *, actor: Actor, request: CommissioningChangeRequest, started_on: datetime.date | None = None
) -> CommissioningChangeRequest:
    """Mark the change as started: only once approved, or when no approval was needed."""
    request = _locked(request)
    if not is_system(actor) and not (
        has_permission(actor, Permission.RAISE_CHANGE_REQUEST, request.icb)
        or has_permission(actor, Permission.DECIDE_CHANGE_REQUEST, request.icb)
    ):
        raise DelegationError(
            f"You do not have permission to update {request.icb.name}'s requests."
        )
    if request.status == RequestStatus.AWAITING_DECISION:
        raise DelegationError(
            "This change needs the region's approval before it is made or any change process "
            "begins; it cannot be marked as started yet."
        )
    if request.status not in (RequestStatus.APPROVED, RequestStatus.NOTED):
        raise DelegationError(
            f"This request is {request.get_status_display().lower()}; it cannot start."
        )
    request.started_on = started_on or _today()
    request.save(update_fields=["started_on"])
    _move(actor, request, RequestStatus.STARTED, f"Started on {request.started_on}.")
    return request


@transaction.atomic
def withdraw_change_request(
    *, actor: Actor, request: CommissioningChangeRequest, reason: str
) -> CommissioningChangeRequest:
    request = _locked(request)
    _require(actor, Permission.RAISE_CHANGE_REQUEST, request.icb, "withdraw change requests")
    if request.status in (RequestStatus.STARTED, RequestStatus.WITHDRAWN, RequestStatus.REJECTED):
        raise DelegationError(
            f"This request is {request.get_status_display().lower()}; it cannot be withdrawn."
        )
    if not reason.strip():
        raise DelegationError("Give the reason for withdrawing it.")
    _move(actor, request, RequestStatus.WITHDRAWN, reason.strip())
    return request


# --- Collaboration arrangements -------------------------------------------------------------


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


@transaction.atomic
def end_collaboration(
    *, actor: Actor, arrangement: CollaborationArrangement, on: datetime.date, reason: str
) -> CollaborationArrangement:
    for icb in arrangement.members.all():
        _require(actor, Permission.MANAGE_DELEGATION, icb, "change collaboration arrangements")
    if not reason.strip():
        raise DelegationError("Give the reason the arrangement ends.")
    arrangement.ended_on = on
    arrangement.save(update_fields=["ended_on"])
    audit.record(
        actor=actor,
        action="delegation.collaboration_ended",
        obj=arrangement,
        after={"ended_on": on.isoformat()},
        reason=reason,
    )
    return arrangement

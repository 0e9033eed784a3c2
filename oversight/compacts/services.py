"""Writing compacts: each step checked against who may take it, refused with a message
that says why (changing nothing), and audited.

- the region (or national) opens a compact for a system and year, records the
  board-to-board meeting, accepts or withdraws commitments, records support and moves the
  compact draft → agreed → in year → closed, each step with a reason;
- an ICB analyst may propose commitments and ask for support for their own system; what
  they propose waits for the region to accept it.

Agreeing a compact evaluates its commitments against the year's published runs at once,
so a compact agreed mid-year shows where it stands (``tracking``)."""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction

from core.dates import financial_year_bounds, is_financial_year
from core.errors import ApplicationError
from systems import audit
from systems.actors import Actor, is_system, person_of
from systems.authorization import Permission, has_permission
from systems.models import Organisation
from systems.selectors import NoSuchSystem, system_on

from ..models import MetricDefinition, ReportingPeriod
from .models import (
    COMPACT_STEPS,
    TRACKED,
    BoardMeeting,
    Commitment,
    CommitmentStatus,
    Compact,
    CompactEvent,
    CompactStatus,
    Direction,
    SupportRequest,
    SupportStatus,
)
from .tracking import track_published_runs

MAX_ATTENDEES = 100


class CompactError(ApplicationError, ValueError):
    """A compact step that cannot be taken; the message says why."""


def _may(actor: Actor, permission: str, icb: Organisation) -> bool:
    return is_system(actor) or has_permission(actor, permission, icb)


def _require(actor: Actor, permission: str, icb: Organisation, doing: str) -> None:
    if not _may(actor, permission, icb):
        who = (
            "a regional or national role"
            if permission == Permission.MANAGE_COMPACTS
            else ("a role covering the system")
        )
        raise CompactError(f"{doing} needs {who} for {icb.code}.")


def _open(compact: Compact) -> None:
    if compact.status == CompactStatus.CLOSED:
        raise CompactError(f"The {compact.financial_year} compact is closed: it cannot change.")


@transaction.atomic
def create_compact(*, icb: Organisation, financial_year: str, actor: Actor) -> Compact:
    """A draft compact for ``icb``'s system and ``financial_year``: its parties are the
    ICB and the trusts it hosts on the year's first day (the region is the other side)."""
    _require(actor, Permission.MANAGE_COMPACTS, icb, "Opening a compact")
    if icb.kind != "icb":
        raise CompactError(f"{icb.code} is not an ICB: a compact is agreed with a system.")
    if not is_financial_year(financial_year):
        raise CompactError(f"'{financial_year}' is not a financial year: write it as 2026/27.")
    start, _ = financial_year_bounds(financial_year)
    try:
        unit = system_on(icb, start)
    except NoSuchSystem as exc:
        raise CompactError(f"No system for {financial_year}: {exc}") from exc
    try:
        with transaction.atomic():
            compact = Compact.objects.create(
                icb=icb, financial_year=financial_year, created_by_label=audit.actor_label(actor)
            )
    except IntegrityError:
        raise CompactError(
            f"{icb.code} already has a compact for {financial_year}: open that one."
        ) from None
    compact.parties.set(unit.members)
    CompactEvent.objects.create(
        compact=compact,
        status_to=CompactStatus.DRAFT,
        reason="Opened",
        actor_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="compact.opened",
        obj=compact,
        after={"icb": icb.code, "year": financial_year, "parties": [o.code for o in unit.members]},
        reason=f"Compact for {financial_year}",
    )
    return compact


def _attendee(row: Any, n: int) -> dict[str, str]:
    if not isinstance(row, Mapping):
        raise CompactError(f"Attendee {n}: give a name and a role.")
    person = {k: str(row.get(k) or "").strip() for k in ("name", "role", "organisation")}
    missing = [k for k in ("name", "role") if not person[k]]
    if missing:
        raise CompactError(f"Attendee {n}: the {' and the '.join(missing)} are missing.")
    return person


@transaction.atomic
def record_meeting(
    *,
    compact: Compact,
    held_on: datetime.date,
    attendees: Iterable[Mapping[str, Any]],
    minutes_reference: str = "",
    actor: Actor,
) -> BoardMeeting:
    """The board-to-board meeting: when, who attended in which role, and the minutes."""
    _require(actor, Permission.MANAGE_COMPACTS, compact.icb, "Recording a meeting")
    _open(compact)
    people = [_attendee(row, n) for n, row in enumerate(attendees, start=1)]
    if not people:
        raise CompactError("Name at least one attendee with their role.")
    if len(people) > MAX_ATTENDEES:
        raise CompactError(f"{len(people)} attendees: a meeting records at most {MAX_ATTENDEES}.")
    if held_on > datetime.date.today():
        raise CompactError(f"The meeting date {held_on:%d %B %Y} is in the future.")
    meeting = BoardMeeting.objects.create(
        compact=compact,
        held_on=held_on,
        attendees=people,
        minutes_reference=minutes_reference.strip(),
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="compact.meeting_recorded",
        obj=compact,
        after={"held_on": held_on.isoformat(), "attendees": len(people)},
        reason=minutes_reference.strip() or "Board-to-board meeting",
    )
    return meeting


def metric_names(financial_year: str) -> dict[str, str]:
    """The metric ids a commitment can be tied to in ``financial_year`` (score and value
    ids of the methodologies of the year's periods) → the metric's name."""
    methodologies = ReportingPeriod.objects.filter(financial_year=financial_year).values(
        "methodology_id"
    )
    names: dict[str, str] = {}
    for score_id, value_id, name in MetricDefinition.objects.filter(
        methodology_id__in=methodologies
    ).values_list("score_id", "value_id", "name"):
        names[score_id] = name
        if value_id:
            names[value_id] = name
    return names


def _trajectory(raw: Any) -> dict[str, float]:
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, Mapping):
        raise CompactError('The trajectory gives a value per quarter, e.g. {"Q1": 80, "Q2": 82}.')
    points: dict[str, float] = {}
    for key, value in raw.items():
        quarter = str(key).strip().upper()
        if quarter not in ("Q1", "Q2", "Q3", "Q4"):
            raise CompactError(f"Trajectory: '{key}' is not a quarter (Q1 to Q4).")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise CompactError(f"Trajectory {quarter}: '{value}' is not a number.") from None
        if not math.isfinite(number):
            raise CompactError(f"Trajectory {quarter}: '{value}' is not a number.")
        points[quarter] = number
    return dict(sorted(points.items()))


def _commitment_problems(
    compact: Compact,
    *,
    title: str,
    accountable: tuple[str, str],
    metric_id: str,
    target: float | None,
    direction: str,
    points: dict[str, float],
    due_on: datetime.date | None,
) -> list[str]:
    """Everything wrong with a commitment, each said once."""
    problems = []
    if not title.strip():
        problems.append("say what is committed to")
    if not all(part.strip() for part in accountable):
        problems.append("name the accountable person and their role")
    if metric_id:
        if metric_id not in metric_names(compact.financial_year):
            problems.append(
                f"{metric_id} is not a metric of {compact.financial_year}'s methodology"
            )
        if target is None or not math.isfinite(float(target)):
            problems.append(f"give the target for {metric_id}")
        if direction not in Direction.values:
            problems.append("say whether the value should be at least or at most the target")
    elif target is not None or points or direction:
        problems.append("a target, direction or trajectory needs the metric it is measured by")
    start, end = financial_year_bounds(compact.financial_year)
    if due_on is not None and not start <= due_on <= end:
        problems.append(
            f"the due date {due_on:%d %B %Y} is outside {compact.financial_year} "
            f"({start:%d %B %Y} to {end:%d %B %Y})"
        )
    return problems


@transaction.atomic
def propose_commitment(
    *,
    compact: Compact,
    organisation: Organisation,
    title: str,
    accountable_name: str,
    accountable_role: str,
    actor: Actor,
    detail: str = "",
    metric_id: str = "",
    target: float | None = None,
    direction: str = "",
    trajectory: Mapping[str, Any] | None = None,
    due_on: datetime.date | None = None,
    accountable_email: str = "",
) -> Commitment:
    """One commitment of ``organisation`` (a party). The region's go straight into the
    compact; an ICB analyst's wait as proposed until the region accepts them."""
    _require(actor, Permission.PROPOSE_COMMITMENT, compact.icb, "Proposing a commitment")
    _open(compact)
    if not compact.parties.filter(pk=organisation.pk).exists():
        raise CompactError(
            f"{organisation.code} is not a party to the {compact.icb.code} compact for "
            f"{compact.financial_year}."
        )
    metric_id = metric_id.strip().upper()
    points = _trajectory(trajectory)
    problems = _commitment_problems(
        compact,
        title=title,
        accountable=(accountable_name, accountable_role),
        metric_id=metric_id,
        target=target,
        direction=direction,
        points=points,
        due_on=due_on,
    )
    if problems:
        raise CompactError("The commitment cannot be recorded: " + "; ".join(problems) + ".")
    accepted = _may(actor, Permission.MANAGE_COMPACTS, compact.icb)
    commitment = Commitment.objects.create(
        compact=compact,
        organisation=organisation,
        title=title.strip(),
        detail=detail.strip(),
        metric_id=metric_id,
        target=float(target) if target is not None else None,
        direction=direction if metric_id else "",
        trajectory=points,
        due_on=due_on,
        accountable_name=accountable_name.strip(),
        accountable_role=accountable_role.strip(),
        accountable_email=accountable_email.strip(),
        status=CommitmentStatus.ACCEPTED if accepted else CommitmentStatus.PROPOSED,
        proposed_by=person_of(actor),
        proposed_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="compact.commitment_added" if accepted else "compact.commitment_proposed",
        obj=commitment,
        after={
            "compact": compact.pk,
            "organisation": organisation.code,
            "metric": metric_id,
            "target": commitment.target,
            "direction": commitment.direction,
            "trajectory": points,
            "status": commitment.status,
        },
        reason=title.strip(),
    )
    if accepted and compact.status in TRACKED:
        track_published_runs(compact, actor=actor)
    return commitment


@transaction.atomic
def decide_commitment(
    *, commitment: Commitment, accept: bool, reason: str, actor: Actor
) -> Commitment:
    """The region accepts a proposed commitment into the compact, or withdraws one (a
    withdrawal needs a reason; its evaluations are kept)."""
    compact = commitment.compact
    _require(actor, Permission.MANAGE_COMPACTS, compact.icb, "Deciding a commitment")
    _open(compact)
    before = commitment.status
    if accept and before != CommitmentStatus.PROPOSED:
        raise CompactError(f"'{commitment.title}' is {commitment.get_status_display().lower()}.")
    if not accept and before == CommitmentStatus.WITHDRAWN:
        raise CompactError(f"'{commitment.title}' is already withdrawn.")
    if not accept and not reason.strip():
        raise CompactError("Give the reason for withdrawing the commitment.")
    commitment.status = CommitmentStatus.ACCEPTED if accept else CommitmentStatus.WITHDRAWN
    commitment.status_reason = reason.strip()
    commitment.save(update_fields=["status", "status_reason", "updated_at"])
    audit.record(
        actor=actor,
        action="compact.commitment_accepted" if accept else "compact.commitment_withdrawn",
        obj=commitment,
        before={"status": before},
        after={"status": commitment.status},
        reason=reason.strip() or "Accepted into the compact",
    )
    if accept and compact.status in TRACKED:
        track_published_runs(compact, actor=actor)
    return commitment


@transaction.atomic
def request_support(
    *, compact: Compact, description: str, owner: str, actor: Actor
) -> SupportRequest:
    """Support the system asks NHS England for, and who in NHS England owns it."""
    _require(actor, Permission.PROPOSE_COMMITMENT, compact.icb, "Asking for support")
    _open(compact)
    if not description.strip():
        raise CompactError("Say what support is asked for.")
    row = SupportRequest.objects.create(
        compact=compact,
        description=description.strip(),
        owner=owner.strip() or "Not yet assigned",
        recorded_by_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action="compact.support_requested",
        obj=row,
        after={"compact": compact.pk, "owner": row.owner, "status": row.status},
        reason=row.description[:200],
    )
    return row


@transaction.atomic
def update_support(
    *, support: SupportRequest, status: str, reason: str, actor: Actor, owner: str = ""
) -> SupportRequest:
    """Where a support request stands (and, optionally, who now owns it); with a reason."""
    compact = support.compact
    _require(actor, Permission.MANAGE_COMPACTS, compact.icb, "Updating a support request")
    _open(compact)
    if status not in SupportStatus.values:
        raise CompactError(
            f"'{status}' is not a support status ({', '.join(SupportStatus.values)})."
        )
    if not reason.strip():
        raise CompactError("Give the reason for the change.")
    before = {"status": support.status, "owner": support.owner}
    support.status = status
    support.status_reason = reason.strip()
    if owner.strip():
        support.owner = owner.strip()
    support.save(update_fields=["status", "status_reason", "owner", "updated_at"])
    audit.record(
        actor=actor,
        action="compact.support_updated",
        obj=support,
        before=before,
        after={"status": support.status, "owner": support.owner},
        reason=reason.strip(),
    )
    return support


@transaction.atomic
def move_compact(
    *,
    compact: Compact,
    to: str,
    reason: str,
    actor: Actor,
    meeting: BoardMeeting | None = None,
    today: datetime.date | None = None,
) -> Compact:
    """One step of the compact's status, with a reason. Agreeing needs the board-to-board
    meeting (the latest recorded unless one is named), at least one commitment in the
    compact and none left proposed; it then tracks the commitments against the year's
    published runs. "In year" starts no earlier than the year's first day."""
    _require(actor, Permission.MANAGE_COMPACTS, compact.icb, "Changing a compact's status")
    Compact.objects.select_for_update().only("pk").get(pk=compact.pk)  # held to the end
    compact.refresh_from_db()
    today = today or datetime.date.today()
    labels = dict(CompactStatus.choices)
    if to not in COMPACT_STEPS.get(compact.status, ()):
        allowed = ", ".join(labels[s].lower() for s in COMPACT_STEPS.get(compact.status, ()))
        raise CompactError(
            f"A compact that is {labels[compact.status].lower()} cannot become "
            f"{labels.get(to, to).lower()}" + (f" (it can become {allowed})." if allowed else ".")
        )
    if not reason.strip():
        raise CompactError("Give the reason for the change of status.")
    if to == CompactStatus.AGREED:
        meeting = meeting or compact.meetings.first()
        if meeting is None or meeting.compact_id != compact.pk:
            raise CompactError(
                "Record the board-to-board meeting at which the compact was agreed first."
            )
        pending = compact.commitments.filter(status=CommitmentStatus.PROPOSED).count()
        if pending:
            raise CompactError(
                f"{pending} proposed commitment{'s' if pending != 1 else ''} still to accept "
                "or withdraw before the compact is agreed."
            )
        if not compact.commitments.filter(status=CommitmentStatus.ACCEPTED).exists():
            raise CompactError("A compact needs at least one commitment to be agreed.")
        compact.agreed_at, compact.agreed_on = meeting, meeting.held_on
    if to == CompactStatus.IN_YEAR:
        start, _ = financial_year_bounds(compact.financial_year)
        if today < start:
            raise CompactError(
                f"The {compact.financial_year} compact is in year from {start:%d %B %Y}."
            )
    before = compact.status
    compact.status, compact.status_reason = to, reason.strip()
    compact.save()
    CompactEvent.objects.create(
        compact=compact,
        status_from=before,
        status_to=to,
        reason=reason.strip(),
        actor_label=audit.actor_label(actor),
    )
    audit.record(
        actor=actor,
        action=f"compact.{to}",
        obj=compact,
        before={"status": before},
        after={
            "status": to,
            "agreed_on": compact.agreed_on.isoformat() if compact.agreed_on else None,
        },
        reason=reason.strip(),
    )
    if to == CompactStatus.AGREED:
        track_published_runs(compact, actor=actor)
    return compact

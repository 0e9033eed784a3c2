"""Shared reads about organisations."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from .models import (
    AuditEvent,
    IntegratedCareBoard,
    Organisation,
    OrganisationKind,
    Region,
    Succession,
    Trust,
    host_icb_field,
)


def organisations_on(
    day: datetime.date, *, kind: OrganisationKind | str | None = None
) -> QuerySet[Organisation]:
    """Organisations that existed on ``day`` (optionally only trusts or only ICBs)."""
    qs = Organisation.objects.existing_on(day).select_related("region")
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def successors_of(
    organisation: Organisation | str, *, on: datetime.date | None = None
) -> list[Organisation]:
    """Where ``organisation`` is today (or on ``on``): itself if it still exists, otherwise
    the organisations it passed into, following successions transitively.

    A split gives several successors; an organisation closed with no successor gives
    an empty list.
    """
    on = on or datetime.date.today()
    if isinstance(organisation, str):
        organisation = Organisation.objects.get(code=organisation)
    edges: dict[int, list[int]] = {}
    for pred, succ in Succession.objects.filter(date__lte=on).values_list(
        "predecessor_id", "successor_id"
    ):
        edges.setdefault(pred, []).append(succ)

    found: list[int] = []
    seen: set[int] = set()
    frontier = [organisation.pk]
    candidates = {
        o.pk: o for o in Organisation.objects.filter(pk__in=_reachable(organisation.pk, edges))
    }
    while frontier:
        pk = frontier.pop(0)
        if pk in seen:
            continue
        seen.add(pk)
        org = candidates[pk]
        if org.existed_on(on):
            found.append(pk)
        else:
            frontier.extend(edges.get(pk, []))
    return sorted((candidates[pk] for pk in found), key=lambda o: o.code)


def _reachable(start: int, edges: dict[int, list[int]]) -> set[int]:
    reached, stack = set(), [start]
    while stack:
        pk = stack.pop()
        if pk not in reached:
            reached.add(pk)
            stack.extend(edges.get(pk, []))
    return reached


@dataclass
class ICBNode:
    icb: IntegratedCareBoard
    trusts: list[Trust] = field(default_factory=list)


@dataclass
class RegionNode:
    region: Region
    icbs: list[ICBNode] = field(default_factory=list)

    @property
    def trust_count(self) -> int:
        return sum(len(node.trusts) for node in self.icbs)


@dataclass(frozen=True)
class SystemUnit:
    """A system on a day: an ICB and the trusts it hosted then (the hosting changed with
    the ICB mergers of April 2026, so the same ICB can host different trusts by date)."""

    icb: IntegratedCareBoard
    trusts: tuple[Trust, ...]
    on: datetime.date

    @property
    def members(self) -> list[Organisation]:
        """The ICB first, then its trusts by name."""
        return [self.icb, *self.trusts]


class NoSuchSystem(LookupError):
    """The ICB did not exist on the day asked (the message names where it went)."""


def system_on(icb: IntegratedCareBoard | Organisation, day: datetime.date) -> SystemUnit:
    """The system ``icb`` leads on ``day``: the ICB and the trusts it hosted that day.

    An ICB that had closed (or not yet opened) by then has no system that day; the error
    names its successors, so a caller can point people to the right one."""
    board = (
        icb if isinstance(icb, IntegratedCareBoard) else IntegratedCareBoard.objects.get(pk=icb.pk)
    )
    if not board.existed_on(day):
        after = [o.code for o in successors_of(board, on=day)]
        where = f"; on that day it was part of {', '.join(after)}" if after else ""
        raise NoSuchSystem(f"{board.code} did not exist on {day:%d %B %Y}{where}.")
    trusts = Trust.objects.existing_on(day).filter(**{host_icb_field(day): board}).order_by("name")
    return SystemUnit(board, tuple(trusts), day)


def region_tree(day: datetime.date) -> list[RegionNode]:
    """Regions → ICBs → host trusts as they were on ``day``, in three queries."""
    regions = {r.pk: RegionNode(r) for r in Region.objects.order_by("name")}
    icbs: dict[int, ICBNode] = {}
    for icb in IntegratedCareBoard.objects.existing_on(day).order_by("name"):
        node = ICBNode(icb)
        icbs[icb.pk] = node
        regions[icb.region_id].icbs.append(node)
    icb_field = f"{host_icb_field(day)}_id"
    for trust in Trust.objects.existing_on(day).order_by("name"):
        node = icbs.get(getattr(trust, icb_field))
        if node is not None:
            node.trusts.append(trust)
    return list(regions.values())


def audit_events(
    *,
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    actor: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events, newest first; ``action`` matches a prefix (``role.`` finds grants and
    revocations), ``actor`` part of the name, ``until`` is inclusive."""
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action__startswith=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if since:
        events = events.filter(at__date__gte=since)
    if until:
        events = events.filter(at__date__lte=until)
    return events.order_by("-at", "-id")


@dataclass
class Found:
    organisation: Organisation
    successors: list[Organisation]  # where a closed organisation went; empty when open


def search_organisations(text: str, *, limit: int = 50) -> list[Found]:
    """Organisations whose ODS code or name matches ``text`` (any case; every word of it
    in the name): an exact code first, then codes that start with it, then names. A
    closed organisation comes with its successors."""
    words = text.split()
    if not words:
        return []
    query = Q(code__iexact=text.strip()) | Q(code__istartswith=text.strip())
    names = Q()
    for word in words:
        names &= Q(name__icontains=word)
    found = list(Organisation.objects.filter(query | names).select_related("region")[: limit * 2])
    needle = text.strip().upper()

    def order(org: Organisation) -> tuple:
        return (org.code != needle, not org.code.startswith(needle), org.name)

    found.sort(key=order)
    today = datetime.date.today()
    return [
        Found(org, [] if org.existed_on(today) else successors_of(org, on=today))
        for org in found[:limit]
    ]

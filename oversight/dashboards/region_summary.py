"""A region at a glance, for the top of its page: trusts and ICBs by segment now and in the
period before, a chart of segments by ICB with the same figures as a table, the movement
matrix, and what needs the viewer (each item linking to where it is done)."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.tables import Column, Table

from ..models import FreedomGrant, GrantStatus, OversightAction

SEGMENTS = [1, 2, 3, 4, 5]


def _label(segment: int | None) -> str:
    return f"Segment {segment}" if segment else "Not segmented"


def summary(rows: list[dict[str, Any]], previous_label: str) -> tuple[dict[str, Any], list[Table]]:
    """The chart's data and the tables: counts now and before, by ICB, and movement."""
    now = Counter(r["segment"] for r in rows)
    before = Counter(r["previous"] for r in rows if r["previous"] is not None)
    counts = Table(
        "segment_counts",
        "Organisations by segment",
        [
            Column("segment", "Segment"),
            Column("now", "Now", numeric=True),
            Column("before", previous_label or "Period before", numeric=True),
        ],
        [
            {"segment": _label(s), "now": now.get(s, 0), "before": before.get(s, 0)}
            for s in [*SEGMENTS, None]
        ],
    )
    by_icb: dict[str, Counter] = {}
    for r in rows:
        by_icb.setdefault(r["icb"] or "No host ICB", Counter())[r["segment"]] += 1
    icbs = sorted(by_icb)
    per_icb = Table(
        "by_icb",
        "Organisations by ICB and segment",
        [
            Column("icb", "ICB"),
            *[Column(f"s{s}", _label(s), numeric=True) for s in [*SEGMENTS, None]],
            Column("total", "Total", numeric=True),
        ],
        [
            {
                "icb": icb,
                **{f"s{s}": by_icb[icb].get(s, 0) for s in [*SEGMENTS, None]},
                "total": sum(by_icb[icb].values()),
            }
            for icb in icbs
        ],
    )
    moves = Counter((r["previous"], r["segment"]) for r in rows if r["previous"] is not None)
    movement = Table(
        "region_movement",
        f"Movement since {previous_label}" if previous_label else "Movement",
        [
            Column("from", "From \\ to"),
            *[Column(f"to{s}", _label(s), numeric=True) for s in SEGMENTS],
        ],
        [
            {"from": _label(a), **{f"to{b}": moves.get((a, b), 0) for b in SEGMENTS}}
            for a in SEGMENTS
        ],
    )
    chart = {
        "labels": icbs,
        "datasets": [
            {"label": _label(s), "data": [by_icb[i].get(s, 0) for i in icbs]}
            for s in [*SEGMENTS, None]
        ],
    }
    return chart, [counts, per_icb, movement]


@dataclass(frozen=True)
class Need:
    count: int
    text: str
    url: str


def needs(
    *,
    may_decide_requests: bool,
    waiting_requests: int,
    requests_url: str,
    may_confirm: bool,
    grants: Iterable[FreedomGrant],
    may_manage_actions: bool,
    actions: Iterable[OversightAction],
    organisation_url: Any,
    pending_moves: int,
    pending_url: str,
    today: datetime.date,
    may_manage_compacts: bool = False,
    off_track_urls: Sequence[str] = (),
    late_compact_urls: Sequence[str] = (),
) -> list[Need]:
    """What the viewer has to act on, each with where to do it: only what their roles let
    them do."""
    found = []
    if may_decide_requests and waiting_requests:
        found.append(
            Need(
                waiting_requests,
                _plural(waiting_requests, "change request") + " to decide",
                requests_url,
            )
        )
    proposed = [g for g in grants if g.status == GrantStatus.PROPOSED]
    if may_confirm and proposed:
        url = (
            organisation_url(proposed[0].organisation.code)
            if len(proposed) == 1
            else "#table-freedoms"
        )
        found.append(Need(len(proposed), _plural(len(proposed), "freedom") + " to confirm", url))
    overdue = [a for a in actions if a.due_date and a.due_date < today]
    if may_manage_actions and overdue:
        url = (
            organisation_url(overdue[0].organisation.code)
            if len(overdue) == 1
            else "#table-actions"
        )
        found.append(
            Need(len(overdue), _plural(len(overdue), "oversight action") + " overdue", url)
        )
    if may_manage_compacts and off_track_urls:
        count = len(off_track_urls)
        url = off_track_urls[0] if len(set(off_track_urls)) == 1 else "#table-compacts"
        found.append(Need(count, _plural(count, "compact commitment") + " off track", url))
    if may_manage_compacts and late_compact_urls:
        count = len(late_compact_urls)
        url = late_compact_urls[0] if count == 1 else "#table-compacts"
        found.append(
            Need(count, _plural(count, "compact") + " not agreed by 31 March before the year", url)
        )
    if pending_moves:
        found.append(
            Need(
                pending_moves,
                _plural(pending_moves, "provisional change") + " of segment awaiting publication",
                pending_url,
            )
        )
    return found


def _plural(count: int, noun: str) -> str:
    return f"{noun}{'s' if count != 1 else ''}"

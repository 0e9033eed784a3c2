"""What each dashboard shows: its tables and the figures beside them, made from what the
selectors read. No queries here; the views choose what to read and render the result."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from core.tables import Column, Table
from delegation.presenters import short_icb_name
from systems.models import Organisation, PeerGroup, Region, Trust

from ..engine.movement import Movement
from ..exports import NHSE_TRUST_TYPE
from ..models import FreedomGrant, OrganisationAssessment, OversightAction, SegmentationRun
from ..selectors import Explanation
from .organisation_tables import domains_table, metrics_table
from .presenters import (
    action_owner,
    boundary_text,
    direction,
    fmt,
    is_capped,
    leverage_line,
    override_note,
    reach_text,
    segment_tag,
    span,
)
from .selectors import OrganisationRecord, PeriodPair, segment_counts

SEGMENTS = [1, 2, 3, 4, 5, None]
GROUP_LABELS = dict(PeerGroup.choices)

Rows = Mapping[int, dict[str, Any]]  # organisation id → assessment row


@dataclass
class Page:
    """A page's template context and the tables in it (sortable and downloadable)."""

    context: dict[str, Any]
    tables: list[Table]


def organisation_url(code: str, pair: PeriodPair) -> str:
    """The organisation's page, for the period shown."""
    return reverse("dashboards:organisation", args=[code]) + (
        f"?period={pair.current.slug}" if pair.current else ""
    )


def _group_label(key: str) -> str:
    return GROUP_LABELS.get(key, key)


def _segment_label(segment: int | None) -> str:
    return f"Segment {segment}" if segment else "Not segmented"


def trust_rows(rows: Rows) -> list[dict[str, Any]]:
    """The trusts among assessment rows (the national overview counts trusts only)."""
    return [r for r in rows.values() if r["organisation__kind"] == "trust"]


# --- The national overview ----------------------------------------------------------------


def national(
    pair: PeriodPair, now: Rows, before: Rows, visible: set[int] | None, where: str
) -> Page:
    """Trusts by segment and peer group or region, movement since the period before, and
    the trusts capped by the override or in the programme. Counts are national for
    everyone; the lists name only the ``visible`` trusts (``None``: all of England), and
    ``where`` says which those are."""
    rows = trust_rows(now)
    by_group = segment_counts(rows, "peer_group")
    by_region = segment_counts(rows, "organisation__region__name")
    capped, programme = _national_lists(pair, rows, visible, where)
    avg_now, avg_before = _average(now), _average(before)
    context = {
        "pair": pair,
        "national_average": fmt(avg_now),
        "average_change": fmt(avg_now - avg_before) if avg_now and avg_before else "",
        "chart": _segments_chart(by_group),
        "figures": {
            "capped": sum(1 for r in rows if is_capped(r)),
            "programme": sum(1 for r in rows if r["in_programme"]),
            "where": where,
            "capped_here": len(capped.rows),
            "programme_here": len(programme.rows),
        },
    }
    groups = _distribution(
        "by_peer_group", "Trusts by segment and peer group", "Peer group", by_group, _group_label
    )
    regions = _distribution("by_region", "Trusts by segment and region", "Region", by_region, str)
    tables = [groups, regions, _movement(pair, now, before), capped, programme]
    return Page(context, tables)


def _distribution(
    slug: str,
    caption: str,
    heading: str,
    counts: Mapping[Any, Counter],
    label: Callable[[Any], str],
) -> Table:
    rows = []
    for key, counter in sorted(counts.items(), key=lambda kv: str(kv[0])):
        row = {"name": label(key), "total": sum(counter.values())}
        row.update({f"s{s or 'none'}": counter.get(s, 0) for s in SEGMENTS})
        rows.append(row)
    columns = [
        Column("name", heading),
        *[Column(f"s{s or 'none'}", _segment_label(s), numeric=True) for s in SEGMENTS],
        Column("total", "Total", numeric=True),
    ]
    return Table(slug, caption, columns, rows)


def _movement(pair: PeriodPair, now: Rows, before: Rows) -> Table:
    moves = Counter(
        (before[o]["final_segment"], r["final_segment"]) for o, r in now.items() if o in before
    )
    return Table(
        "movement",
        f"Movement since {pair.previous.label}" if pair.previous else "Movement",
        [Column("from", "From \\ to")]
        + [Column(f"to{s or 'none'}", f"{s or 'Not segmented'}", numeric=True) for s in SEGMENTS],
        [
            {
                "from": _segment_label(a),
                **{f"to{b or 'none'}": moves.get((a, b), 0) for b in SEGMENTS},
            }
            for a in SEGMENTS
            if any(moves.get((a, b)) for b in SEGMENTS)
        ],
        empty="No previous period to compare with.",
    )


def _national_lists(
    pair: PeriodPair, rows: list[dict[str, Any]], visible: set[int] | None, where: str
) -> tuple[Table, Table]:
    """The trusts capped by the override and those in the programme, of those visible."""

    def listed(predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [
            {
                "code": r["organisation__code"],
                "name": r["organisation__name"],
                "url": organisation_url(r["organisation__code"], pair),
                "region": r["organisation__region__name"],
                "peer_group": _group_label(r["peer_group"]),
                "unadjusted": r["unadjusted_segment"],
                "final": r["final_segment"],
                "average": r["average_score"],
            }
            for r in sorted(rows, key=lambda r: r["organisation__code"])
            if predicate(r) and (visible is None or r["organisation_id"] in visible)
        ]

    columns = [
        Column("name", "Organisation", link="url"),
        Column("code", "Code"),
        Column("region", "Region"),
        Column("peer_group", "Peer group"),
        Column("average", "Average score", numeric=True, places=2),
    ]
    trusts = f": trusts {where}" if where else ""
    no_trust = f"No trust {where + ' ' if where else ''}"
    capped = Table(
        "capped",
        "Capped at segment 3 by the financial override" + trusts,
        [*columns, Column("unadjusted", "Unadjusted segment", numeric=True)],
        listed(is_capped),
        empty=f"{no_trust}is capped by the override.",
    )
    programme = Table(
        "programme",
        "In the Provider Improvement Programme (segment 5)" + trusts,
        columns,
        listed(lambda r: r["in_programme"]),
        empty=f"{no_trust}is in the programme.",
    )
    return capped, programme


def _average(rows: Rows) -> float | None:
    values = [
        r["average_score"]
        for r in rows.values()
        if r["segmented"] and r["average_score"] is not None
    ]
    return sum(values) / len(values) if values else None


def _segments_chart(by_group: Mapping[str, Counter]) -> dict[str, Any]:
    return {
        "labels": [_group_label(k) for k in sorted(by_group)],
        "datasets": [
            {
                "label": _segment_label(s),
                "data": [by_group[k].get(s, 0) for k in sorted(by_group)],
            }
            for s in SEGMENTS
        ],
    }


# --- A region at a glance -----------------------------------------------------------------


@dataclass(frozen=True)
class RegionFilters:
    """The region page's filters: host ICB code, peer group and segment ("" for all)."""

    icb: str = ""
    peer_group: str = ""
    segment: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> RegionFilters:
        """The filters in a query string (``?icb=&peer_group=&segment=``)."""
        return cls(query.get("icb", ""), query.get("peer_group", ""), query.get("segment", ""))

    @property
    def active(self) -> bool:
        """Whether any filter is set (then every table on the page is narrowed)."""
        return bool(self.icb or self.peer_group or self.segment)

    def keeps(self, row: Mapping[str, Any], icb_code: str) -> bool:
        """Whether an assessment row whose host ICB is ``icb_code`` passes the filters."""
        return (
            (not self.icb or icb_code == self.icb)
            and (not self.peer_group or row["peer_group"] == self.peer_group)
            and (not self.segment or str(row["final_segment"]) == self.segment)
        )


def region_rows(
    pair: PeriodPair,
    mine: list[dict[str, Any]],
    before: Rows,
    icbs: Mapping[int, tuple[str, str]],
    filters: RegionFilters,
) -> list[dict[str, Any]]:
    """The region's organisations that pass the filters, by code: segment now and in the
    period before, direction of travel, host ICB (an ICB is its own), override and
    programme."""
    rows = []
    for r in sorted(mine, key=lambda r: r["organisation__code"]):
        icb_code, icb_name = icbs.get(r["organisation_id"], ("", ""))
        if r["organisation__kind"] == "icb":
            icb_code, icb_name = r["organisation__code"], r["organisation__name"]
        if not filters.keeps(r, icb_code):
            continue
        previous = before.get(r["organisation_id"], {}).get("final_segment")
        rows.append(
            {
                "organisation_id": r["organisation_id"],
                "code": r["organisation__code"],
                "name": r["organisation__name"],
                "url": organisation_url(r["organisation__code"], pair),
                "icb": short_icb_name(icb_name),  # the column says ICB
                "peer_group": _group_label(r["peer_group"]),
                "segment": r["final_segment"],
                "previous": previous,
                "direction": direction(r["final_segment"], previous),
                "average": r["average_score"],
                "override": "Capped" if is_capped(r) else "",
                "programme": "Yes" if r["in_programme"] else "",
            }
        )
    return rows


def moved(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose segment changed since the period before."""
    return [r for r in rows if r["previous"] is not None and r["segment"] != r["previous"]]


def icb_ids(mine: Iterable[Mapping[str, Any]]) -> list[int]:
    """The ICBs among assessment rows."""
    return [r["organisation_id"] for r in mine if r["organisation__kind"] == "icb"]


def region(
    place: Region,
    pair: PeriodPair,
    *,
    rows: list[dict[str, Any]],
    icb_choices: list[tuple[str, str]],
    filters: RegionFilters,
    movements: Mapping[int, Movement],
    grants: list[FreedomGrant],
    actions: list[OversightAction],
    delegation: dict[str, Any],
) -> Page:
    """The region's organisations (``region_rows``), who moved and why, who is capped,
    freedoms, open actions and delegation. ``movements`` say why each moved."""
    organisations = Table(
        "organisations",
        f"Trusts and ICBs in {place.name}",
        [
            Column("name", "Organisation", link="url"),
            Column("code", "Code"),
            Column("icb", "ICB"),
            Column("peer_group", "Peer group"),
            Column("segment", "Segment now", numeric=True),
            Column("previous", "Last period", numeric=True),
            Column("direction", "Direction of travel"),
            Column("average", "Average score", numeric=True, places=2),
            Column("override", "Financial override"),
            Column("programme", "Programme"),
        ],
        rows,
        empty="No organisation matches these filters.",
    )
    capped = Table(
        "capped",
        "Capped by the financial override",
        [Column("name", "Organisation", link="url"), Column("segment", "Segment", numeric=True)],
        [r for r in rows if r["override"]],
        empty="No organisation here is capped by the override.",
    )
    context = {
        "pair": pair,
        "region": place,
        "delegation": delegation,
        "icb_choices": icb_choices,
        "group_choices": [(k, v) for k, v in PeerGroup.choices],
        "filters": {
            "icb": filters.icb,
            "peer_group": filters.peer_group,
            "segment": filters.segment,
        },
    }
    tables = [
        organisations,
        _movers(moved(rows), movements),
        capped,
        _freedoms(pair, grants),
        _actions(pair, actions),
        delegation["conditions_table"],
    ]
    return Page(context, tables)


def region_icb_choices(
    mine: Iterable[Mapping[str, Any]], icbs: Mapping[int, tuple[str, str]]
) -> list[tuple[str, str]]:
    """The ICB filter's choices: the trusts' host ICBs and the ICBs themselves."""
    return sorted(
        {(c, n) for c, n in icbs.values() if c}
        | {
            (r["organisation__code"], r["organisation__name"])
            for r in mine
            if r["organisation__kind"] == "icb"
        }
    )


def _movers(rows: list[dict[str, Any]], movements: Mapping[int, Movement]) -> Table:
    return Table(
        "movers",
        "Who moved, and why",
        [
            Column("name", "Organisation", link="url"),
            Column("direction", "Move"),
            Column("why", "Why (scores: 1 best, 4 worst)"),
        ],
        [
            {
                **r,
                "why": movements[r["organisation_id"]].paragraph()
                if r["organisation_id"] in movements
                else "",
            }
            for r in rows
        ],
        empty="Nobody changed segment since the last period.",
    )


def _freedoms(pair: PeriodPair, grants: list[FreedomGrant]) -> Table:
    return Table(
        "freedoms",
        "Freedoms granted, proposed, at risk or revoked",
        [
            Column("name", "Organisation", link="url"),
            Column("freedom", "Freedom"),
            Column("status", "Status"),
            Column("reason", "Why"),
        ],
        [
            {
                "name": g.organisation.name,
                "url": organisation_url(g.organisation.code, pair),
                "freedom": g.freedom.name,
                "status": g.get_status_display(),
                "reason": g.status_reason,
            }
            for g in grants
        ],
        empty="No freedoms yet.",
    )


def _actions(pair: PeriodPair, actions: list[OversightAction]) -> Table:
    return Table(
        "actions",
        "Open oversight actions",
        [
            Column("name", "Organisation", link="url"),
            Column("title", "Action"),
            Column("due", "Due"),
            Column("owner", "Board owner"),
        ],
        [
            {
                "name": a.organisation.name,
                "url": organisation_url(a.organisation.code, pair),
                "title": a.title,
                "due": a.due_date,
                "owner": action_owner(a),
            }
            for a in actions
        ],
        empty="No open actions.",
    )


# --- One organisation ---------------------------------------------------------------------


def organisation(org: Organisation, pair: PeriodPair, record: OrganisationRecord) -> Page:
    """Segment history and chart, and for the period shown the segment with why (every
    metric, the override, the distance to the boundaries), support, actions, freedoms and,
    for an ICB, delegation."""
    points = [(p, record.history.get(pair.run_id_of(p))) for p in pair.periods]
    assessed = [(p, a) for p, a in points if a]
    history = Table(
        "history",
        "Segment history",
        [
            Column("period", "Period"),
            Column("segment", "Final segment", numeric=True),
            Column("average", "Average score", numeric=True, places=2),
            Column("range", "Likely range of average"),
            Column("cuts", "Cut points (T1 / T2 / T3)"),
            Column("rank", "Rank", numeric=True),
        ],
        [
            {
                "period": p.label,
                "segment": a["final_segment"],
                "average": a["average_score"],
                "range": span(a["average_range_low"], a["average_range_high"]),
                "cuts": " / ".join(f"{t:g}" for t in cuts)
                if (cuts := record.cut_points.get(pair.run_id_of(p)))
                else "",
                "rank": a["league_rank"],
            }
            for p, a in assessed
        ],
        empty="Not assessed yet.",
    )
    chart = {
        "labels": [p.label for p, a in assessed],
        "segments": [a["final_segment"] for p, a in assessed],
        "averages": [a["average_score"] for p, a in assessed],
        "cut_points": [record.cut_points.get(pair.run_id_of(p)) for p, a in assessed],
    }
    context = {
        "pair": pair,
        "org": org,
        **_explanation_context(record.explanation),
        "published": record.published,
        "support": record.support,
        "actions": record.actions,
        "grants": record.grants,
        "chart": chart,
        "delegation": record.delegation,
        "maturity": record.maturity,
        "movement": record.movement,
    }
    tables = [history, metrics_table(pair, record), domains_table(record.explanation)]
    return Page(context, tables)


def partial_pool_text(run: SegmentationRun | None, metric_ids: Iterable[str] | None = None) -> str:
    """A sentence naming the scores of ``run`` ranked on a partial national pool (only
    ``metric_ids`` when given), or "" when none were."""
    if run is None:
        return ""
    partial = run.partial_pools()
    if metric_ids is not None:
        wanted = set(metric_ids)
        partial = {k: v for k, v in partial.items() if k in wanted}
    if not partial:
        return ""
    listed = ", ".join(
        f"{k} among {p['ranked']} of {p['applies']}" for k, p in sorted(partial.items())
    )
    return (
        f"{len(partial)} nationally ranked metric(s) were scored on a partial pool ({listed}): "
        "NHS England ranks them among every provider reporting them, so these scores, and "
        "the averages, segments and ranks built on them, may differ from NHS England's."
    )


def _explanation_context(explanation: Explanation | None) -> dict[str, Any]:
    """The segment tag, override note, distances and likely ranges (blank when not
    assessed in the period shown)."""
    if explanation is None:
        return {
            "tag": segment_tag(None),
            "explanation": None,
            "override_note": "",
            "boundary_text": "",
            "reach_text": "",
            "leverage_lines": [],
            "ranges": {"average": "", "rank": ""},
            "partial_note": "",
        }
    a = explanation.assessment
    return {
        "tag": segment_tag(a.final_segment),
        "explanation": explanation,
        "override_note": override_note(a),
        "boundary_text": boundary_text(a, explanation.boundaries),
        "reach_text": reach_text(explanation.boundaries, explanation.leverage),
        "leverage_lines": [leverage_line(m) for m in explanation.leverage],
        "ranges": {
            "average": span(a.average_range_low, a.average_range_high),
            "rank": span(a.rank_range_low, a.rank_range_high, None),
        },
        "partial_note": partial_pool_text(
            explanation.run, [m.metric_id for m in explanation.metrics if m.partial_pool]
        ),
    }


# --- League tables ------------------------------------------------------------------------


def league(
    pair: PeriodPair, group: str, entries: list[OrganisationAssessment], trusts: Mapping[int, Trust]
) -> Table:
    """A peer group's league table, with NHS England's league-table columns in the
    downloads."""
    rows = []
    for a in entries:
        trust = trusts.get(a.organisation_id)
        rows.append(
            {
                "Quarter": pair.current.label,
                "Region": a.organisation.region.short_name,
                "Trust_type": NHSE_TRUST_TYPE.get(a.peer_group, a.peer_group),
                "Trust_subtype": trust.subtype if trust else "",
                "Trust_code": a.organisation.code,
                "Trust_name": a.organisation.name,
                "url": organisation_url(a.organisation.code, pair),
                "Average_score": a.average_score,
                "Likely_range_of_average_score": span(a.average_range_low, a.average_range_high),
                "Segment": a.adjusted_segment,
                "Trust_in_financial_deficit": "Yes" if a.financial_override else "No",
                "Rank": a.league_rank,
                "Likely_range_of_rank": span(a.rank_range_low, a.rank_range_high, None),
                "Programme": "Yes" if a.in_programme else "",
            }
        )
    return Table(
        "league",
        f"{GROUP_LABELS[group]} league table",
        [
            Column("Rank", "Rank", numeric=True),
            Column("Trust_name", "Trust", link="url"),
            Column("Trust_code", "Code"),
            Column("Region", "Region"),
            Column("Trust_subtype", "Subtype"),
            Column("Average_score", "Average score", numeric=True, places=2),
            Column("Likely_range_of_average_score", "Likely range of average score"),
            Column("Segment", "Segment", numeric=True),
            Column("Trust_in_financial_deficit", "In financial deficit"),
            Column("Likely_range_of_rank", "Likely range of rank"),
            Column("Programme", "Programme (segment 5)"),
            # The same on every row (the page names the quarter and peer group), so only
            # in the downloads, which have NHS England's league-table columns.
            Column("Quarter", "Quarter", download_only=True),
            Column("Trust_type", "Trust type", download_only=True),
        ],
        rows,
        empty="No league table for this period and peer group yet.",
    )

"""Dashboards: national overview, a region at a glance, one organisation, league tables.

Every table can be sorted (``?sort=column``, ``-column`` for descending) and downloaded
(``?download=<table>&format=csv|xlsx``). Each page runs a fixed number of queries.
"""

from __future__ import annotations

import json
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.pages import render_tables
from core.tables import Column, Table
from systems.authorization import (
    Permission,
    get_visible_organisation_or_404,
    has_permission,
    visible_organisations,
)
from systems.models import PeerGroup, Region

from .. import selectors as oversight_selectors
from ..autonomy.services import AutonomyError, close_action, confirm_grant
from ..exports import NHSE_TRUST_TYPE
from ..models import (
    ActionStatus,
    FreedomGrant,
    GrantStatus,
    OrganisationAssessment,
    OversightAction,
    SupportLevel,
)
from ..uploads.presenters import UploadPresenter
from ..uploads.selectors import uploads_for
from . import selectors
from .presenters import (
    action_owner,
    boundary_text,
    direction,
    fmt,
    is_capped,
    override_note,
    segment_tag,
    span,
)

SEGMENTS = [1, 2, 3, 4, 5, None]
GROUP_LABELS = dict(PeerGroup.choices)


def _org_url(code: str, pair) -> str:
    return reverse("dashboards:organisation", args=[code]) + (
        f"?period={pair.current.slug}" if pair.current else ""
    )


@login_required
def national(request: HttpRequest) -> HttpResponse:
    pair = selectors.segmented_periods(request.GET.get("period", ""))
    scope = selectors.scope_of(request.user)
    now = selectors.assessment_rows(pair.current.current_run_id if pair.current else None)
    before = selectors.assessment_rows(pair.previous.current_run_id if pair.previous else None)
    rows = [r for r in now.values() if r["organisation__kind"] == "trust"]

    by_group = selectors.segment_counts(rows, "peer_group")
    by_region = selectors.segment_counts(rows, "organisation__region__name")
    columns = (
        [Column("name", "")]
        + [
            Column(f"s{s or 'none'}", f"Segment {s}" if s else "Not segmented", numeric=True)
            for s in SEGMENTS
        ]
        + [Column("total", "Total", numeric=True)]
    )

    def distribution(slug: str, caption: str, heading: str, counts, label) -> Table:
        table_rows = []
        for key, counter in sorted(counts.items(), key=lambda kv: str(kv[0])):
            row = {"name": label(key), "total": sum(counter.values())}
            row.update({f"s{s or 'none'}": counter.get(s, 0) for s in SEGMENTS})
            table_rows.append(row)
        return Table(
            slug,
            caption,
            [Column("name", heading), *columns[1:]],
            table_rows,
        )

    groups = distribution(
        "by_peer_group",
        "Trusts by segment and peer group",
        "Peer group",
        by_group,
        lambda k: GROUP_LABELS.get(k, k),
    )
    regions = distribution("by_region", "Trusts by segment and region", "Region", by_region, str)

    moves = Counter(
        (before[o]["final_segment"], r["final_segment"]) for o, r in now.items() if o in before
    )
    movement = Table(
        "movement",
        f"Movement since {pair.previous.label}" if pair.previous else "Movement",
        [Column("from", "From \\ to")]
        + [Column(f"to{s or 'none'}", f"{s or 'Not segmented'}", numeric=True) for s in SEGMENTS],
        [
            {
                "from": f"Segment {a}" if a else "Not segmented",
                **{f"to{b or 'none'}": moves.get((a, b), 0) for b in SEGMENTS},
            }
            for a in SEGMENTS
            if any(moves.get((a, b)) for b in SEGMENTS)
        ],
        empty="No previous period to compare with.",
    )

    # Counts are national for everyone (aggregates); the lists name only the trusts the
    # viewer may see, and say so when that is not all of England.
    visible_ids = None if scope is None else set(scope.values_list("pk", flat=True))
    where = selectors.scope_phrase(request.user, rows) if scope is not None else ""

    def listed(predicate) -> list[dict]:
        return [
            {
                "code": r["organisation__code"],
                "name": r["organisation__name"],
                "url": _org_url(r["organisation__code"], pair),
                "region": r["organisation__region__name"],
                "peer_group": GROUP_LABELS.get(r["peer_group"], r["peer_group"]),
                "unadjusted": r["unadjusted_segment"],
                "final": r["final_segment"],
                "average": r["average_score"],
            }
            for r in sorted(rows, key=lambda r: r["organisation__code"])
            if predicate(r) and (visible_ids is None or r["organisation_id"] in visible_ids)
        ]

    org_columns = [
        Column("name", "Organisation", link="url"),
        Column("code", "Code"),
        Column("region", "Region"),
        Column("peer_group", "Peer group"),
        Column("average", "Average score", numeric=True, places=2),
    ]
    capped = Table(
        "capped",
        "Capped at segment 3 by the financial override" + (f": trusts {where}" if where else ""),
        [*org_columns, Column("unadjusted", "Unadjusted segment", numeric=True)],
        listed(is_capped),
        empty=f"No trust {where + ' ' if where else ''}is capped by the override.",
    )
    programme = Table(
        "programme",
        "In the Provider Improvement Programme (segment 5)"
        + (f": trusts {where}" if where else ""),
        org_columns,
        listed(lambda r: r["in_programme"]),
        empty=f"No trust {where + ' ' if where else ''}is in the programme.",
    )
    figures = {
        "capped": sum(1 for r in rows if is_capped(r)),
        "programme": sum(1 for r in rows if r["in_programme"]),
        "where": where,
        "capped_here": len(capped.rows),
        "programme_here": len(programme.rows),
    }

    def average(rows_: dict) -> float | None:
        values = [
            r["average_score"]
            for r in rows_.values()
            if r["segmented"] and r["average_score"] is not None
        ]
        return sum(values) / len(values) if values else None

    avg_now, avg_before = average(now), average(before)
    chart = {
        "labels": [GROUP_LABELS.get(k, k) for k in sorted(by_group)],
        "datasets": [
            {
                "label": f"Segment {s}" if s else "Not segmented",
                "data": [by_group[k].get(s, 0) for k in sorted(by_group)],
            }
            for s in SEGMENTS
        ],
    }
    context = {
        "pair": pair,
        "national_average": fmt(avg_now),
        "average_change": fmt(avg_now - avg_before) if avg_now and avg_before else "",
        "chart_json": json.dumps(chart),
        "figures": figures,
    }
    return render_tables(
        request,
        "dashboards/national.html",
        context,
        [groups, regions, movement, capped, programme],
        "national",
    )


@login_required
def region(request: HttpRequest, ods_code: str) -> HttpResponse:
    from delegation.presenters import region_summary, short_icb_name

    region_obj = get_object_or_404(Region, ods_code=ods_code)
    visible = visible_organisations(request.user).filter(region=region_obj)
    visible_ids = set(visible.values_list("pk", flat=True))
    if not visible_ids:
        raise Http404("Not found.")
    pair = selectors.segmented_periods(request.GET.get("period", ""))
    now = selectors.assessment_rows(pair.current.current_run_id if pair.current else None)
    before = selectors.assessment_rows(pair.previous.current_run_id if pair.previous else None)
    mine = [r for o, r in now.items() if o in visible_ids]
    icbs = (
        selectors.host_icbs(pair.current, [r["organisation_id"] for r in mine])
        if (pair.current)
        else {}
    )

    icb_filter = request.GET.get("icb", "")
    group_filter = request.GET.get("peer_group", "")
    segment_filter = request.GET.get("segment", "")
    rows = []
    for r in sorted(mine, key=lambda r: r["organisation__code"]):
        icb_code, icb_name = icbs.get(r["organisation_id"], ("", ""))
        if r["organisation__kind"] == "icb":
            icb_code, icb_name = r["organisation__code"], r["organisation__name"]
        previous = before.get(r["organisation_id"], {}).get("final_segment")
        if icb_filter and icb_code != icb_filter:
            continue
        if group_filter and r["peer_group"] != group_filter:
            continue
        if segment_filter and str(r["final_segment"]) != segment_filter:
            continue
        rows.append(
            {
                "organisation_id": r["organisation_id"],
                "code": r["organisation__code"],
                "name": r["organisation__name"],
                "url": _org_url(r["organisation__code"], pair),
                "icb": short_icb_name(icb_name),  # the column says ICB
                "peer_group": GROUP_LABELS.get(r["peer_group"], r["peer_group"]),
                "segment": r["final_segment"],
                "previous": previous,
                "direction": direction(r["final_segment"], previous),
                "average": r["average_score"],
                "override": "Capped" if is_capped(r) else "",
                "programme": "Yes" if r["in_programme"] else "",
            }
        )
    organisations = Table(
        "organisations",
        f"Trusts and ICBs in {region_obj.name}",
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
    moved = [r for r in rows if r["previous"] is not None and r["segment"] != r["previous"]]
    drivers = selectors.drivers_of_moves(
        pair.current.current_run_id if pair.current else 0,
        pair.previous.current_run_id if pair.previous else 0,
        [r["organisation_id"] for r in moved],
    )
    movers = Table(
        "movers",
        "Who moved, and the metrics that drove it",
        [
            Column("name", "Organisation", link="url"),
            Column("direction", "Move"),
            Column("drivers", "Biggest score changes (1 best, 4 worst)"),
        ],
        [
            {
                **r,
                "drivers": "; ".join(
                    f"{d['name']} ({d['metric_id']}): {d['before']:.2f} → {d['now']:.2f}"
                    for d in drivers.get(r["organisation_id"], [])
                ),
            }
            for r in moved
        ],
        empty="Nobody changed segment since the last period.",
    )
    capped = Table(
        "capped",
        "Capped by the financial override",
        [Column("name", "Organisation", link="url"), Column("segment", "Segment", numeric=True)],
        [r for r in rows if r["override"]],
        empty="No organisation here is capped by the override.",
    )
    # Filters narrow every table, not just the first.
    shown_ids = (
        {r["organisation_id"] for r in rows}
        if (icb_filter or group_filter or segment_filter)
        else visible_ids
    )
    grants = list(
        FreedomGrant.objects.filter(organisation_id__in=shown_ids)
        .exclude(status__in=[GrantStatus.LAPSED, GrantStatus.DECLINED])
        .select_related("freedom", "organisation")
        .order_by("status", "organisation__code")
    )
    freedoms = Table(
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
                "url": _org_url(g.organisation.code, pair),
                "freedom": g.freedom.name,
                "status": g.get_status_display(),
                "reason": g.status_reason,
            }
            for g in grants
        ],
        empty="No freedoms yet.",
    )
    actions = list(
        OversightAction.objects.filter(organisation_id__in=shown_ids, status=ActionStatus.OPEN)
        .select_related("organisation")
        .order_by("due_date")
    )
    action_table = Table(
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
                "url": _org_url(a.organisation.code, pair),
                "title": a.title,
                "due": a.due_date,
                "owner": action_owner(a),
            }
            for a in actions
        ],
        empty="No open actions.",
    )
    icb_choices = sorted(
        {(c, n) for c, n in icbs.values() if c}
        | {
            (r["organisation__code"], r["organisation__name"])
            for r in mine
            if r["organisation__kind"] == "icb"
        }
    )
    delegation = region_summary(
        [r["organisation_id"] for r in mine if r["organisation__kind"] == "icb"]
        or list(visible.filter(kind="icb").values_list("pk", flat=True))
    )
    context = {
        "pair": pair,
        "region": region_obj,
        "delegation": delegation,
        "icb_choices": icb_choices,
        "group_choices": [(k, v) for k, v in PeerGroup.choices],
        "filters": {"icb": icb_filter, "peer_group": group_filter, "segment": segment_filter},
        "uploads": [UploadPresenter(u) for u in uploads_for(request.user)[:5]],
    }
    return render_tables(
        request,
        "dashboards/region.html",
        context,
        [organisations, movers, capped, freedoms, action_table, delegation["conditions_table"]],
        "region",
    )


@login_required
def organisation(request: HttpRequest, code: str) -> HttpResponse:
    org = get_visible_organisation_or_404(request.user, code=code)
    pair = selectors.segmented_periods(request.GET.get("period", ""))
    history = {
        a["run_id"]: a
        for a in OrganisationAssessment.objects.filter(
            organisation=org, run_id__in=[p.current_run_id for p in pair.periods]
        ).values(
            "run_id",
            "final_segment",
            "adjusted_segment",
            "average_score",
            "average_range_low",
            "average_range_high",
            "league_rank",
        )
    }
    points = [(p, history.get(p.current_run_id)) for p in pair.periods]
    history_table = Table(
        "history",
        "Segment history",
        [
            Column("period", "Period"),
            Column("segment", "Final segment", numeric=True),
            Column("average", "Average score", numeric=True, places=2),
            Column("range", "Likely range of average"),
            Column("rank", "Rank", numeric=True),
        ],
        [
            {
                "period": p.label,
                "segment": a["final_segment"],
                "average": a["average_score"],
                "range": span(a["average_range_low"], a["average_range_high"]),
                "rank": a["league_rank"],
            }
            for p, a in points
            if a
        ],
        empty="Not assessed yet.",
    )
    chart = {
        "labels": [p.label for p, a in points if a],
        "segments": [a["final_segment"] for p, a in points if a],
        "averages": [a["average_score"] for p, a in points if a],
    }
    explanation = None
    metrics = Table("metrics", "Metrics", [])
    if pair.current and history.get(pair.current.current_run_id):
        explanation = oversight_selectors.explain(org, pair.current)
        metrics = Table(
            "metrics",
            f"Every metric in {pair.current.label}",
            [
                Column("metric", "Metric"),
                Column("domain", "Domain"),
                Column("value", "Value", numeric=True, places=2),
                Column("rank", "Rank / N"),
                Column("score", "Score", numeric=True, places=2),
                Column("status", "Status"),
            ],
            [
                {
                    "metric": f"{m.name} ({m.metric_id})",
                    "domain": m.domain,
                    "value": m.text or m.value,
                    "rank": m.rank_of_pool,
                    "score": m.score,
                    "status": m.status,
                }
                for m in explanation.metrics
            ],
        )
    run_id = pair.current.current_run_id if pair.current else None
    support = SupportLevel.objects.filter(run_id=run_id, organisation=org).first()
    actions = list(OversightAction.objects.filter(organisation=org).order_by("status", "due_date"))
    grants = list(
        FreedomGrant.objects.filter(organisation=org).select_related("freedom").order_by("-id")
    )
    context = {
        "pair": pair,
        "org": org,
        "tag": segment_tag(explanation.assessment.final_segment if explanation else None),
        "explanation": explanation,
        "override_note": override_note(explanation.assessment) if explanation else "",
        "boundary_text": boundary_text(explanation.assessment, explanation.boundaries)
        if explanation
        else "",
        "ranges": {
            "average": span(
                explanation.assessment.average_range_low, explanation.assessment.average_range_high
            )
            if explanation
            else "",
            "rank": span(
                explanation.assessment.rank_range_low, explanation.assessment.rank_range_high, None
            )
            if explanation
            else "",
        },
        "published": selectors.published_for(pair.current, org) if pair.current else {},
        "support": support,
        "actions": actions,
        "grants": grants,
        "chart_json": json.dumps(chart),
        "may_confirm": has_permission(request.user, Permission.CONFIRM_FREEDOM, org),
        "may_close": has_permission(request.user, Permission.MANAGE_ACTIONS, org),
        "delegation": _delegation_status(org),
    }
    return render_tables(
        request,
        "dashboards/organisation.html",
        context,
        [history_table, metrics],
        f"organisation-{org.code}",
    )


def _delegation_status(org) -> dict | None:
    """An ICB's agreement in force, latest segment and condition (three queries)."""
    if org.kind != "icb":
        return None
    from delegation.selectors import current_icb_segments, in_force_agreement, open_conditions

    agreement = in_force_agreement(org.pk)
    return {
        "agreement": agreement,
        "segment": current_icb_segments([org.pk]).get(org.pk),
        "condition": open_conditions([org.pk]).first() if agreement else None,
    }


@login_required
def league(request: HttpRequest) -> HttpResponse:
    pair = selectors.segmented_periods(request.GET.get("period", ""))
    group = request.GET.get("peer_group", PeerGroup.ACUTE)
    if group not in GROUP_LABELS:
        raise Http404("No such peer group.")
    rows = []
    if pair.current:
        entries = list(oversight_selectors.league_table(pair.current.current_run, group))
        trusts = oversight_selectors.trust_details([a.organisation_id for a in entries])
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
                    "url": _org_url(a.organisation.code, pair),
                    "Average_score": a.average_score,
                    "Likely_range_of_average_score": span(
                        a.average_range_low, a.average_range_high
                    ),
                    "Segment": a.adjusted_segment,
                    "Trust_in_financial_deficit": "Yes" if a.financial_override else "No",
                    "Rank": a.league_rank,
                    "Likely_range_of_rank": span(a.rank_range_low, a.rank_range_high, None),
                    "Programme": "Yes" if a.in_programme else "",
                }
            )
    table = Table(
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
    context = {
        "pair": pair,
        "group": group,
        "group_choices": [(k, v) for k, v in PeerGroup.choices if k != PeerGroup.ICB],
    }
    return render_tables(request, "dashboards/league.html", context, [table], f"league-{group}")


@login_required
@require_POST
def decide_grant(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """A regional director confirms or declines a proposed freedom, with a reason."""
    org = get_visible_organisation_or_404(request.user, code=code)
    if not has_permission(request.user, Permission.CONFIRM_FREEDOM, org):
        raise Http404("Not found.")
    grant = get_object_or_404(FreedomGrant, pk=pk, organisation=org)
    try:
        confirm_grant(
            grant=grant,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            confirm=request.POST.get("decision") == "confirm",
        )
    except AutonomyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{grant.freedom.name}: decision recorded.")
    return redirect("dashboards:organisation", code=org.code)


@login_required
@require_POST
def close_oversight_action(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """Close an oversight action with a note (the region's team)."""
    org = get_visible_organisation_or_404(request.user, code=code)
    if not has_permission(request.user, Permission.MANAGE_ACTIONS, org):
        raise Http404("Not found.")
    item = get_object_or_404(OversightAction, pk=pk, organisation=org)
    try:
        close_action(action=item, actor=request.user, note=request.POST.get("note", ""))
    except AutonomyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{item.title}: closed.")
    return redirect("dashboards:organisation", code=org.code)

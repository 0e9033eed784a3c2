"""Dashboards: national overview, a region at a glance, one organisation, league tables.

Every table can be sorted (``?sort=column``, ``-column`` for descending) and downloaded
(``?download=<table>&format=csv|xlsx``). Each page runs a fixed number of queries.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.dates import financial_year_of
from core.pages import attempt, confirmation, render_tables
from core.tables import Table
from delegation.presenters import region_summary
from systems.authorization import (
    Permission,
    get_visible_organisation_or_404,
    has_permission,
    organisation_page_access,
)
from systems.models import PeerGroup
from systems.selectors import NoSuchSystem, system_on

from ..autonomy.services import close_action, confirm_grant
from ..compacts import pages as compact_pages
from ..compacts import selectors as compact_selectors
from ..cut_points import format_cut_points
from ..models import FreedomGrant, OversightAction, RunStatus, SegmentationRun
from ..preview import Preview, preview_of
from ..runs import publish_run
from ..selectors import latest_maturity
from ..uploads.presenters import UploadPresenter
from ..uploads.selectors import uploads_for
from . import pages, selectors
from . import region_summary as glance


@login_required
def national(request: HttpRequest) -> HttpResponse:
    pair = selectors.segmented_periods(request.GET.get("period", ""), request.GET.get("run", ""))
    now, before = selectors.assessments_of(pair)
    # Counts are national for everyone (aggregates); the lists name only the trusts the
    # viewer may see, and say so when that is not all of England.
    visible = selectors.visible_ids(request.user)
    where = (
        selectors.scope_phrase(request.user, pages.trust_rows(now)) if visible is not None else ""
    )
    page = pages.national(pair, now, before, visible, where)
    return render_tables(request, "dashboards/national.html", page.context, page.tables, "national")


@login_required
def region(request: HttpRequest, ods_code: str) -> HttpResponse:
    scope = selectors.region_in_scope(request.user, ods_code)
    pair = selectors.segmented_periods(request.GET.get("period", ""), request.GET.get("run", ""))
    now, before = selectors.assessments_of(pair)
    mine = [r for o, r in now.items() if o in scope.ids]
    icbs = selectors.host_icbs(pair.current, [r["organisation_id"] for r in mine])
    filters = pages.RegionFilters.from_query(request.GET)
    rows = pages.region_rows(pair, mine, before, icbs, filters)
    # Filters narrow every table, not just the first.
    shown_ids = {r["organisation_id"] for r in rows} if filters.active else scope.ids
    grants, actions = selectors.live_grants(shown_ids), selectors.open_actions(shown_ids)
    region_icbs = scope.icb_ids()
    delegation = region_summary(pages.icb_ids(mine) or region_icbs)
    page = pages.region(
        scope.region,
        pair,
        rows=rows,
        icb_choices=pages.region_icb_choices(mine, icbs),
        filters=filters,
        movements=selectors.movements(
            pair.current_run_id,
            pair.previous_run_id,
            [r["organisation_id"] for r in pages.moved(rows)],
        ),
        grants=grants,
        actions=actions,
        delegation=delegation,
    )
    compacts = _compacts(region_icbs, pair)
    pending = _pending_in(pair, {r["organisation__code"] for r in mine})
    chart, summary_tables = glance.summary(rows, pair.previous.label if pair.previous else "")
    user, region_code = request.user, scope.region.ods_code
    page.context.update(
        uploads=[UploadPresenter(u) for u in uploads_for(user)[:5]],
        pending=pending,
        region_chart=chart,
        may_decide_requests=has_permission(user, Permission.DECIDE_CHANGE_REQUEST),
        needs=glance.needs(
            may_decide_requests=has_permission(user, Permission.DECIDE_CHANGE_REQUEST),
            waiting_requests=delegation["waiting_count"],
            requests_url=reverse("delegation:approvals", args=[region_code]),
            may_confirm=has_permission(user, Permission.CONFIRM_FREEDOM),
            grants=grants,
            may_manage_actions=has_permission(user, Permission.MANAGE_ACTIONS),
            actions=actions,
            organisation_url=lambda code: reverse("dashboards:organisation", args=[code]),
            pending_moves=len(pending.moves) if pending else 0,
            pending_url=reverse("dashboards:run", args=[pending.run.pk]) if pending else "",
            today=datetime.date.today(),
            may_manage_compacts=has_permission(user, Permission.MANAGE_COMPACTS),
            off_track_urls=compacts.off_track_urls,
            late_compact_urls=compacts.late_urls,
        ),
        compacts_year=compacts.year,
    )
    tables = [*summary_tables, *page.tables, compacts.table]
    return render_tables(request, "dashboards/region.html", page.context, tables, "region")


@dataclass(frozen=True)
class _Compacts:
    year: str
    table: Table
    off_track_urls: list[str]
    late_urls: list[str]


def _compacts(icb_ids: list[int], pair: selectors.PeriodPair) -> _Compacts:
    """The region's compacts for the year of the period shown, with what needs the region:
    commitments off track after the latest published run, compacts not agreed in time."""
    today = datetime.date.today()
    year = pair.current.financial_year if pair.current else financial_year_of(today)
    found = compact_selectors.compacts_overview(icb_ids, year, today)
    table = compact_pages.compacts_table(
        found.summaries,
        {k: v.level for k, v in latest_maturity(icb_ids).items()} if found.summaries else {},
        today,
        f"System compacts for {year}",
    )
    return _Compacts(
        year,
        table,
        [compact_pages.compact_url(o.commitment.compact) for o in found.off_track],
        [compact_pages.compact_url(c) for c in found.late],
    )


def _system_compact(context: dict, icb, pair: selectors.PeriodPair) -> list[Table]:
    """An ICB's system (the trusts it hosts on the period's last day) and its compact for
    the period's year (else its latest), with the commitments' standing and support."""
    day = pair.current.end_date if pair.current else datetime.date.today()
    try:
        context["system"] = system_on(icb, day)
    except NoSuchSystem:
        context["system"] = None
    year = pair.current.financial_year if pair.current else financial_year_of(day)
    compacts = compact_selectors.compacts_of([icb.pk])
    compact = compacts.filter(financial_year=year).first() or compacts.first()
    context["compact"] = compact
    if compact is None:
        return []
    context["compact_url"] = compact_pages.compact_url(compact)
    context["compact_late"] = compact.is_late(datetime.date.today())
    views = compact_selectors.commitments_with_history(compact)
    return [
        compact_pages.commitments_table(views, {}, ""),
        compact_pages.support_table(compact),
    ]


def _pending_in(pair: selectors.PeriodPair, codes: set[str]) -> Preview | None:
    """Provisional changes awaiting publication for the organisations ``codes`` (the
    region's), when the period shown has newer results than its published ones."""
    if pair.provisional or not pair.has_provisional or pair.current is None:
        return None
    latest = pair.current.latest_run
    if latest is None:
        return None
    preview = preview_of(latest)
    preview.moves = [m for m in preview.moves if m.code in codes]
    preview.freedoms_at_risk = [f for f in preview.freedoms_at_risk if f["code"] in codes]
    preview.freedoms_eligible = [f for f in preview.freedoms_eligible if f["code"] in codes]
    preview.moves_elsewhere = 0
    return preview


@login_required
def organisation(request: HttpRequest, code: str) -> HttpResponse:
    org, in_scope = organisation_page_access(request.user, code)
    # Outside the viewer's scope: the published results only (no other run).
    run = request.GET.get("run", "") if in_scope else ""
    pair = selectors.segmented_periods(request.GET.get("period", ""), run)
    page = pages.organisation(org, pair, selectors.organisation_record(org, pair))
    page.context["in_scope"] = in_scope
    page.context["may_confirm"] = has_permission(request.user, Permission.CONFIRM_FREEDOM, org)
    page.context["may_close"] = has_permission(request.user, Permission.MANAGE_ACTIONS, org)
    tables = list(page.tables)
    if org.kind == "icb" and in_scope:
        tables += _system_compact(page.context, org, pair)
    return render_tables(
        request,
        "dashboards/organisation.html",
        page.context,
        tables,
        f"organisation-{org.code}",
    )


@login_required
def league(request: HttpRequest) -> HttpResponse:
    pair = selectors.segmented_periods(request.GET.get("period", ""), request.GET.get("run", ""))
    group = request.GET.get("peer_group", PeerGroup.ACUTE)
    if group not in pages.GROUP_LABELS:
        raise Http404("No such peer group.")
    entries, trusts = selectors.league_entries(pair.run, group)
    context = {
        "pair": pair,
        "group": group,
        "group_choices": [(k, v) for k, v in PeerGroup.choices if k != PeerGroup.ICB],
        "partial_note": pages.partial_pool_text(pair.run),
        "cut_points": selectors.league_cut_points(pair.run, group),
    }
    table = pages.league(pair, group, entries, trusts)
    return render_tables(request, "dashboards/league.html", context, [table], f"league-{group}")


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: what it is (published, provisional, superseded), and for a run not
    published, what publishing it would change within the viewer's scope."""
    if not has_permission(request.user, Permission.VIEW_ORGANISATION):
        raise Http404("Not found.")
    run = get_object_or_404(
        SegmentationRun.objects.select_related("period", "methodology"),
        pk=pk,
        status=RunStatus.COMPLETED,
    )
    context = {
        "run": run,
        "period": run.period,
        "preview": preview_of(run, request.user) if run.state != "published" else None,
        "can_publish": has_permission(request.user, Permission.PUBLISH_RESULTS),
        "replaces": run.period.current_run,
        "cut_points": format_cut_points(run.cut_points),
    }
    return render(request, "dashboards/run.html", context)


@login_required
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    """A national user publishes a run as its period's official results."""
    if not has_permission(request.user, Permission.PUBLISH_RESULTS):
        raise Http404("Not found.")
    run = get_object_or_404(SegmentationRun, pk=pk)
    attempt(
        request,
        lambda: publish_run(run=run, actor=request.user, reason=request.POST.get("reason", "")),
        f"Run {run.pk} is now the published results of {run.period.label}.",
    )
    return redirect("dashboards:run", pk=run.pk)


@login_required
@require_POST
def decide_grant(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """A regional director confirms or declines a proposed freedom, with a reason."""
    org = get_visible_organisation_or_404(request.user, code=code)
    if not has_permission(request.user, Permission.CONFIRM_FREEDOM, org):
        raise Http404("Not found.")
    grant = get_object_or_404(FreedomGrant, pk=pk, organisation=org)
    confirm = request.POST.get("decision") == "confirm"
    if request.POST.get("reason", "").strip():
        check = confirmation(
            request,
            action=f"{'confirm' if confirm else 'decline'} this freedom",
            facts=[
                ("Organisation", org.name),
                ("Freedom", grant.freedom.name),
                ("Decision", "Confirm" if confirm else "Decline"),
                ("Reason", request.POST.get("reason", "")),
            ],
            back=reverse("dashboards:organisation", args=[org.code]),
            consequence="The people who oversee the organisation are told.",
        )
        if check is not None:
            return check
    attempt(
        request,
        lambda: confirm_grant(
            grant=grant,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            confirm=request.POST.get("decision") == "confirm",
        ),
        f"{grant.freedom.name}: decision recorded.",
    )
    return redirect("dashboards:organisation", code=org.code)


@login_required
@require_POST
def close_oversight_action(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """Close an oversight action with a note (the region's team)."""
    org = get_visible_organisation_or_404(request.user, code=code)
    if not has_permission(request.user, Permission.MANAGE_ACTIONS, org):
        raise Http404("Not found.")
    item = get_object_or_404(OversightAction, pk=pk, organisation=org)
    attempt(
        request,
        lambda: close_action(action=item, actor=request.user, note=request.POST.get("note", "")),
        f"{item.title}: closed.",
    )
    return redirect("dashboards:organisation", code=org.code)

"""Pages for delegated specialised services: the services by ICBs matrix, an agreement, an
ICB's delegation status, a change request, and a region's approval queue.

Views are thin: forms check the shape of what was typed, services decide and record, and
every refusal is shown to the person with what to do. Out of scope answers 404.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.forms import form_problems
from core.pages import render_tables
from core.tables import Column, Table
from oversight.dashboards.presenters import segment_tag
from oversight.demo import DEMO_SOURCE
from systems.authorization import (
    Permission,
    get_visible_organisation_or_404,
    has_permission,
    visible_organisations,
)
from systems.context_processors import home_region
from systems.models import IntegratedCareBoard, Region

from . import selectors, services
from .models import (
    AgreementStatus,
    AgreementTemplate,
    ArrangementCategory,
    CommissioningChangeRequest,
    DelegationAgreement,
    RequestStatus,
    SpecialisedService,
)
from .presenters import conditions_in_force_table, pounds, short_icb_name, tag
from .services import DelegationError


def _visible_icb_or_404(user, code: str) -> IntegratedCareBoard:
    org = get_visible_organisation_or_404(user, code=code, kind="icb")
    return IntegratedCareBoard.objects.select_related("region").get(pk=org.pk)


def _icb_url(code: str) -> str:
    return reverse("delegation:icb", args=[code])


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text) if text else timezone.localdate()
    except ValueError as exc:
        raise Http404("Not a date.") from exc


# --- The services by ICBs matrix ----------------------------------------------------------


@login_required
def matrix(request: HttpRequest) -> HttpResponse:
    visible = visible_organisations(request.user)
    regions = list(Region.objects.filter(pk__in=visible.values("region_id")).order_by("name"))
    if not regions:
        raise Http404("Not found.")
    wanted = request.GET.get("region", "")
    region = next((r for r in regions if r.ods_code == wanted), None)
    if region is None:
        home = _home(request.user, regions)
        region = next((r for r in regions if r.ods_code == home), regions[0])
    on = _day(request.GET.get("on", ""))
    icbs = list(
        IntegratedCareBoard.objects.existing_on(on)
        .filter(region=region, pk__in=visible.values("pk"))
        .order_by("name")
    )
    cells = selectors.delegation_matrix([i.pk for i in icbs], on)
    catalogue = list(SpecialisedService.objects.order_by("name"))
    columns = [Column("service", "Service"), Column("status", "Status")] + [
        Column(f"icb_{i.pk}", short_icb_name(i.name)) for i in icbs
    ]
    rows = []
    for service in catalogue:
        row = {
            "service": service.name,
            "status": "Retained" if not service.is_delegable else f"Tranche {service.tranche}",
        }
        for icb in icbs:
            cell = cells.get((service.pk, icb.pk))
            row[f"icb_{icb.pk}"] = f"since {cell.since:%b %Y}" if cell else "NHS England"
        rows.append(row)
    table = Table(
        "matrix",
        f"Who commissions each specialised service in {region.name} on {on:%-d %B %Y} "
        "(the ICB, delegated since the month shown, or NHS England)",
        columns,
        rows,
        empty="The services catalogue is empty.",
    )
    agreements = list(
        DelegationAgreement.objects.filter(icb__in=icbs, starts_on__lte=on, ends_on__gte=on)
        .select_related("icb")
        .order_by("icb__name")
    )
    agreements_table = Table(
        "agreements",
        f"Delegation agreements covering {on:%-d %B %Y}",
        [
            Column("icb", "ICB", link="url"),
            Column("year", "Year"),
            Column("status", "Status"),
            Column("signed", "Signed by"),
        ],
        [
            {
                "icb": a.icb.name,
                "url": reverse("delegation:agreement", args=[a.pk]),
                "year": a.financial_year,
                "status": a.get_status_display(),
                "signed": f"{a.signed_by_label} on {a.signed_on:%-d %b %Y}" if a.signed_on else "",
            }
            for a in agreements
        ],
        empty="No agreements for this date.",
    )
    context = {
        "region": region,
        "regions": regions,
        "on": on,
        "icbs": icbs,
        "synthetic": selectors.has_synthetic_records(),
        "query": f"region={region.ods_code}&on={on.isoformat()}",
    }
    return render_tables(
        request,
        "delegation/matrix.html",
        context,
        [table, agreements_table],
        f"delegation-{region.ods_code}",
    )


def _home(user, regions) -> str:
    return home_region(user) or regions[0].ods_code


# --- One agreement ------------------------------------------------------------------------


@login_required
def agreement(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(DelegationAgreement.objects.select_related("icb"), pk=pk)
    _visible_icb_or_404(request.user, item.icb.code)
    item = selectors.agreement_detail(pk)
    schedule = Table(
        "schedule",
        "Services delegated by this agreement",
        [
            Column("service", "Service"),
            Column("from", "Effective from"),
            Column("to", "Effective to"),
        ],
        [
            {
                "service": line.service.name,
                "from": line.effective_from,
                "to": line.effective_to if line.effective_to else "",
            }
            for line in item.schedule.all()
        ],
        empty="No services scheduled yet.",
    )
    arrangements = Table(
        "arrangements",
        "Developmental arrangements",
        [
            Column("category", "Category"),
            Column("text", "Arrangement"),
            Column("agreed_by", "Agreed by"),
            Column("review", "Review date"),
        ],
        [
            {
                "category": d.get_category_display(),
                "text": d.text,
                "agreed_by": d.agreed_by,
                "review": d.review_date,
            }
            for d in item.developmental_arrangements.all()
        ],
        empty="No developmental arrangements.",
    )
    conditions = Table(
        "conditions",
        "Conditions (history)",
        [
            Column("condition", "Condition"),
            Column("applied", "Applied"),
            Column("because", "Because"),
            Column("lifted", "Lifted"),
            Column("why", "Why lifted"),
        ],
        [
            {
                "condition": c.rule.name,
                "applied": c.applied_on,
                "because": f"Segment {c.applied_because.segment}: {c.applied_because.source}",
                "lifted": c.lifted_on if c.lifted_on else "In force",
                "why": c.lift_reason,
            }
            for c in item.conditions.all()
        ],
        empty="No conditions have applied to this agreement.",
    )
    requests_table = _requests_table(
        "requests", "Commissioning change requests", item.change_requests.all()
    )
    context = {
        "agreement": item,
        "status_tag": tag("agreement", item.status, item.get_status_display()),
        "may_sign": item.status == AgreementStatus.DRAFT
        and has_permission(request.user, Permission.SIGN_DELEGATION_AGREEMENT, item.icb),
        "may_bring_into_force": item.status == AgreementStatus.SIGNED
        and has_permission(request.user, Permission.MANAGE_DELEGATION, item.icb),
        "may_add_arrangement": item.status != AgreementStatus.ENDED
        and has_permission(request.user, Permission.MANAGE_DELEGATION, item.icb),
        "arrangement_form": ArrangementForm(),
        "synthetic": item.created_by_label == DEMO_SOURCE,
        "query": "",
    }
    return render_tables(
        request,
        "delegation/agreement.html",
        context,
        [schedule, arrangements, conditions, requests_table],
        f"agreement-{item.icb.code}-{item.financial_year.replace('/', '-')}",
    )


def _agreement_step(request: HttpRequest, pk: int, permission: str, step, done: str):
    """One step on an agreement by someone holding ``permission`` for its ICB (404 for
    anyone else); a refusal is shown on the agreement page."""
    item = get_object_or_404(DelegationAgreement.objects.select_related("icb"), pk=pk)
    board = _visible_icb_or_404(request.user, item.icb.code)
    if not has_permission(request.user, permission, board):
        raise Http404("Not found.")
    try:
        step(actor=request.user, agreement=item)
    except DelegationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(agreement=item))
    return redirect("delegation:agreement", pk=item.pk)


@login_required
@require_POST
def sign(request: HttpRequest, pk: int) -> HttpResponse:
    return _agreement_step(
        request,
        pk,
        Permission.SIGN_DELEGATION_AGREEMENT,
        services.sign_agreement,
        "You signed {agreement}.",
    )


@login_required
@require_POST
def bring_into_force(request: HttpRequest, pk: int) -> HttpResponse:
    return _agreement_step(
        request,
        pk,
        Permission.MANAGE_DELEGATION,
        services.bring_into_force,
        "{agreement} is in force.",
    )


class ArrangementForm(forms.Form):
    category = forms.ChoiceField(choices=ArrangementCategory.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Arrangement")
    agreed_by = forms.CharField(max_length=200, label="Agreed by")
    review_date = forms.DateField(label="Review date (YYYY-MM-DD)")


@login_required
@require_POST
def add_arrangement(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(DelegationAgreement.objects.select_related("icb"), pk=pk)
    board = _visible_icb_or_404(request.user, item.icb.code)
    if not has_permission(request.user, Permission.MANAGE_DELEGATION, board):
        raise Http404("Not found.")
    form = ArrangementForm(request.POST)
    if not form.is_valid():
        for problem in form_problems(form):
            messages.error(request, problem)
    else:
        try:
            services.add_developmental_arrangement(
                actor=request.user, agreement=item, **form.cleaned_data
            )
        except DelegationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Developmental arrangement recorded.")
    return redirect("delegation:agreement", pk=item.pk)


@login_required
@require_POST
def new_agreement(request: HttpRequest, code: str) -> HttpResponse:
    board = _visible_icb_or_404(request.user, code)
    if not has_permission(request.user, Permission.MANAGE_DELEGATION, board):
        raise Http404("Not found.")
    try:
        item = services.create_agreement(
            actor=request.user, icb=board, financial_year=request.POST.get("financial_year", "")
        )
    except DelegationError as exc:
        messages.error(request, str(exc))
        return redirect("delegation:icb", code=board.code)
    messages.success(request, f"Draft prepared with {item.schedule.count()} services.")
    return redirect("delegation:agreement", pk=item.pk)


# --- An ICB's delegation status -----------------------------------------------------------


class SegmentForm(forms.Form):
    segment = forms.TypedChoiceField(choices=[(s, f"Segment {s}") for s in range(1, 6)], coerce=int)
    as_of = forms.DateField(label="Applies from (YYYY-MM-DD)")
    source = forms.CharField(max_length=300, label="Source (the letter, meeting or publication)")
    reason = forms.CharField(required=False, label="Notes")


def _requests_table(slug: str, caption: str, requests, with_icb: bool = False) -> Table:
    columns = [Column("title", "Request", link="url")]
    if with_icb:
        columns.append(Column("icb", "ICB"))
    columns += [
        Column("status", "Status"),
        Column("spend", "Annual spend effect", numeric=True),
        Column("changes", "Overall spend changes"),
        Column("start", "Intended start"),
        Column("raised", "Raised by"),
    ]
    return Table(
        slug,
        caption,
        columns,
        [
            {
                "title": r.title,
                "url": reverse("delegation:change-request", args=[r.pk]),
                "icb": r.icb.name if with_icb else "",
                "status": r.get_status_display(),
                "spend": pounds(r.annual_spend_effect),
                "changes": "Yes" if r.changes_overall_spend else "No",
                "start": r.intended_start,
                "raised": f"{r.raised_by_label}, {r.raised_at:%-d %b %Y}",
            }
            for r in requests
        ],
        empty="No change requests.",
    )


@login_required
def icb(request: HttpRequest, code: str) -> HttpResponse:
    board = _visible_icb_or_404(request.user, code)
    may_record = has_permission(request.user, Permission.RECORD_ICB_SEGMENT, board)
    form = SegmentForm(initial={"as_of": timezone.localdate()})
    if request.method == "POST":
        if not may_record:
            raise Http404("Not found.")
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                services.record_icb_segment(actor=request.user, icb=board, **form.cleaned_data)
            except DelegationError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Segment recorded; the delegation condition follows it.")
                return redirect("delegation:icb", code=board.code)
    history = list(board.segments.select_related("run", "period")[:20])
    current = history[0] if history else None
    agreements = list(board.delegation_agreements.order_by("-financial_year"))
    agreements_table = Table(
        "agreements",
        "Delegation agreements",
        [
            Column("year", "Year", link="url"),
            Column("status", "Status"),
            Column("signed", "Signed by"),
            Column("ended", "Ended"),
        ],
        [
            {
                "year": a.financial_year,
                "url": reverse("delegation:agreement", args=[a.pk]),
                "status": a.get_status_display(),
                "signed": f"{a.signed_by_label} on {a.signed_on:%-d %b %Y}" if a.signed_on else "",
                "ended": f"{a.ended_on:%-d %b %Y}: {a.end_reason}" if a.ended_on else "",
            }
            for a in agreements
        ],
        empty="No delegation agreements recorded.",
    )
    segments_table = Table(
        "segments",
        "Segment history (the first row applies)",
        [
            Column("segment", "Segment", numeric=True),
            Column("as_of", "Applies from"),
            Column("source", "Source"),
            Column("by", "Recorded by"),
        ],
        [
            {
                "segment": s.segment,
                "as_of": s.as_of,
                "source": s.source,
                "by": s.recorded_by_label,
            }
            for s in history
        ],
        empty="No segment computed or recorded yet.",
    )
    requests_table = _requests_table(
        "requests",
        "Commissioning change requests",
        board.change_requests.select_related("icb")[:50],
    )
    in_force = next((a for a in agreements if a.status == AgreementStatus.IN_FORCE), None)
    condition = (
        selectors.open_conditions([board.pk]).filter(agreement=in_force).first()
        if in_force
        else None
    )
    context = {
        "icb": board,
        "current": current,
        "current_tag": segment_tag(current.segment if current else None),
        "in_force": in_force,
        "condition": condition,
        "collaborations": selectors.collaborations_for(board.pk),
        "form": form,
        "may_record": may_record,
        "may_prepare": has_permission(request.user, Permission.MANAGE_DELEGATION, board),
        "years_to_prepare": sorted(
            set(AgreementTemplate.objects.values_list("financial_year", flat=True))
            - {a.financial_year for a in agreements}
        ),
        "may_raise": in_force is not None
        and has_permission(request.user, Permission.RAISE_CHANGE_REQUEST, board),
        "synthetic": selectors.has_synthetic_records(),
        "query": "",
    }
    return render_tables(
        request,
        "delegation/icb.html",
        context,
        [agreements_table, segments_table, requests_table],
        f"delegation-{board.code}",
    )


# --- Change requests ----------------------------------------------------------------------


class ChangeRequestForm(forms.Form):
    title = forms.CharField(max_length=200)
    services = forms.ModelMultipleChoiceField(
        queryset=SpecialisedService.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose the delegated services the change affects."},
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    annual_spend_effect = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        label="Estimated effect on annual spend, in pounds (negative for a saving)",
    )
    changes_overall_spend = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")],
        widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
        label="Does it change the overall spend of the specialised services allocation?",
    )
    intended_start = forms.DateField(label="Intended start (YYYY-MM-DD)")

    def __init__(self, *args, agreement: DelegationAgreement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = SpecialisedService.objects.filter(
            pk__in=agreement.schedule.values("service_id")
        ).order_by("name")


@login_required
def new_change_request(request: HttpRequest, code: str) -> HttpResponse:
    board = _visible_icb_or_404(request.user, code)
    if not has_permission(request.user, Permission.RAISE_CHANGE_REQUEST, board):
        raise Http404("Not found.")
    in_force = selectors.in_force_agreement(board.pk)
    if in_force is None:
        messages.error(
            request,
            f"{board.name} has no delegation agreement in force, so there is nothing to change "
            "through a request.",
        )
        return redirect("delegation:icb", code=board.code)
    form = ChangeRequestForm(agreement=in_force)
    if request.method == "POST":
        form = ChangeRequestForm(request.POST, agreement=in_force)
        if form.is_valid():
            try:
                item = services.raise_change_request(
                    actor=request.user, icb=board, **form.cleaned_data
                )
            except DelegationError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Request raised: {item.get_status_display()}.")
                return redirect("delegation:change-request", pk=item.pk)
    condition = selectors.open_conditions([board.pk]).first()
    return render(
        request,
        "delegation/change_request_form.html",
        {"icb": board, "agreement": in_force, "form": form, "condition": condition},
    )


def _visible_request_or_404(user, pk: int) -> CommissioningChangeRequest:
    item = get_object_or_404(
        CommissioningChangeRequest.objects.select_related("icb", "agreement", "condition__rule"),
        pk=pk,
    )
    _visible_icb_or_404(user, item.icb.code)
    return item


@login_required
def change_request(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_request_or_404(request.user, pk)
    user = request.user
    context = {
        "item": item,
        "status_tag": tag("request", item.status, item.get_status_display()),
        "spend": pounds(item.annual_spend_effect),
        "services": list(item.services.all()),
        "events": list(item.events.all()),
        "may_decide": item.status == RequestStatus.AWAITING_DECISION
        and has_permission(user, Permission.DECIDE_CHANGE_REQUEST, item.icb),
        "may_start": item.status in (RequestStatus.APPROVED, RequestStatus.NOTED)
        and (
            has_permission(user, Permission.RAISE_CHANGE_REQUEST, item.icb)
            or has_permission(user, Permission.DECIDE_CHANGE_REQUEST, item.icb)
        ),
        "blocked": item.status == RequestStatus.AWAITING_DECISION,
    }
    return render(request, "delegation/change_request.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_request_or_404(request.user, pk)
    if not has_permission(request.user, Permission.DECIDE_CHANGE_REQUEST, item.icb):
        raise Http404("Not found.")
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "Choose approve or reject.")
    else:
        try:
            services.decide_change_request(
                actor=request.user,
                request=item,
                approve=decision == "approve",
                reason=request.POST.get("reason", ""),
            )
        except DelegationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{item.title}: {decision}d.")
    back = request.POST.get("next", "")
    if back == "queue":
        return redirect("delegation:approvals", ods_code=item.icb.region.ods_code)
    return redirect("delegation:change-request", pk=item.pk)


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_request_or_404(request.user, pk)
    if not (
        has_permission(request.user, Permission.RAISE_CHANGE_REQUEST, item.icb)
        or has_permission(request.user, Permission.DECIDE_CHANGE_REQUEST, item.icb)
    ):
        raise Http404("Not found.")
    try:
        services.start_change_request(actor=request.user, request=item)
    except DelegationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{item.title}: marked as started.")
    return redirect("delegation:change-request", pk=item.pk)


# --- A region's approval queue ------------------------------------------------------------


@login_required
def approvals(request: HttpRequest, ods_code: str) -> HttpResponse:
    region = get_object_or_404(Region, ods_code=ods_code)
    icb_ids = list(
        visible_organisations(request.user)
        .filter(region=region, kind="icb")
        .values_list("pk", flat=True)
    )
    if not icb_ids:
        raise Http404("Not found.")
    waiting = list(selectors.awaiting_decision(icb_ids))
    may_decide = bool(waiting) and has_permission(
        request.user, Permission.DECIDE_CHANGE_REQUEST, waiting[0].icb
    )
    conditions = list(selectors.open_conditions(icb_ids))
    conditions_table = conditions_in_force_table(conditions)
    recent = list(
        CommissioningChangeRequest.objects.filter(icb_id__in=icb_ids, decided_at__isnull=False)
        .select_related("icb")
        .order_by("-decided_at")[:20]
    )
    decided = Table(
        "decided",
        "Recent decisions",
        [
            Column("title", "Request", link="url"),
            Column("icb", "ICB"),
            Column("status", "Decision"),
            Column("reason", "Reason"),
            Column("by", "Decided by"),
        ],
        [
            {
                "title": r.title,
                "url": reverse("delegation:change-request", args=[r.pk]),
                "icb": r.icb.name,
                "status": r.get_status_display(),
                "reason": r.decision_reason,
                "by": f"{r.decided_by_label}, {r.decided_at:%-d %b %Y}",
            }
            for r in recent
        ],
        empty="No decisions yet.",
    )
    waiting_table = _requests_table(
        "waiting", "Change requests awaiting a decision", waiting, with_icb=True
    )
    flagged = selectors.without_collaboration(icb_ids)
    affected = sum((r.annual_spend_effect for r in waiting), start=0)
    context = {
        "region": region,
        "waiting": [
            {
                "item": r,
                "spend": pounds(r.annual_spend_effect),
                "services": ", ".join(s.name for s in r.services.all()),
            }
            for r in waiting
        ],
        "may_decide": may_decide,
        "affected": pounds(affected) if waiting else "£0",
        "flagged": flagged,
        "synthetic": selectors.has_synthetic_records(),
        "query": "",
    }
    return render_tables(
        request,
        "delegation/approvals.html",
        context,
        [waiting_table, conditions_table, decided],
        f"approvals-{region.ods_code}",
    )

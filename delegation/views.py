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

from core.forms import DateField, ServiceForm, form_problems
from core.pages import attempt, confirmation, render_tables
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

from . import presenters, selectors, services
from .models import (
    AgreementStatus,
    ArrangementCategory,
    CommissioningChangeRequest,
    DelegationAgreement,
    RequestStatus,
    SpecialisedService,
)
from .presenters import pounds, tag
from .services import DelegationError


def _visible_icb_or_404(user, code: str) -> IntegratedCareBoard:
    org = get_visible_organisation_or_404(user, code=code, kind="icb")
    return IntegratedCareBoard.objects.select_related("region").get(pk=org.pk)


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text) if text else timezone.localdate()
    except ValueError as exc:
        raise Http404("Not a date.") from exc


# --- The services by ICBs matrix ----------------------------------------------------------


@login_required
def matrix(request: HttpRequest) -> HttpResponse:
    visible = visible_organisations(request.user)
    regions = selectors.regions_of(visible)
    if not regions:
        raise Http404("Not found.")
    wanted = request.GET.get("region", "")
    region = next((r for r in regions if r.ods_code == wanted), None)
    if region is None:  # none asked for, or one outside their scope: their own region
        home = home_region(request.user) or regions[0].ods_code
        region = next((r for r in regions if r.ods_code == home), regions[0])
    on = _day(request.GET.get("on", ""))
    icbs = selectors.icbs_in_region(region, visible, on)
    cells = selectors.delegation_matrix([i.pk for i in icbs], on)
    tables = [
        presenters.matrix_table(region, on, icbs, selectors.service_catalogue(), cells),
        presenters.agreements_covering_table(selectors.agreements_covering(icbs, on), on),
    ]
    context = {
        "region": region,
        "regions": regions,
        "on": on,
        "icbs": icbs,
        "synthetic": selectors.has_synthetic_records(),
        "query": f"region={region.ods_code}&on={on.isoformat()}",
    }
    return render_tables(
        request, "delegation/matrix.html", context, tables, f"delegation-{region.ods_code}"
    )


# --- One agreement ------------------------------------------------------------------------


@login_required
def agreement(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(DelegationAgreement.objects.select_related("icb"), pk=pk)
    _visible_icb_or_404(request.user, item.icb.code)
    item = selectors.agreement_detail(pk)
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
        presenters.agreement_tables(item),
        f"agreement-{item.icb.code}-{item.financial_year.replace('/', '-')}",
    )


def _agreement_step(request: HttpRequest, pk: int, permission: str, step, done: str):
    """One step on an agreement by someone holding ``permission`` for its ICB (404 for
    anyone else); a refusal is shown on the agreement page."""
    item = get_object_or_404(DelegationAgreement.objects.select_related("icb"), pk=pk)
    board = _visible_icb_or_404(request.user, item.icb.code)
    if not has_permission(request.user, permission, board):
        raise Http404("Not found.")
    attempt(request, lambda: step(actor=request.user, agreement=item), done.format(agreement=item))
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


class ArrangementForm(ServiceForm):
    category = forms.ChoiceField(choices=ArrangementCategory.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Arrangement")
    agreed_by = forms.CharField(max_length=200, label="Agreed by")
    review_date = DateField(label="Review date")


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
        attempt(
            request,
            lambda: services.add_developmental_arrangement(
                actor=request.user, agreement=item, **form.cleaned_data
            ),
            "Developmental arrangement recorded.",
        )
    return redirect("delegation:agreement", pk=item.pk)


@login_required
@require_POST
def new_agreement(request: HttpRequest, code: str) -> HttpResponse:
    board = _visible_icb_or_404(request.user, code)
    if not has_permission(request.user, Permission.MANAGE_DELEGATION, board):
        raise Http404("Not found.")
    item = attempt(
        request,
        lambda: services.create_agreement(
            actor=request.user, icb=board, financial_year=request.POST.get("financial_year", "")
        ),
        lambda draft: f"Draft prepared with {draft.schedule.count()} services.",
    )
    if item is None:
        return redirect("delegation:icb", code=board.code)
    return redirect("delegation:agreement", pk=item.pk)


# --- An ICB's delegation status -----------------------------------------------------------


class SegmentForm(ServiceForm):
    segment = forms.TypedChoiceField(choices=[(s, f"Segment {s}") for s in range(1, 6)], coerce=int)
    as_of = DateField(label="Applies from")
    source = forms.CharField(max_length=300, label="Source (the letter, meeting or publication)")
    reason = forms.CharField(required=False, label="Notes")


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
    record = selectors.icb_record(board)
    current = record.segments[0] if record.segments else None
    context = {
        "icb": board,
        "current": current,
        "current_tag": segment_tag(current.segment if current else None),
        "in_force": record.in_force,
        "condition": record.condition,
        "collaborations": record.collaborations,
        "form": form,
        "may_record": may_record,
        "may_prepare": has_permission(request.user, Permission.MANAGE_DELEGATION, board),
        "years_to_prepare": record.years_to_prepare,
        "may_raise": record.in_force is not None
        and has_permission(request.user, Permission.RAISE_CHANGE_REQUEST, board),
        "synthetic": selectors.has_synthetic_records(),
        "query": "",
    }
    return render_tables(
        request,
        "delegation/icb.html",
        context,
        presenters.icb_tables(record),
        f"delegation-{board.code}",
    )


# --- Change requests ----------------------------------------------------------------------


class ChangeRequestForm(ServiceForm):
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
    intended_start = DateField(label="Intended start")

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
    back = request.POST.get("next", "")
    back_url = (
        reverse("delegation:approvals", args=[item.icb.region.ods_code])
        if back == "queue"
        else reverse("delegation:change-request", args=[item.pk])
    )
    if decision in ("approve", "reject") and request.POST.get("reason", "").strip():
        check = confirmation(
            request,
            action=f"{decision} this change request",
            facts=[
                ("Request", item.title),
                ("ICB", item.icb.name),
                ("Decision", decision.capitalize()),
                ("Reason", request.POST.get("reason", "")),
            ],
            back=back_url,
            consequence=f"The ICB is told it was {decision}d.",
        )
        if check is not None:
            return check
    if decision not in ("approve", "reject"):
        messages.error(request, "Choose approve or reject.")
    else:
        attempt(
            request,
            lambda: services.decide_change_request(
                actor=request.user,
                request=item,
                approve=decision == "approve",
                reason=request.POST.get("reason", ""),
            ),
            f"{item.title}: {decision}d.",
        )
    return redirect(back_url)


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_request_or_404(request.user, pk)
    if not (
        has_permission(request.user, Permission.RAISE_CHANGE_REQUEST, item.icb)
        or has_permission(request.user, Permission.DECIDE_CHANGE_REQUEST, item.icb)
    ):
        raise Http404("Not found.")
    attempt(
        request,
        lambda: services.start_change_request(actor=request.user, request=item),
        f"{item.title}: marked as started.",
    )
    return redirect("delegation:change-request", pk=item.pk)


# --- A region's approval queue ------------------------------------------------------------


@login_required
def approvals(request: HttpRequest, ods_code: str) -> HttpResponse:
    region = get_object_or_404(Region, ods_code__iexact=ods_code)
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
    tables = [
        presenters.requests_table(
            "waiting", "Change requests awaiting a decision", waiting, with_icb=True
        ),
        presenters.conditions_in_force_table(selectors.open_conditions(icb_ids)),
        presenters.decided_table(selectors.recent_decisions(icb_ids)),
    ]
    affected = sum((r.annual_spend_effect for r in waiting), start=0)
    context = {
        "region": region,
        "waiting": presenters.waiting_items(waiting),
        "may_decide": may_decide,
        "affected": pounds(affected) if waiting else "£0",
        "flagged": selectors.without_collaboration(icb_ids),
        "synthetic": selectors.has_synthetic_records(),
        "query": "",
    }
    return render_tables(
        request, "delegation/approvals.html", context, tables, f"approvals-{region.ods_code}"
    )

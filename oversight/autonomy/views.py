"""The oversight decisions page for one organisation: Provider Improvement Programme entry
and exit, capability assessments, CQC overall ratings and Advanced Foundation Trust steps,
each recorded by the people allowed to, with a reason, through the services."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import DateField, ServiceForm, form_problems
from systems.authorization import (
    INPUT_AUTHORITY,
    Input,
    Permission,
    get_visible_organisation_or_404,
    has_permission,
    may_supply,
)
from systems.models import OrganisationKind

from ..models import ProgrammeMembership
from .maturity import maturity_policy, record_maturity_assessment
from .models import (
    AutonomyPolicy,
    CapabilityAssessment,
    CqcRating,
    FreedomGrant,
    MaturityAssessment,
)
from .services import (
    AFT,
    AutonomyError,
    enter_programme,
    leave_programme,
    record_aft_step,
    record_capability,
    record_cqc_rating,
)


class ProgrammeForm(ServiceForm):
    on = DateField(label="Date")
    reason = forms.CharField(label="Reason for the decision")


class CqcForm(ServiceForm):
    rating = forms.ChoiceField(choices=CqcRating._meta.get_field("rating").choices)
    published_on = DateField(label="Published on")
    source = forms.CharField(required=False, label="Source (report or link)")


class AftForm(ServiceForm):
    nominated_on = DateField(required=False, label="Nominated on")
    panel_decision = forms.ChoiceField(
        required=False,
        choices=[("", "No decision yet"), ("approved", "Approved"), ("rejected", "Rejected")],
    )
    panel_decided_on = DateField(required=False, label="Panel decided on")
    reassessment_due = DateField(required=False, label="Reassessment due")
    reason = forms.CharField(required=False)


def _capability_form(policy: AutonomyPolicy | None, data=None) -> forms.Form:
    scale = list(policy.capability_scale) if policy else ["1", "2", "3", "4"]
    levels = [(i, f"{i}: {label}") for i, label in enumerate(scale, start=1)]
    fields: dict[str, forms.Field] = {
        "financial_year": forms.CharField(label="Financial year (e.g. 2026/27)"),
        "assessor": forms.ChoiceField(
            choices=CapabilityAssessment._meta.get_field("assessor").choices
        ),
        "overall": forms.TypedChoiceField(choices=levels, coerce=int, label="Overall"),
    }
    for i, area in enumerate(policy.capability_areas if policy else []):
        fields[f"area_{i}"] = forms.TypedChoiceField(
            choices=[("", "Not assessed"), *levels], coerce=int, required=False, label=area
        )
    form_class = type("CapabilityForm", (forms.Form,), fields)
    return form_class(data)


def _maturity_form(data=None) -> forms.Form:
    """One rating and its evidence per criterion of the policy, the date, and an optional
    level that overrides the lowest rating (with its reason)."""
    scale, criteria = maturity_policy()
    levels = [(level, level.capitalize()) for level in scale]
    fields: dict[str, forms.Field] = {"assessed_on": DateField(label="Assessed on")}
    for i, criterion in enumerate(criteria):
        fields[f"rating_{i}"] = forms.ChoiceField(
            choices=[("", "Choose a rating"), *levels], label=criterion["name"]
        )
        fields[f"evidence_{i}"] = forms.CharField(
            required=False, label=f"Evidence: {criterion['name']}"
        )
    fields["level"] = forms.ChoiceField(
        choices=[("", "The lowest rating"), *levels],
        required=False,
        label="Level that applies",
    )
    fields["reason"] = forms.CharField(
        required=False, label="Reason, when the level is not the lowest rating"
    )
    return type("MaturityForm", (ServiceForm,), fields)(data)


@login_required
def decisions(request: HttpRequest, code: str) -> HttpResponse:
    org = get_visible_organisation_or_404(request.user, code=code)
    policy = AutonomyPolicy.objects.first()
    user = request.user
    context = {
        "org": org,
        "stays": list(ProgrammeMembership.objects.filter(organisation=org).order_by("-entered_on")),
        "in_programme": ProgrammeMembership.objects.filter(
            organisation=org, left_on__isnull=True
        ).exists(),
        "capabilities": list(CapabilityAssessment.objects.filter(organisation=org)[:12]),
        "scale": list(policy.capability_scale) if policy else [],
        "ratings": list(CqcRating.objects.filter(organisation=org)[:10]),
        "aft_grants": list(
            FreedomGrant.objects.filter(organisation=org, freedom__slug=AFT).select_related(
                "freedom"
            )
        ),
        "may_programme": may_supply(user, Input.PROGRAMME, org),
        "may_cqc": may_supply(user, Input.RATING, org),
        "may_capability": has_permission(user, Permission.RECORD_ICB_SEGMENT, org),
        "may_national": has_permission(user, Permission.MANAGE_FREEDOMS_CATALOGUE, org),
        "programme_form": ProgrammeForm(initial={"on": datetime.date.today()}),
        "capability_form": _capability_form(policy),
        "cqc_form": CqcForm(),
        "aft_form": AftForm(),
        "is_icb": org.kind == OrganisationKind.ICB,
        "maturity": list(MaturityAssessment.objects.filter(icb=org)[:12]),
        "maturity_form": _maturity_form(),
        "may_maturity": has_permission(user, Permission.RECORD_ICB_SEGMENT, org),
    }
    return render(request, "autonomy/decisions.html", context)


def _guard(request: HttpRequest, code: str, permission: str):
    org = get_visible_organisation_or_404(request.user, code=code)
    if not has_permission(request.user, permission, org):
        raise Http404("Not found.")
    return org


def _finish(request, org, done: str, error: Exception | None = None, problems=()):
    for problem in problems:
        messages.error(request, problem)
    if error is not None:
        messages.error(request, str(error))
    if not problems and error is None:
        messages.success(request, done)
    return redirect("autonomy:decisions", code=org.code)


@login_required
@require_POST
def programme(request: HttpRequest, code: str) -> HttpResponse:
    org = _guard(request, code, INPUT_AUTHORITY[Input.PROGRAMME])
    form = ProgrammeForm(request.POST)
    if not form.is_valid():
        return _finish(request, org, "", problems=form_problems(form))
    leaving = request.POST.get("step") == "leave"
    try:
        if leaving:
            leave_programme(
                organisation=org,
                left_on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        else:
            enter_programme(
                organisation=org,
                entered_on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
    except AutonomyError as exc:
        return _finish(request, org, "", exc)
    return _finish(
        request,
        org,
        "Exit from the programme recorded; it applies from the next run."
        if leaving
        else "Entry to the programme recorded: live freedoms are revoked, and the next run "
        "places it in segment 5.",
    )


@login_required
@require_POST
def capability(request: HttpRequest, code: str) -> HttpResponse:
    org = _guard(request, code, Permission.RECORD_ICB_SEGMENT)
    policy = AutonomyPolicy.objects.first()
    form = _capability_form(policy, request.POST)
    if not form.is_valid():
        return _finish(request, org, "", problems=form_problems(form))
    areas = {
        area: form.cleaned_data[f"area_{i}"]
        for i, area in enumerate(policy.capability_areas if policy else [])
        if form.cleaned_data.get(f"area_{i}") not in (None, "")
    }
    try:
        record_capability(
            organisation=org,
            financial_year=form.cleaned_data["financial_year"],
            assessor=form.cleaned_data["assessor"],
            areas=areas,
            overall=form.cleaned_data["overall"],
            actor=request.user,
        )
    except AutonomyError as exc:
        return _finish(request, org, "", exc)
    return _finish(request, org, "Capability assessment recorded; it applies from the next run.")


@login_required
@require_POST
def maturity(request: HttpRequest, code: str) -> HttpResponse:
    org = _guard(request, code, Permission.RECORD_ICB_SEGMENT)
    form = _maturity_form(request.POST)
    if not form.is_valid():
        return _finish(request, org, "", problems=form_problems(form))
    _, criteria = maturity_policy()
    ratings = {
        c["slug"]: {
            "rating": form.cleaned_data[f"rating_{i}"],
            "evidence": form.cleaned_data[f"evidence_{i}"],
        }
        for i, c in enumerate(criteria)
    }
    try:
        row = record_maturity_assessment(
            icb=org,
            assessed_on=form.cleaned_data["assessed_on"],
            ratings=ratings,
            level=form.cleaned_data["level"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except AutonomyError as exc:
        return _finish(request, org, "", exc)
    return _finish(
        request, org, f"System maturity recorded: {row.level}; it applies from the next run."
    )


@login_required
@require_POST
def cqc(request: HttpRequest, code: str) -> HttpResponse:
    org = _guard(request, code, INPUT_AUTHORITY[Input.RATING])
    form = CqcForm(request.POST)
    if not form.is_valid():
        return _finish(request, org, "", problems=form_problems(form))
    try:
        record_cqc_rating(organisation=org, actor=request.user, **form.cleaned_data)
    except AutonomyError as exc:
        return _finish(request, org, "", exc)
    return _finish(request, org, "CQC overall rating recorded; it applies from the next run.")


@login_required
@require_POST
def aft(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    org = _guard(request, code, Permission.MANAGE_FREEDOMS_CATALOGUE)
    grant = get_object_or_404(FreedomGrant, pk=pk, organisation=org)
    form = AftForm(request.POST)
    if not form.is_valid():
        return _finish(request, org, "", problems=form_problems(form))
    try:
        record_aft_step(grant=grant, actor=request.user, **form.cleaned_data)
    except AutonomyError as exc:
        return _finish(request, org, "", exc)
    return _finish(request, org, "Advanced Foundation Trust step recorded.")

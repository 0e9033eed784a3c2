"""The compact pages: the compacts in the viewer's scope, and one system's compact for a
year with its commitments (standing, trend and history), support requested, meetings and
status; forms for the people allowed to change them. Every change goes through the
services, which check, refuse with a reason and audit."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from core.forms import DateField, ServiceForm, form_problems
from core.pages import attempt, render_tables
from systems.authorization import (
    Permission,
    get_visible_organisation_or_404,
    has_permission,
    visible_organisations,
)
from systems.models import OrganisationKind

from ..selectors import latest_maturity
from . import pages, selectors, services
from .models import (
    COMPACT_STEPS,
    Commitment,
    Compact,
    CompactStatus,
    Direction,
    SupportRequest,
    SupportStatus,
)
from .tracking import preview


class OpenCompactForm(ServiceForm):
    icb = forms.ChoiceField(label="System (ICB)")
    financial_year = forms.CharField(max_length=7, label="Financial year, for example 2026/27")


class MeetingForm(ServiceForm):
    held_on = DateField(label="Held on")
    attendees = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Attendees: one a line, as name, role, organisation",
    )
    minutes_reference = forms.CharField(required=False, max_length=200, label="Minutes reference")


class CommitmentForm(ServiceForm):
    organisation = forms.ChoiceField(label="Organisation")
    title = forms.CharField(label="What is committed to", max_length=300)
    detail = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="How it will be delivered"
    )
    metric_id = forms.ChoiceField(required=False, label="Metric it is measured by")
    direction = forms.ChoiceField(
        required=False, choices=[("", "Not measured by a metric"), *Direction.choices]
    )
    target = forms.FloatField(required=False, label="Target")
    q1 = forms.FloatField(required=False, label="Trajectory: Q1")
    q2 = forms.FloatField(required=False, label="Trajectory: Q2")
    q3 = forms.FloatField(required=False, label="Trajectory: Q3")
    q4 = forms.FloatField(required=False, label="Trajectory: Q4")
    due_on = DateField(required=False, label="Due by")
    accountable_name = forms.CharField(max_length=150, label="Accountable person")
    accountable_role = forms.CharField(max_length=150, label="Their role")
    accountable_email = forms.EmailField(required=False, label="Their e-mail (to tell them)")


class DecideForm(ServiceForm):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("withdraw", "Withdraw")])
    reason = forms.CharField(required=False, label="Reason")


class SupportForm(ServiceForm):
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Support asked of NHS England"
    )
    owner = forms.CharField(required=False, max_length=150, label="Owner in NHS England")


class SupportUpdateForm(ServiceForm):
    status = forms.ChoiceField(choices=SupportStatus.choices)
    owner = forms.CharField(required=False, max_length=150, label="Owner (leave blank to keep)")
    reason = forms.CharField(label="Reason")


class StatusForm(ServiceForm):
    to = forms.ChoiceField(label="New status")
    reason = forms.CharField(label="Reason")


def _set_choices(form: forms.Form, name: str, choices: list) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def _year(slug: str) -> str:
    return slug.replace("-", "/")


def _compact(request: HttpRequest, code: str, year: str) -> Compact:
    icb = get_visible_organisation_or_404(request.user, code=code)
    if icb.kind != OrganisationKind.ICB:
        raise Http404("Not a system.")
    return get_object_or_404(
        Compact.objects.select_related("icb", "icb__region", "agreed_at"),
        icb=icb,
        financial_year=_year(year),
    )


@login_required
def compact_list(request: HttpRequest) -> HttpResponse:
    icbs = list(
        visible_organisations(request.user).filter(kind=OrganisationKind.ICB).order_by("name")
    )
    years = sorted(
        set(Compact.objects.filter(icb__in=icbs).values_list("financial_year", flat=True)),
        reverse=True,
    )
    year = request.GET.get("year") or (years[0] if years else "")
    if year and year not in years:
        raise Http404("No compacts for that year.")
    ids = [i.pk for i in icbs]
    maturity = {k: v.level for k, v in latest_maturity(ids).items()}
    today = datetime.date.today()
    table = pages.compacts_table(
        selectors.compacts_overview(ids, year, today).summaries if year else [],
        maturity,
        today,
        f"Compacts for {year}" if year else "Compacts",
    )
    may_open = has_permission(request.user, Permission.MANAGE_COMPACTS)
    form = OpenCompactForm()
    _set_choices(form, "icb", [("", "Choose a system"), *[(i.code, i.name) for i in icbs]])
    context = {"years": years, "year": year, "may_open": may_open, "form": form}
    return render_tables(request, "compacts/list.html", context, [table], "compacts")


@login_required
@require_POST
def open_compact(request: HttpRequest) -> HttpResponse:
    if not has_permission(request.user, Permission.MANAGE_COMPACTS):
        raise Http404("Not found.")
    form = OpenCompactForm(request.POST)
    _set_choices(form, "icb", [(request.POST.get("icb", ""), "")])
    if not form.is_valid():
        for problem in form_problems(form):
            messages.error(request, problem)
        return redirect("compacts:list")
    icb = get_visible_organisation_or_404(request.user, code=form.cleaned_data["icb"])
    compact = attempt(
        request,
        lambda: services.create_compact(
            icb=icb, financial_year=form.cleaned_data["financial_year"].strip(), actor=request.user
        ),
        lambda c: f"Compact opened for {c.icb.name}, {c.financial_year}.",
    )
    return redirect(pages.compact_url(compact)) if compact else redirect("compacts:list")


def _commitment_form(compact: Compact, data=None) -> CommitmentForm:
    form = CommitmentForm(data)
    _set_choices(
        form, "organisation", [(o.code, o.name) for o in compact.parties.order_by("kind", "name")]
    )
    names = services.metric_names(compact.financial_year)
    _set_choices(
        form,
        "metric_id",
        [("", "None: tracked by people")] + [(k, f"{k}: {v}") for k, v in sorted(names.items())],
    )
    return form


@login_required
def compact(request: HttpRequest, code: str, year: str) -> HttpResponse:
    item = _compact(request, code, year)
    user = request.user
    views = selectors.commitments_with_history(item)
    run = selectors.provisional_run(item.financial_year)
    judged = preview(run, item) if run else {}
    label = f"Preview: provisional run {run.pk} ({run.period.label})" if run else ""
    tables = [
        pages.commitments_table(views, judged, label),
        pages.history_table(views),
        pages.support_table(item),
    ]
    may_manage = has_permission(user, Permission.MANAGE_COMPACTS, item.icb)
    status_form = StatusForm()
    labels = dict(CompactStatus.choices)
    _set_choices(status_form, "to", [(s, labels[s]) for s in COMPACT_STEPS[item.status]])
    meeting_form = MeetingForm(initial={"held_on": datetime.date.today()})
    maturity = latest_maturity([item.icb_id]).get(item.icb_id)
    context = {
        "compact": item,
        "org": item.icb,
        "parties": list(item.parties.order_by("kind", "name")),
        "meetings": list(item.meetings.all()),
        "events": list(item.events.all()),
        "proposed": [v.commitment for v in views if v.commitment.status == "proposed"],
        "late": item.is_late(datetime.date.today()),
        "maturity": maturity,
        "may_manage": may_manage,
        "may_propose": has_permission(user, Permission.PROPOSE_COMMITMENT, item.icb),
        "open": item.status != CompactStatus.CLOSED,
        "status_form": status_form,
        "meeting_form": meeting_form,
        "commitment_form": _commitment_form(item),
        "support_form": SupportForm(),
        "support_update_form": SupportUpdateForm(),
        "decide_form": DecideForm(),
        "support_rows": list(item.support.all()),
        "preview_run": run,
    }
    name = f"compact-{item.icb.code}-{item.year_slug}"
    return render_tables(request, "compacts/compact.html", context, tables, name)


def _guard(request: HttpRequest, code: str, year: str, permission: str) -> Compact:
    item = _compact(request, code, year)
    if not has_permission(request.user, permission, item.icb):
        raise Http404("Not found.")
    return item


def _submit(
    request: HttpRequest,
    item: Compact,
    form: forms.Form,
    step: Callable[[dict[str, Any]], Any],
    done: str | Callable[[Any], str],
) -> HttpResponse:
    """A compact form's answer: its problems, or the service ``step`` run on the cleaned
    data (a refusal shown with its reason); back to the compact page either way."""
    if form.is_valid():
        attempt(request, lambda: step(form.cleaned_data), done)
    else:
        for problem in form_problems(form):
            messages.error(request, problem)
    return redirect(pages.compact_url(item))


def _attendees(text: str) -> list[dict[str, str]]:
    """One attendee a line: name, role, organisation (the organisation may hold commas)."""
    rows = [[p.strip() for p in line.split(",", 2)] for line in text.splitlines() if line.strip()]
    return [dict(zip(("name", "role", "organisation"), row, strict=False)) for row in rows]


@login_required
@require_POST
def record_meeting(request: HttpRequest, code: str, year: str) -> HttpResponse:
    item = _guard(request, code, year, Permission.MANAGE_COMPACTS)
    return _submit(
        request,
        item,
        MeetingForm(request.POST),
        lambda d: services.record_meeting(
            compact=item,
            held_on=d["held_on"],
            attendees=_attendees(d["attendees"]),
            minutes_reference=d["minutes_reference"],
            actor=request.user,
        ),
        lambda m: (
            f"Board-to-board meeting of {m.held_on:%d %B %Y} recorded "
            f"({len(m.attendees)} attendees)."
        ),
    )


def _propose(request: HttpRequest, item: Compact, d: dict[str, Any]) -> Commitment:
    return services.propose_commitment(
        compact=item,
        organisation=item.parties.get(code=d["organisation"]),
        title=d["title"],
        detail=d["detail"],
        metric_id=d["metric_id"],
        target=d["target"],
        direction=d["direction"],
        trajectory={f"Q{q}": d[f"q{q}"] for q in range(1, 5) if d[f"q{q}"] is not None},
        due_on=d["due_on"],
        accountable_name=d["accountable_name"],
        accountable_role=d["accountable_role"],
        accountable_email=d["accountable_email"],
        actor=request.user,
    )


@login_required
@require_POST
def add_commitment(request: HttpRequest, code: str, year: str) -> HttpResponse:
    item = _guard(request, code, year, Permission.PROPOSE_COMMITMENT)
    return _submit(
        request,
        item,
        _commitment_form(item, request.POST),
        lambda d: _propose(request, item, d),
        lambda c: f"Commitment {'added' if c.status == 'accepted' else 'proposed'}: {c.title}.",
    )


@login_required
@require_POST
def decide_commitment(request: HttpRequest, code: str, year: str, pk: int) -> HttpResponse:
    item = _guard(request, code, year, Permission.MANAGE_COMPACTS)
    commitment = get_object_or_404(Commitment, pk=pk, compact=item)
    return _submit(
        request,
        item,
        DecideForm(request.POST),
        lambda d: services.decide_commitment(
            commitment=commitment,
            accept=d["decision"] == "accept",
            reason=d["reason"],
            actor=request.user,
        ),
        lambda c: f"{c.title}: {c.get_status_display().lower()}.",
    )


@login_required
@require_POST
def request_support(request: HttpRequest, code: str, year: str) -> HttpResponse:
    item = _guard(request, code, year, Permission.PROPOSE_COMMITMENT)
    return _submit(
        request,
        item,
        SupportForm(request.POST),
        lambda d: services.request_support(compact=item, actor=request.user, **d),
        "Support request recorded.",
    )


@login_required
@require_POST
def update_support(request: HttpRequest, code: str, year: str, pk: int) -> HttpResponse:
    item = _guard(request, code, year, Permission.MANAGE_COMPACTS)
    support = get_object_or_404(SupportRequest, pk=pk, compact=item)
    return _submit(
        request,
        item,
        SupportUpdateForm(request.POST),
        lambda d: services.update_support(support=support, actor=request.user, **d),
        lambda s: f"Support request now {s.get_status_display().lower()}.",
    )


@login_required
@require_POST
def change_status(request: HttpRequest, code: str, year: str) -> HttpResponse:
    item = _guard(request, code, year, Permission.MANAGE_COMPACTS)
    form = StatusForm(request.POST)
    _set_choices(form, "to", CompactStatus.choices)
    return _submit(
        request,
        item,
        form,
        lambda d: services.move_compact(compact=item, actor=request.user, **d),
        lambda c: f"The compact is now {c.get_status_display().lower()}.",
    )

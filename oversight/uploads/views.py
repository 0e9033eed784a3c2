"""Upload pages: the form, live status, the error report, retry, the template, and the
comparison of our results with NHS England's published ones."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.pages import attempt
from systems.authorization import Permission, has_permission, upload_authority

from ..models import (
    UPLOAD_FORMAT_CHOICES,
    Methodology,
    MetricUpload,
    ReportingPeriod,
    SegmentationRun,
)
from ..preview import preview_of
from ..selectors import NoResults, UnknownRun, run_for
from . import catalogue, selectors
from .metric_comparison import metric_comparison
from .presenters import UploadPresenter
from .problems import report_csv
from .services import UploadRefused, receive_upload, retry_upload
from .validation import TEMPLATE_COLUMNS

FORMAT_CHOICES = [("", "Work it out from the columns"), *UPLOAD_FORMAT_CHOICES]


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Metric file",
        help_text="CSV or Excel (.xlsx): NHS England's NOF data file or our template.",
        error_messages={"required": "Choose a CSV or Excel file to upload."},
    )
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False, label="File format")


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def upload_list(request: HttpRequest) -> HttpResponse:
    may_upload = has_permission(request.user, Permission.UPLOAD_METRICS)
    if request.method == "POST" and not may_upload:
        raise Http404("Not found.")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        incoming = form.cleaned_data["file"]
        try:
            received = receive_upload(
                content=incoming.read(),
                filename=incoming.name,
                actor=request.user,
                requested_format=form.cleaned_data["format"],
                via="web",
                authority=upload_authority(request.user),
            )
        except UploadRefused as exc:
            form.add_error("file", str(exc))
        else:
            if received.created:
                return redirect("uploads:detail", pk=received.upload.pk)
            messages.info(request, received.message)
            if selectors.may_see_upload(request.user, received.upload):
                return redirect("uploads:detail", pk=received.upload.pk)
            return redirect("uploads:list")
    uploads = selectors.uploads_for(request.user)[:25]
    return render(
        request,
        "uploads/list.html",
        {
            "form": form,
            "may_upload": may_upload,
            "uploads": [UploadPresenter(u) for u in uploads],
        },
    )


def _upload(request: HttpRequest, pk: int) -> MetricUpload:
    upload = selectors.uploads_for(request.user).filter(pk=pk).first()
    if upload is None:
        raise Http404("No such upload")
    return upload


@login_required
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An upload's status and, once its periods are segmented, what it changed: the
    provisional results of each period beside the published ones, within the viewer's
    scope (counts only beyond it)."""
    upload = _upload(request, pk)
    changes = [
        preview_of(run, request.user)
        for run in upload.runs.select_related("period").order_by("period__start_date")
        if run.state != "superseded"
    ]
    return render(
        request, "uploads/detail.html", {"u": _presented(request, upload), "changes": changes}
    )


def _presented(request: HttpRequest, upload: MetricUpload) -> UploadPresenter:
    earlier = upload.duplicate_of
    visible = earlier is not None and selectors.may_see_upload(request.user, earlier)
    return UploadPresenter(upload, earlier_visible=visible)


@login_required
def upload_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The status panel alone, for the page to poll while the upload is in progress."""
    upload = _upload(request, pk)
    return render(request, "uploads/_status.html", {"u": _presented(request, upload)})


@login_required
def upload_report(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _upload(request, pk)
    return _csv_response(
        report_csv(upload.errors + upload.warnings, upload.error_kinds),
        f"upload-{upload.pk}-problems.csv",
    )


@login_required
@require_POST
def upload_retry(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _upload(request, pk)
    attempt(
        request,
        lambda: retry_upload(
            upload=upload, actor=request.user, reason="Retried from the upload page"
        ),
    )
    return redirect("uploads:detail", pk=upload.pk)


@login_required
def metric_catalogue(request: HttpRequest) -> HttpResponse:
    """Every metric of a methodology: ids, units, direction, range, groups, scoring."""
    methodologies = list(Methodology.objects.order_by("-slug"))
    chosen = request.GET.get("methodology", "")
    methodology = catalogue.methodology_for(chosen)
    error = f"'{chosen}' is not a methodology." if chosen and methodology is None else ""
    if methodology is None and methodologies:
        methodology = methodologies[0]
    return render(
        request,
        "uploads/metrics.html",
        {
            "methodologies": methodologies,
            "methodology": methodology,
            "rows": catalogue.catalogue_rows(methodology) if methodology else [],
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
def template_xlsx(request: HttpRequest) -> HttpResponse:
    content = catalogue.template_workbook(catalogue.methodology_for(""))
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="metric-upload-template.xlsx"'
    return response


@login_required
def template_csv(request: HttpRequest) -> HttpResponse:
    example = (
        ",".join(TEMPLATE_COLUMNS)
        + "\nRHA,OF0082,Q2 2025/26,4.8,2025-06-30,Sickness absence for June\n"
    )
    return _csv_response(example, "metric-upload-template.csv")


def _chosen_run(period: ReportingPeriod, which: str) -> SegmentationRun | None:
    try:
        return run_for(period, which)
    except (UnknownRun, NoResults):
        return None


@login_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    periods = list(ReportingPeriod.objects.order_by("-start_date"))
    chosen = request.GET.get("period", "")
    period = next((p for p in periods if p.slug == chosen), None)
    error = f"'{chosen}' is not a period." if chosen and period is None else ""
    if period is None:
        period = selectors.latest_period_with_published(periods)
    run = _chosen_run(period, request.GET.get("run", "")) if period else None
    run_id = run.pk if run else None
    table = selectors.reconciliation(period, request.user, run_id) if period else None
    metrics = metric_comparison(period, request.user, run_id) if period else None
    if table is not None and request.GET.get("format") == "csv":
        if metrics is not None and request.GET.get("table") == "metrics":
            return _csv_response(metrics.as_csv(), f"reconciliation-metrics-{period.slug}.csv")
        return _csv_response(table.as_csv(), f"reconciliation-{period.slug}.csv")
    return render(
        request,
        "uploads/reconciliation.html",
        {
            "periods": periods,
            "period": period,
            "table": table,
            "metrics": metrics,
            "run": run,
            "error": error,
        },
    )

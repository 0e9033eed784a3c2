from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from systems.admin_base import AuditedAdmin, ReadOnlyAdmin
from systems.authorization import Permission, has_permission

from .autonomy.policy import spec_of
from .cut_points import CutPointError, format_cut_point, format_cut_points, parse_cut_points
from .engine.autonomy import FreedomError
from .models import (
    CapabilityAssessment,
    CqcRating,
    Freedom,
    FreedomEvaluation,
    FreedomGrant,
    GrantEvent,
    MaturityAssessment,
    Methodology,
    MetricDefinition,
    MetricScore,
    MetricValue,
    OrganisationAssessment,
    OversightAction,
    ProgrammeMembership,
    ReportingPeriod,
    SegmentationRun,
)
from .services import (
    check_thresholds,
    clear_cut_points,
    pin_cut_points,
    set_thresholds,
)
from .uploads.metric_additions import MetricsNotAdded, add_metrics_from_file


class MetricDefinitionInline(admin.TabularInline):
    model = MetricDefinition
    extra = 0
    fields = (
        "position",
        "score_id",
        "value_id",
        "name",
        "domain",
        "direction",
        "method",
        "pool",
        "peer_groups",
        "weight",
        "included_in_average",
        "contextual",
    )
    show_change_link = True


# --- Cut points and thresholds: exact, validated and audited by the services -------------

CUT_POINT_HELP = "At most 4 decimal places (e.g. 2.325); kept exactly as given, never rounded."
T_NAMES = ("t1", "t2", "t3")


def _cut_point_field(label: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=CUT_POINT_HELP)


def _reason_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )


class CutPointsForm(forms.ModelForm):
    """Three cut points T1 T2 T3 (all blank: none) and the reason for changing them; what
    they read as is decided by the service (:mod:`oversight.cut_points`)."""

    reason_field = "reason"
    may_change = True  # set by the admin from the user's permission

    def current(self) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = self.current()
        for name, value in zip(T_NAMES, values, strict=True):
            self.fields[name].initial = format_cut_point(value)
            self.fields[name].disabled = not self.may_change
        self.fields[self.reason_field].disabled = not self.may_change

    def cut_points_changed(self) -> bool:
        return any(name in self.changed_data for name in T_NAMES)

    def given(self) -> list[str] | None:
        """The three values as typed, or None when all three are blank (to unset them)."""
        texts = [(self.cleaned_data.get(name) or "").strip() for name in T_NAMES]
        return texts if any(texts) else None

    def check(self, given: list[str] | None) -> None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        if not self.cut_points_changed():
            return data
        try:
            self.check(self.given())
        except CutPointError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if not (data.get(self.reason_field) or "").strip():
            self.add_error(self.reason_field, "A reason is required to change these values.")
        return data


class MethodologyForm(CutPointsForm):
    t1 = _cut_point_field("Threshold T1")
    t2 = _cut_point_field("Threshold T2")
    t3 = _cut_point_field("Threshold T3")
    thresholds_reason = _reason_field("Reason for changing the thresholds")
    reason_field = "thresholds_reason"

    class Meta:
        model = Methodology
        exclude = ["threshold_1", "threshold_2", "threshold_3"]  # noqa: DJ006 - service writes them

    def current(self) -> tuple[Any, Any, Any]:
        m = self.instance
        return (m.threshold_1, m.threshold_2, m.threshold_3)

    def check(self, given: list[str] | None) -> None:
        method = self.cleaned_data.get("segmentation_method")
        check_thresholds(self.instance, given, method=method)


@admin.register(Methodology)
class MethodologyAdmin(AuditedAdmin):
    form = MethodologyForm
    list_display = (
        "slug",
        "name",
        "version",
        "segmentation_method",
        "quartile_pool",
        "thresholds_text",
        "updated_at",
    )
    inlines = [MetricDefinitionInline]
    actions = ["add_metrics_from_a_file"]
    change_form_template = "admin/oversight/methodology/change_form.html"

    @admin.action(description="Add metrics from an NHS England file")
    def add_metrics_from_a_file(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one methodology.", messages.WARNING)
            return None
        return HttpResponseRedirect(
            reverse("admin:oversight_methodology_add_metrics", args=[queryset.get().pk])
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/add-metrics-from-file/",
                self.admin_site.admin_view(self.add_metrics_view),
                name="oversight_methodology_add_metrics",
            ),
            *super().get_urls(),
        ]

    def add_metrics_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Add the metrics of an NHS England data file the methodology does not know (as
        supplied scores, audited with the reason given); every problem listed otherwise."""
        methodology = get_object_or_404(Methodology, pk=pk)
        if not self.has_change_permission(request, methodology):
            raise PermissionDenied
        form = AddMetricsForm(request.POST or None, request.FILES or None)
        problems: list = []  # Problems, or the refusal's message when it has none
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                added = add_metrics_from_file(
                    methodology=methodology,
                    content=upload.read(),
                    filename=upload.name,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except MetricsNotAdded as exc:
                problems = list(exc.problems) or [exc.message]
                form.add_error(None, exc.message if not exc.problems else "Nothing was added.")
            else:
                self.message_user(
                    request,
                    f"Added {', '.join(added.score_ids)} to {methodology.slug} as supplied "
                    "scores. Upload the file again to import it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:oversight_methodology_change", args=[methodology.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add metrics to {methodology.slug} from an NHS England file",
            "methodology": methodology,
            "opts": self.model._meta,
            "form": form,
            "problems": problems,
        }
        return TemplateResponse(
            request, "admin/oversight/methodology/add_metrics_from_file.html", context
        )

    @admin.display(description="thresholds")
    def thresholds_text(self, obj: Methodology) -> str:
        return format_cut_points(obj.thresholds) or "unset"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.cut_points_changed():
            set_thresholds(
                methodology=obj,
                thresholds=form.given(),
                reason=form.cleaned_data["thresholds_reason"],
                actor=request.user,
            )


class AddMetricsForm(forms.Form):
    file = forms.FileField(help_text="NHS England's NOF data file (CSV or .xlsx).")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Recorded in the audit log."
    )


@admin.register(MetricDefinition)
class MetricDefinitionAdmin(AuditedAdmin):
    list_display = (
        "score_id",
        "value_id",
        "name",
        "methodology",
        "domain",
        "method",
        "pool",
        "weight",
        "included_in_average",
    )
    list_filter = ("methodology", "domain", "method", "pool")
    search_fields = ("score_id", "value_id", "name")


class PinForm(CutPointsForm):
    t1 = _cut_point_field("Pinned cut point T1")
    t2 = _cut_point_field("Pinned cut point T2")
    t3 = _cut_point_field("Pinned cut point T3")
    cut_points_reason = _reason_field("Reason for pinning (or clearing) the cut points")
    reason_field = "cut_points_reason"

    class Meta:
        model = ReportingPeriod
        exclude = ["pinned_t1", "pinned_t2", "pinned_t3"]  # noqa: DJ006 - service writes them

    def current(self) -> tuple[Any, Any, Any]:
        p = self.instance
        return (p.pinned_t1, p.pinned_t2, p.pinned_t3)

    def check(self, given: list[str] | None) -> None:
        if given is not None:
            parse_cut_points(given, "Cut points")


@admin.register(ReportingPeriod)
class ReportingPeriodAdmin(AuditedAdmin):
    form = PinForm
    list_display = (
        "label",
        "slug",
        "methodology",
        "start_date",
        "end_date",
        "pinned_cut_points_text",
        "current_run",
    )
    # Pinned cut points are written by `pin_cut_points` (the service: exact, validated,
    # with a reason and an audit event), from the form's T1 T2 T3, by those who may pin.
    readonly_fields = (
        "current_run",
        "pin_reason",
        "pinned_by",
        "pinned_by_label",
        "pinned_at",
    )

    @admin.display(description="pinned cut points")
    def pinned_cut_points_text(self, obj: ReportingPeriod) -> str:
        return format_cut_points(obj.pinned_cut_points)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.may_change = has_permission(request.user, Permission.PIN_CUT_POINTS)
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not form.cut_points_changed():
            return
        given = form.given()
        reason = form.cleaned_data["cut_points_reason"]
        if given is None:
            clear_cut_points(period=obj, reason=reason, actor=request.user)
        else:
            pin_cut_points(period=obj, cut_points=given, reason=reason, actor=request.user)
        obj.refresh_from_db()


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "period",
        "status",
        "trigger",
        "triggered_by_label",
        "created_at",
        "organisation_count",
        "cut_points_source",
    )
    list_filter = ("status", "period", "trigger")


@admin.register(OrganisationAssessment)
class OrganisationAssessmentAdmin(ReadOnlyAdmin):
    list_display = (
        "organisation",
        "run",
        "peer_group",
        "average_score",
        "unadjusted_segment",
        "adjusted_segment",
        "final_segment",
        "league_rank",
    )
    list_filter = ("peer_group", "final_segment")
    list_select_related = ("organisation", "run")
    search_fields = ("organisation__code", "organisation__name")


@admin.register(MetricScore)
class MetricScoreAdmin(ReadOnlyAdmin):
    list_display = (
        "organisation",
        "run",
        "metric_id",
        "value",
        "score",
        "rank",
        "pool_size",
        "status",
    )
    list_filter = ("metric_id", "status")
    list_select_related = ("organisation", "run")


@admin.register(MetricValue)
class MetricValueAdmin(ReadOnlyAdmin):
    list_display = (
        "period",
        "organisation",
        "metric_id",
        "kind",
        "value",
        "text",
        "source",
        "recorded_by_label",
        "recorded_at",
        "superseded_at",
    )
    list_filter = ("period", "kind")
    list_select_related = ("period", "organisation")
    search_fields = ("organisation__code", "metric_id")


@admin.register(ProgrammeMembership)
class ProgrammeMembershipAdmin(AuditedAdmin):
    permission = Permission.MANAGE_PROGRAMME
    list_display = ("organisation", "entered_on", "left_on", "recorded_by_label")
    raw_id_fields = ("organisation",)
    readonly_fields = ("recorded_by_label",)

    def save_model(self, request, obj, form, change):
        obj.recorded_by_label = request.user.get_username()
        super().save_model(request, obj, form, change)


# --- Earned autonomy ------------------------------------------------------------------------


class FreedomForm(forms.ModelForm):
    class Meta:
        model = Freedom
        fields = ["name", "applies_to", "grant", "criteria", "revoke_at_once_on", "active"]

    def clean(self):
        data = super().clean()
        try:
            spec_of(Freedom(slug=self.instance.slug or "new", **data))
        except (FreedomError, TypeError) as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(Freedom)
class FreedomAdmin(AuditedAdmin):
    permission = Permission.MANAGE_FREEDOMS_CATALOGUE
    form = FreedomForm
    list_display = ["slug", "name", "applies_to", "grant", "active"]


@admin.register(CqcRating)
class CqcRatingAdmin(AuditedAdmin):
    permission = Permission.MANAGE_FREEDOMS_CATALOGUE
    list_display = ["organisation", "rating", "published_on", "recorded_by_label"]
    list_filter = ["rating"]
    search_fields = ["organisation__code", "organisation__name"]
    raw_id_fields = ["organisation"]


@admin.register(CapabilityAssessment)
class CapabilityAssessmentAdmin(AuditedAdmin):
    permission = Permission.MANAGE_FREEDOMS_CATALOGUE
    list_display = ["organisation", "financial_year", "assessor", "overall"]
    list_filter = ["financial_year", "assessor"]
    raw_id_fields = ["organisation"]


@admin.register(MaturityAssessment)
class MaturityAssessmentAdmin(admin.ModelAdmin):
    """Read only: assessments are recorded through the service (the API), which checks
    every criterion, takes the lowest rating and audits the change."""

    list_display = ["icb", "assessed_on", "computed_level", "level", "recorded_by_label"]
    list_filter = ["level"]
    readonly_fields = [
        "icb",
        "assessed_on",
        "ratings",
        "computed_level",
        "level",
        "override_reason",
        "recorded_by_label",
        "recorded_at",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class GrantEventInline(admin.TabularInline):
    model = GrantEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status_from", "status_to", "run", "criteria", "reason", "actor_label"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FreedomGrant)
class FreedomGrantAdmin(ReadOnlyAdmin):
    list_display = ["freedom", "organisation", "status", "updated_at"]
    list_filter = ["freedom", "status"]
    search_fields = ["organisation__code", "organisation__name"]
    inlines = [GrantEventInline]


@admin.register(OversightAction)
class OversightActionAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "title", "status", "due_date"]
    list_filter = ["kind", "status"]
    search_fields = ["organisation__code", "organisation__name"]


@admin.register(FreedomEvaluation)
class FreedomEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["run", "freedom", "organisation", "eligible"]
    list_filter = ["freedom", "eligible"]


from .compacts import admin as _compacts_admin  # noqa: E402, F401  (registers compacts)

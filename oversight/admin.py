from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from systems.admin_base import AuditedAdmin, ReadOnlyAdmin
from systems.authorization import Permission

from .autonomy.policy import spec_of
from .engine.autonomy import FreedomError
from .models import (
    CapabilityAssessment,
    CqcRating,
    Freedom,
    FreedomEvaluation,
    FreedomGrant,
    GrantEvent,
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


@admin.register(Methodology)
class MethodologyAdmin(AuditedAdmin):
    list_display = (
        "slug",
        "name",
        "version",
        "segmentation_method",
        "quartile_pool",
        "threshold_1",
        "threshold_2",
        "threshold_3",
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


@admin.register(ReportingPeriod)
class ReportingPeriodAdmin(AuditedAdmin):
    list_display = (
        "label",
        "slug",
        "methodology",
        "start_date",
        "end_date",
        "pinned_t1",
        "pinned_t2",
        "pinned_t3",
        "current_run",
    )
    # Cut points are pinned through `pin_cut_points` (validated, with a reason), not here.
    readonly_fields = (
        "current_run",
        "pinned_t1",
        "pinned_t2",
        "pinned_t3",
        "pin_reason",
        "pinned_by",
        "pinned_by_label",
        "pinned_at",
    )


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

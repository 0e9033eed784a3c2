from django import forms
from django.contrib import admin

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

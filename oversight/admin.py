from django import forms
from django.contrib import admin

from systems import audit
from systems.authorization import Permission, has_permission

from .autonomy.services import spec_of
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


def _staff_with(request, permission) -> bool:
    user = request.user
    return user.is_active and user.is_staff and has_permission(user, permission)


class NationalViewAdmin(admin.ModelAdmin):
    """Seen in the admin by national staff (``view_all``)."""

    def has_module_permission(self, request):
        return _staff_with(request, Permission.VIEW_ALL)

    def has_view_permission(self, request, obj=None):
        return _staff_with(request, Permission.VIEW_ALL)


class AuditedAdmin(NationalViewAdmin):
    """Policy edits through the admin are recorded like any other change, and need
    ``permission`` (checked by ``has_permission``)."""

    permission = Permission.MANAGE_METHODOLOGIES

    def has_add_permission(self, request):
        return _staff_with(request, self.permission)

    def has_change_permission(self, request, obj=None):
        return _staff_with(request, self.permission)

    def has_delete_permission(self, request, obj=None):
        return _staff_with(request, self.permission)

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            original = type(obj).objects.get(pk=obj.pk)
            before = {f: _plain(getattr(original, f)) for f in form.changed_data}
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action=f"{obj._meta.model_name}.{'changed' if change else 'created'}",
            obj=obj,
            before=before,
            after={f: _plain(getattr(obj, f)) for f in form.changed_data},
            reason="Edited in the admin; applies from the next segmentation run",
        )

    def delete_model(self, request, obj):
        audit.record(actor=request.user, action=f"{obj._meta.model_name}.deleted", obj=obj)
        super().delete_model(request, obj)


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


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


class ReadOnlyAdmin(NationalViewAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

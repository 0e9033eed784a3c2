"""Admin for national users: the services catalogue, the timeline, condition rules and
templates are edited here (validated as the services validate them, every edit audited);
agreements, segments, conditions and requests are read-only (they change through their
pages and the API, where the rules are applied)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from systems.admin_base import AuditedAdmin, ReadOnlyAdmin

from .models import (
    AgreementCondition,
    AgreementService,
    AgreementTemplate,
    CollaborationArrangement,
    CommissioningChangeRequest,
    ConditionRule,
    DelegationAgreement,
    DelegationTimeline,
    IcbSegment,
    SpecialisedService,
)
from .services import DelegationError, apply_conditions, check_reclassification, service_problems


class SpecialisedServiceForm(forms.ModelForm):
    class Meta:
        model = SpecialisedService
        fields = [
            "name",
            "code",
            "programme_of_care",
            "status",
            "highly_specialised",
            "tranche",
            "source",
            "retired_on",
            "retired_reason",
        ]

    def clean(self):
        data = super().clean()
        problems = service_problems(
            status=data.get("status", ""),
            highly_specialised=bool(data.get("highly_specialised")),
            tranche=data.get("tranche", ""),
        )
        if problems:
            raise forms.ValidationError([p.capitalize() + "." for p in problems])
        if self.instance.pk:
            try:
                check_reclassification(self.instance, data.get("status", ""))
            except DelegationError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(SpecialisedService)
class SpecialisedServiceAdmin(AuditedAdmin):
    form = SpecialisedServiceForm
    list_display = ["name", "code", "status", "highly_specialised", "tranche", "retired_on"]
    list_filter = ["status", "tranche", "highly_specialised"]
    search_fields = ["name", "code"]

    def has_delete_permission(self, request, obj=None):
        return False  # retire a service instead: agreements keep pointing at it


class ConditionRuleForm(forms.ModelForm):
    class Meta:
        model = ConditionRule
        fields = ["name", "description", "segments", "active"]

    def clean_segments(self):
        segments = self.cleaned_data["segments"]
        if (
            not isinstance(segments, list)
            or not segments
            or any(s not in (1, 2, 3, 4, 5) for s in segments)
        ):
            raise forms.ValidationError("A list of segments among 1 to 5, e.g. [3, 4].")
        return sorted(set(segments))


@admin.register(ConditionRule)
class ConditionRuleAdmin(AuditedAdmin):
    form = ConditionRuleForm
    list_display = ["slug", "name", "segments", "version", "active"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change and form.changed_data:
            obj.version += 1
        super().save_model(request, obj, form, change)
        apply_conditions(actor=request.user)


@admin.register(DelegationTimeline)
class DelegationTimelineAdmin(AuditedAdmin):
    list_display = ["region", "tranche", "arrangement", "starts_on"]
    list_filter = ["tranche", "arrangement"]


@admin.register(AgreementTemplate)
class AgreementTemplateAdmin(AuditedAdmin):
    list_display = ["version", "financial_year", "published_on"]


@admin.register(CollaborationArrangement)
class CollaborationArrangementAdmin(AuditedAdmin):
    list_display = ["name", "kind", "formed_on", "ended_on"]
    filter_horizontal = ["members", "services"]


class ScheduleInline(admin.TabularInline):
    model = AgreementService
    extra = 0
    can_delete = False
    readonly_fields = ["service", "effective_from", "effective_to"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DelegationAgreement)
class DelegationAgreementAdmin(ReadOnlyAdmin):
    list_display = ["icb", "financial_year", "status", "signed_by_label", "signed_on"]
    list_filter = ["financial_year", "status"]
    search_fields = ["icb__code", "icb__name"]
    inlines = [ScheduleInline]


@admin.register(IcbSegment)
class IcbSegmentAdmin(ReadOnlyAdmin):
    list_display = ["icb", "segment", "as_of", "source_kind", "source", "recorded_by_label"]
    list_filter = ["source_kind", "segment"]


@admin.register(AgreementCondition)
class AgreementConditionAdmin(ReadOnlyAdmin):
    list_display = ["agreement", "rule", "applied_on", "lifted_on"]


@admin.register(CommissioningChangeRequest)
class CommissioningChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["icb", "title", "status", "annual_spend_effect", "raised_at"]
    list_filter = ["status", "needs_approval"]

"""Compacts in the admin: read only. Every change goes through the services (the pages and
the API), which check who may make it, ask for a reason and audit it."""

from __future__ import annotations

from django.contrib import admin

from systems.admin_base import ReadOnlyAdmin

from .models import BoardMeeting, Commitment, CommitmentEvaluation, Compact, SupportRequest


class MeetingInline(admin.TabularInline):
    model = BoardMeeting
    extra = 0
    can_delete = False
    readonly_fields = ["held_on", "attendees", "minutes_reference", "recorded_by_label"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Compact)
class CompactAdmin(ReadOnlyAdmin):
    list_display = ["icb", "financial_year", "status", "agreed_on", "updated_at"]
    list_filter = ["financial_year", "status"]
    search_fields = ["icb__code", "icb__name"]
    inlines = [MeetingInline]


@admin.register(Commitment)
class CommitmentAdmin(ReadOnlyAdmin):
    list_display = ["title", "organisation", "compact", "metric_id", "target", "status"]
    list_filter = ["status", "compact__financial_year"]
    search_fields = ["title", "organisation__code", "metric_id"]


@admin.register(CommitmentEvaluation)
class CommitmentEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["commitment", "period", "run", "status", "value", "expected"]
    list_filter = ["status", "period"]


@admin.register(SupportRequest)
class SupportRequestAdmin(ReadOnlyAdmin):
    list_display = ["description", "compact", "owner", "status", "updated_at"]
    list_filter = ["status"]

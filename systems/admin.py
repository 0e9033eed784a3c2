from django.contrib import admin

from .models import AuditEvent, IntegratedCareBoard, Region, Succession, Trust


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "ods_code", "ons_code", "short_name")
    search_fields = ("name", "ods_code")


class SuccessionOutInline(admin.TabularInline):
    model = Succession
    fk_name = "predecessor"
    extra = 0
    raw_id_fields = ("successor",)
    verbose_name = "successor"
    verbose_name_plural = "successors"


@admin.register(IntegratedCareBoard)
class IntegratedCareBoardAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "region", "open_date", "close_date")
    list_filter = ("region", "close_date")
    search_fields = ("name", "code")
    inlines = [SuccessionOutInline]


@admin.register(Trust)
class TrustAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "code",
        "trust_type",
        "peer_group",
        "is_foundation_trust",
        "region",
        "icb_before_2026",
        "icb_from_2026",
        "close_date",
    )
    list_filter = ("peer_group", "trust_type", "is_foundation_trust", "region")
    search_fields = ("name", "code", "former_name")
    list_select_related = ("region", "icb_before_2026", "icb_from_2026")
    autocomplete_fields = ("icb_before_2026", "icb_from_2026")
    inlines = [SuccessionOutInline]


@admin.register(Succession)
class SuccessionAdmin(admin.ModelAdmin):
    list_display = ("predecessor", "successor", "date", "succession_type")
    list_filter = ("succession_type", "date")
    list_select_related = ("predecessor", "successor")
    search_fields = ("predecessor__code", "successor__code")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "object_repr", "reason")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

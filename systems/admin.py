from django import forms
from django.contrib import admin, messages

from . import services
from .authorization import Permission, has_permission
from .models import (
    ApiToken,
    AuditEvent,
    IntegratedCareBoard,
    Region,
    RoleAssignment,
    Succession,
    Trust,
)


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

    def has_module_permission(self, request):
        return request.user.is_staff and has_permission(request.user, Permission.VIEW_AUDIT)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _ScopeForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        try:
            services.check_scope(data.get("role"), data.get("region"), data.get("icb"))
            services.check_token_rights(data.get("role"), bool(data.get("can_upload")))
        except services.AccessError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


class _PermissionAdmin(admin.ModelAdmin):
    """Who may use this admin page is decided by ``has_permission`` (``permission``)."""

    permission = Permission.MANAGE_USERS
    form = _ScopeForm

    def _allowed(self, request) -> bool:
        return (
            request.user.is_active
            and request.user.is_staff
            and (has_permission(request.user, self.permission))
        )

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(_PermissionAdmin):
    """Roles are granted here (audited); ``Revoke`` ends them. Nothing is edited in place."""

    permission = Permission.MANAGE_USERS
    list_display = ("user", "role", "region", "icb", "granted_by_label", "granted_at", "revoked_at")
    list_filter = ("role", "region", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "icb__name", "icb__code")
    list_select_related = ("user", "region", "icb")
    autocomplete_fields = ("icb",)
    fields = ("user", "role", "region", "icb", "reason")
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        saved = services.grant_role(
            user=obj.user,
            role=obj.role,
            region=obj.region,
            icb=obj.icb,
            actor=request.user,
            reason=obj.reason,
        )
        obj.pk = saved.pk

    @admin.action(description="Revoke the selected roles")
    def revoke(self, request, queryset):
        for assignment in queryset.filter(revoked_at__isnull=True):
            services.revoke_role(assignment=assignment, actor=request.user, reason="admin")
        self.message_user(request, "Revoked.")


@admin.register(ApiToken)
class ApiTokenAdmin(_PermissionAdmin):
    """Tokens are created here (the token is shown once, in the message) and revoked with the
    ``Revoke`` action. Only their hashes are stored."""

    permission = Permission.MANAGE_TOKENS
    list_display = (
        "name",
        "prefix",
        "role",
        "region",
        "icb",
        "can_upload",
        "created_by_label",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("role", "can_upload", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    list_select_related = ("region", "icb")
    autocomplete_fields = ("icb",)
    fields = ("name", "role", "region", "icb", "can_upload")
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        new = services.create_api_token(
            name=obj.name,
            role=obj.role,
            region=obj.region,
            icb=obj.icb,
            can_upload=obj.can_upload,
            actor=request.user,
        )
        obj.pk = new.token.pk
        self.message_user(
            request,
            f"Token for {new.token.name}: {new.raw} (copy it now; it is not shown again).",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            services.revoke_api_token(token=token, actor=request.user, reason="admin")
        self.message_user(request, "Revoked.")

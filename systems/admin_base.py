"""Base classes for admin pages: who may see them (national staff) and edits that are
audited like any other change, with the permission checked by ``has_permission``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from . import audit
from .authorization import Permission, has_permission


def _staff_with(request: HttpRequest, permission: str) -> bool:
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
        # Only the model's own fields: a form field that is not one (e.g. values a service
        # writes, with its own audit event) is the subclass's to record.
        own = {f.name for f in obj._meta.get_fields()}
        changed = [f for f in form.changed_data if f in own]
        before = None
        if change:
            original = type(obj).objects.get(pk=obj.pk)
            before = {f: _plain(getattr(original, f)) for f in changed}
        super().save_model(request, obj, form, change)
        if change and not changed:
            return
        audit.record(
            actor=request.user,
            action=f"{obj._meta.model_name}.{'changed' if change else 'created'}",
            obj=obj,
            before=before,
            after={f: _plain(getattr(obj, f)) for f in changed},
            reason="Edited in the admin; applies from the next segmentation run",
        )

    def delete_model(self, request, obj):
        audit.record(actor=request.user, action=f"{obj._meta.model_name}.deleted", obj=obj)
        super().delete_model(request, obj)


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


class ReadOnlyAdmin(NationalViewAdmin):
    """Seen by national staff; never added, changed or deleted in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Template context about the signed-in user's access (evaluated only when a page uses it)."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .authorization import Permission, has_permission


def access(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {"can_view_audit": SimpleLazyObject(lambda: has_permission(user, Permission.VIEW_AUDIT))}

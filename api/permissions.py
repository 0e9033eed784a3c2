"""One permission check for every endpoint; out of scope answers 404."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from systems.authorization import Permission, has_permission
from systems.models import ApiToken
from systems.services import record_token_write


class HasPermission(permissions.BasePermission):
    """The view's ``permission`` (for reads) and ``write_permission`` (for writes), checked
    with :func:`systems.authorization.has_permission`. Missing either answers 404."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        needed = getattr(view, "permission", Permission.VIEW_ORGANISATION)
        if request.method not in permissions.SAFE_METHODS:
            needed = getattr(view, "write_permission", None)
            if needed is None:
                if _offers(view, request.method):
                    raise exceptions.NotFound()  # a write nobody was given permission for
                return True  # the method is not offered: 405 follows
        if needed and not has_permission(request.user, needed):
            raise exceptions.NotFound()
        if request.method not in permissions.SAFE_METHODS and isinstance(request.auth, ApiToken):
            record_token_write(token=request.auth, method=request.method, path=request.path)
        return True


def _offers(view, method: str) -> bool:
    if hasattr(view, "action_map"):  # a view set: the router maps methods to actions
        return getattr(view, "action", None) is not None
    return hasattr(view, method.lower())

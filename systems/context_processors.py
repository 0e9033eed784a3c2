"""Template context about the signed-in user's access (evaluated only when a page uses it)."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .authorization import Permission, grants, has_permission
from .models import Region


def home_region(user) -> str:
    """The region a person's role is for (a regional role's region, or the region of an
    ICB analyst's ICB); "" for the national team and anonymous visitors."""
    for grant in grants(user):
        if grant.region_id:
            return Region.objects.get(pk=grant.region_id).ods_code
        if grant.icb_id:
            return Region.objects.get(organisations__pk=grant.icb_id).ods_code
    return ""


def access(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "can_view_audit": SimpleLazyObject(lambda: has_permission(user, Permission.VIEW_AUDIT)),
        "home_region": SimpleLazyObject(lambda: home_region(user)),
    }

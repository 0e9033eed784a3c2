"""Template context about the signed-in user's access (evaluated only when a page uses it)."""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from .authorization import Permission, grants, has_permission
from .models import Organisation, Region

P_VIEW = Permission.VIEW_ORGANISATION


def home_region(user) -> str:
    """The region a person's role is for (a regional role's region, or the region of an
    ICB analyst's ICB); "" for the national team and anonymous visitors."""
    for grant in grants(user):
        if grant.region_id:
            return Region.objects.get(pk=grant.region_id).ods_code
        if grant.icb_id:
            return Region.objects.get(organisations__pk=grant.icb_id).ods_code
    return ""


def home_icb(user) -> str:
    """The ICB an analyst's role is for, when the person holds no regional or national
    role ("" otherwise): their "My ICB"."""
    held = grants(user)
    if not held or any(g.region_id or g.national for g in held):
        return ""
    icb = next((g.icb_id for g in held if g.icb_id), None)
    return Organisation.objects.get(pk=icb).code if icb else ""


def landing_url(user) -> str:
    """Where a person starts after signing in: the national overview for the national
    team, their region for a regional role, their ICB for an analyst."""
    held = grants(user)
    if any(g.national and P_VIEW in g.permissions for g in held):
        return reverse("dashboards:national")
    region = home_region(user)
    icb = home_icb(user)
    if icb:
        return reverse("dashboards:organisation", args=[icb])
    if region:
        return reverse("dashboards:region", args=[region])
    return reverse("systems:home")


def access(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "can_view_audit": SimpleLazyObject(lambda: has_permission(user, Permission.VIEW_AUDIT)),
        "home_region": SimpleLazyObject(lambda: home_region(user)),
        "home_icb": SimpleLazyObject(lambda: home_icb(user)),
    }

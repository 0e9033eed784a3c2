import datetime

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from .audit_display import TOKEN_NOISE, changes_of
from .authorization import Permission, has_permission, permission_required
from .context_processors import landing_url
from .models import AuditEvent
from .selectors import audit_events, region_tree, search_organisations


def _as_of(request: HttpRequest) -> tuple[datetime.date, str]:
    raw = request.GET.get("on", "")
    if raw:
        try:
            return datetime.date.fromisoformat(raw), ""
        except ValueError:
            return datetime.date.today(), f"'{raw}' is not a date as YYYY-MM-DD; showing today."
    return datetime.date.today(), ""


def home(request: HttpRequest) -> HttpResponse:
    """Regions → ICBs → trusts as they stand on a date (today by default)."""
    day, error = _as_of(request)
    tree = region_tree(day)
    return render(
        request,
        "systems/home.html",
        {
            "tree": tree,
            "day": day,
            "date_error": error,
            "icb_count": sum(len(r.icbs) for r in tree),
            "trust_count": sum(r.trust_count for r in tree),
            "may_open": has_permission(request.user, Permission.VIEW_PUBLISHED_RESULTS),
        },
    )


@permission_required(Permission.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Recorded state changes, newest first, filtered by action, object, actor and dates."""
    filters = {
        key: request.GET.get(key, "").strip()
        for key in ("action", "object_type", "object_id", "actor", "since", "until", "tokens")
    }
    errors = []
    dates: dict[str, datetime.date | None] = {}
    for key in ("since", "until"):
        dates[key] = None
        if filters[key]:
            try:
                dates[key] = datetime.date.fromisoformat(filters[key])
            except ValueError:
                errors.append((key, f"'{filters[key]}' is not a date as YYYY-MM-DD."))
    events = audit_events(
        action=filters["action"],
        object_type=filters["object_type"],
        object_id=filters["object_id"],
        actor=filters["actor"],
        since=dates["since"],
        until=dates["until"],
    )
    if not filters["tokens"] and not filters["action"].startswith("api_token"):
        events = events.exclude(action__in=TOKEN_NOISE)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    rows = [(event, changes_of(event)) for event in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "systems/audit.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "errors": errors,
            "query": query.urlencode(),
            "object_types": AuditEvent.objects.order_by("object_type")
            .values_list("object_type", flat=True)
            .distinct(),
        },
    )


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """After signing in: each person's own starting page (see ``landing_url``)."""
    return redirect(landing_url(request.user))


def search(request: HttpRequest) -> HttpResponse:
    """Find an organisation by name or ODS code (any case); closed ones with their
    successors. ``?format=json``: the first ten, for the header's suggestions."""
    text = request.GET.get("q", "").strip()[:100]
    found = search_organisations(text) if text else []
    may_open = has_permission(request.user, Permission.VIEW_PUBLISHED_RESULTS)
    exact = [f for f in found if f.organisation.code == text.upper()]
    if may_open and exact and not exact[0].successors and request.GET.get("format") != "json":
        return redirect("dashboards:organisation", code=exact[0].organisation.code)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "results": [
                    {"code": f.organisation.code, "name": f.organisation.name} for f in found[:10]
                ]
            }
        )
    return render(
        request,
        "systems/search.html",
        {
            "q": text,
            "found": found,
            "may_open": may_open,
        },
    )

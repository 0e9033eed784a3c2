import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import region_tree


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
        },
    )

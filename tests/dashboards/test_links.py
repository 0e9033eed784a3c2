"""Every link a page offers, followed as each kind of person: none answers 404 or a
server error. Pages are visited breadth-first from each person's starting page, at most a
few per route (and query shape), so every kind of page is reached in bounded time."""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import Resolver404, resolve

from systems.models import Role, Trust

from .test_pages import national_data, signed_in  # noqa: F401 (the fixture)

HREF = re.compile(r'href="([^"#]+)')
PER_ROUTE = 3
# Not followed: signing out ends the crawl; the admin has its own checks; files are
# followed but not parsed.
SKIP = ("/accounts/logout/", "/admin/", "/static/", "/api/docs")


def _route(url: str) -> str:
    parts = urlsplit(url)
    try:
        name = resolve(parts.path).view_name
    except Resolver404:
        name = parts.path
    keys = ",".join(sorted({k for k, _ in parse_qsl(parts.query)}))
    return f"{name}?{keys}"


def crawl(client, start: str, limit: int = 400) -> tuple[list[str], int]:
    queue, seen, per_route, broken = deque([(start, "start")]), {start}, Counter(), []
    visited = 0
    while queue and visited < limit:
        url, offered_by = queue.popleft()
        route = _route(url)
        if per_route[route] >= PER_ROUTE:
            continue
        per_route[route] += 1
        response = client.get(url)
        visited += 1
        if response.status_code in (404, 500) or response.status_code >= 500:
            broken.append(f"{url} ({response.status_code}), offered by {offered_by}")
            continue
        if response.status_code in (301, 302):
            target = response["Location"]
            if target.startswith("/") and target not in seen:
                seen.add(target)
                queue.append((target, url))
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        for href in HREF.findall(response.content.decode()):
            href = href.replace("&amp;", "&")
            if not href.startswith("/") or href.startswith("//") or href.startswith(SKIP):
                continue
            if href not in seen:
                seen.add(href)
                queue.append((href, url))
    return broken, visited


@pytest.mark.parametrize("role", [Role.NATIONAL, Role.REGIONAL, Role.ICB_ANALYST])
def test_no_link_offered_is_broken(client, national_data, role):  # noqa: F811
    rha = Trust.objects.get(code="RHA")
    scope = {Role.REGIONAL: {"region": rha.region}, Role.ICB_ANALYST: {"icb": rha.icb_from_2026}}
    signed_in(client, role, **scope.get(role, {}))
    broken, visited = crawl(client, "/start/")
    assert visited > 15, visited
    assert not broken, "\n".join(broken)

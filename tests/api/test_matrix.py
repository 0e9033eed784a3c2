"""Every endpoint and page, for every role, inside and outside scope (see ``matrix.py``)."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .conftest import NATIONAL_ROLES, ROLES, SCOPED_ROLES
from .matrix import AWAITING_ENTRIES, MATRIX, NOT_CHECKED, NOT_CHECKED_NAMESPACES, Entry


def _fill(template, placeholders):
    if isinstance(template, dict):
        return {k: _fill(v, placeholders) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, placeholders) for v in template]
    return template.format(**placeholders) if isinstance(template, str) else template


def _request(universe, entry: Entry, role: str, kwargs: dict, query: str):
    url = reverse(entry.name, kwargs=kwargs)
    if query:
        url += "?" + query
    client = universe.client(role)
    data = _fill(entry.data, universe.placeholders) if entry.data else None
    if entry.method == "get":
        return client.get(url)
    return client.generic(
        entry.method.upper(),
        url,
        data=__import__("json").dumps(data or {}),
        content_type="application/json",
    )


def _expected(entry: Entry, role: str) -> int:
    if entry.page and role.endswith("_token"):
        role = "anonymous"  # tokens are for the API; pages do not read them
    if role == "anonymous":
        if entry.public:
            return entry.ok
        return 302 if entry.page else 401
    return entry.ok if role in entry.allowed else 404


@pytest.mark.parametrize("entry", MATRIX, ids=lambda e: e.id)
def test_role_scope_matrix(api, entry: Entry, django_db_blocker):
    from django.db import transaction

    placeholders = api.placeholders
    kwargs = _fill(entry.kwargs, placeholders)
    query = _fill(entry.query, placeholders)
    failures = []
    for role in ROLES:
        with transaction.atomic():
            response = _request(api, entry, role, kwargs, query)
            transaction.set_rollback(True)
        expected = _expected(entry, role)
        if response.status_code != expected:
            failures.append(f"{role}: {response.status_code} (expected {expected})")
        elif role == "anonymous" and expected == 302 and not entry.public:
            assert "/accounts/login/" in response["Location"]
        if entry.out is None or expected != entry.ok or role == "anonymous":
            continue
        with transaction.atomic():
            if isinstance(entry.out, dict):
                outside = _request(api, entry, role, _fill(entry.out, placeholders), query)
            else:
                outside = _request(api, entry, role, kwargs, _fill(entry.out, placeholders))
            transaction.set_rollback(True)
        hidden = _fill(entry.hidden, placeholders)
        if isinstance(entry.out, dict):
            want = 404 if role in SCOPED_ROLES and not entry.outside_ok else entry.ok
            if outside.status_code != want:
                failures.append(f"{role} outside scope: {outside.status_code} (expected {want})")
        else:
            shown = f'"{hidden}"' in outside.content.decode()
            if role in SCOPED_ROLES and shown:
                failures.append(f"{role} outside scope: {hidden} is listed")
            if role in NATIONAL_ROLES and not shown:
                failures.append(f"{role}: {hidden} is missing from the national list")
    assert not failures, "\n".join(failures)


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            names |= _url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            if pattern.name is None:
                names.add(f"{namespace}:<unnamed {pattern.pattern}>")
            else:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


def test_matrix_covers_every_url():
    served = {
        name
        for name in _url_names(get_resolver())
        if name.split(":", 1)[0] not in NOT_CHECKED_NAMESPACES
    }
    covered = {e.name for e in MATRIX} | set(NOT_CHECKED) | set(AWAITING_ENTRIES)
    missing = sorted(served - covered)
    assert not missing, (
        "These URLs have no row in tests/api/matrix.py (add one line per endpoint or page): "
        + ", ".join(missing)
    )
    stale = sorted({e.name for e in MATRIX} - served)
    assert not stale, f"Matrix rows for URLs that no longer exist: {', '.join(stale)}"


def test_every_role_is_in_the_matrix_run():
    assert set(SCOPED_ROLES) | set(NATIONAL_ROLES) | {"anonymous"} == set(ROLES)

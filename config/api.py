"""What every API endpoint shares: token authentication, throttling per token, the
permission check, error bodies, CSV output and pagination (all named in
``REST_FRAMEWORK`` settings). View base classes are in ``config.api_views``.

This module imports no REST framework views: REST framework imports the classes named in
settings while its own views module is being imported.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from django.core.cache import cache as default_cache
from django.http import Http404
from rest_framework import exceptions, permissions, renderers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.pagination import PageNumberPagination
from rest_framework.throttling import BaseThrottle

from systems.authorization import Permission, TokenUser, has_permission
from systems.models import ApiToken
from systems.services import note_token_used, record_token_write, token_from_raw

# --- Authentication -----------------------------------------------------------------------


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer nof_…`` (``Token nof_…`` works too)."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Give the token after the word Bearer.")
        token = token_from_raw(parts[1].decode("latin-1"))
        if token is None:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.")
        note_token_used(token)
        if request.method not in permissions.SAFE_METHODS:
            record_token_write(token=token, method=request.method, path=request.path)
        return TokenUser(token), token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


# --- Throttling: per token, per signed-in user, per address for anyone else ---------------


class PerTokenRateThrottle(BaseThrottle):
    """Requests per token (``API_THROTTLE_TOKEN``), per signed-in user
    (``API_THROTTLE_USER``) and per address for anyone else (``API_THROTTLE_ANON``).

    A fixed window counted with one cache increment per request, so the cost does not grow
    with the rate (a shared cache such as Redis makes the limit hold across processes)."""

    cache = default_cache
    timer = time.time

    def _who(self, request) -> tuple[str, str]:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None:
            return "token", f"token-{token.pk}"
        if request.user and request.user.is_authenticated:
            return "user", f"user-{request.user.pk}"
        return "anon", f"anon-{self.get_ident(request)}"

    def allow_request(self, request, view):
        from rest_framework.settings import api_settings

        scope, ident = self._who(request)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if rate is None:
            return True
        allowed, duration = _parse_rate(rate)
        now = self.timer()
        window = int(now // duration)
        self.retry_after = duration - (now - window * duration)
        key = f"throttle:{ident}:{duration}:{window}"
        self.cache.add(key, 0, duration + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.set(key, 1, duration + 1)
            count = 1
        return count <= allowed

    def wait(self):
        return getattr(self, "retry_after", None)


def _parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/min"`` → (1200, 60); the unit is read from its first letter (s, m, h, d)."""
    count, period = rate.split("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


# --- Permission: one check, out of scope answers 404 --------------------------------------


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
        return True


def _offers(view, method: str) -> bool:
    if hasattr(view, "action_map"):  # a view set: the router maps methods to actions
        return getattr(view, "action", None) is not None
    return hasattr(view, method.lower())


# --- Errors: {"errors": [{"field", "message", "code"}]} -----------------------------------


def _flatten(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    if isinstance(detail, dict):
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else key
            out.extend(_flatten(value, f"{field}.{name}" if field and name else name or field))
        return out
    if isinstance(detail, list):
        return [item for value in detail for item in _flatten(value, field)]
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": field, "message": str(detail), "code": code}]


def api_exception_handler(exc, context):
    """Every error answers ``{"errors": [{"field": …, "message": …, "code": …}]}``."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    response.data = {"errors": _flatten(detail)}
    request = context.get("request")
    if request is not None and isinstance(getattr(request, "accepted_renderer", None), CSVRenderer):
        # Errors are always JSON, even for ?format=csv.
        request.accepted_renderer = renderers.JSONRenderer()
        request.accepted_media_type = renderers.JSONRenderer.media_type
    return response


# --- CSV ---------------------------------------------------------------------------------


def _flat_row(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(_flat_row(value, f"{name}."))
        elif isinstance(value, list):
            row[name] = "; ".join(
                str(v) if not isinstance(v, dict) else ", ".join(f"{k}={x}" for k, x in v.items())
                for v in value
            )
        else:
            row[name] = "" if value is None else value
    return row


def _safe_cell(value: Any) -> Any:
    """Cells that a spreadsheet would run as a formula are quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class CSVRenderer(renderers.BaseRenderer):
    """``?format=csv``: the page's results as CSV, nested fields as ``a.b`` columns."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, dict) and "results" in data:
            records = data["results"]
        elif isinstance(data, dict) and "errors" in data:
            records = data["errors"]
        elif isinstance(data, list):
            records = data
        else:
            records = [data]
        rows = [_flat_row(r) if isinstance(r, dict) else {"value": r} for r in records]
        columns: list[str] = []
        for row in rows:
            columns.extend(c for c in row if c not in columns)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _safe_cell(v) for k, v in row.items()})
        return out.getvalue().encode("utf-8")


# --- Pagination ---------------------------------------------------------------------------


class PagePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def not_found(request, *args, **kwargs):
    """Unknown URLs under ``/api/``: the JSON error body, as every endpoint answers (a path
    missing only its final slash is redirected, as Django does elsewhere)."""
    from django.http import HttpResponsePermanentRedirect, JsonResponse
    from django.urls import Resolver404, resolve

    if request.method in ("GET", "HEAD") and not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "not-found":
            query = request.META.get("QUERY_STRING", "")
            target = request.path + "/" + ("?" + query if query else "")
            return HttpResponsePermanentRedirect(target)
    return JsonResponse(
        {"errors": [{"field": None, "message": "Not found.", "code": "not_found"}]}, status=404
    )

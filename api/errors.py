"""Every error answers ``{"errors": [{"field", "message", "code"}]}``; an
:class:`core.errors.ApplicationError` raised by a service is a 400 with its message."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework import exceptions, renderers

from core.errors import ApplicationError

from .renderers import CSVRenderer


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
    """Every error answers ``{"errors": [{"field": …, "message": …, "code": …}]}``.

    A service's refusal (:class:`ApplicationError`) is a 400 naming the input at fault, or
    else what the endpoint acts on (the view's ``error_field``, such as ``"grant"``)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, ApplicationError):
        field = exc.field or getattr(context.get("view"), "error_field", None)
        exc = exceptions.ValidationError({field or "non_field_errors": [str(exc)]})
    # REST framework's views module imports the classes named in settings, this one
    # among them: imported here, not at the top.
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


def not_found(request, *args, **kwargs):
    """Unknown URLs under ``/api/``: the JSON error body, as every endpoint answers (a path
    missing only its final slash is redirected, as Django does elsewhere)."""
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

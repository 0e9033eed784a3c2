"""Every error answers ``{"errors": [{"field", "message", "code"}]}``; an
:class:`core.errors.ApplicationError` raised by a service is a 400 with its message."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, renderers

from core.errors import ApplicationError

from .renderers import CSVRenderer

CSRF_MESSAGE = (
    "The CSRF check failed: with a session, send the csrftoken cookie's value in the "
    "X-CSRFToken header (or use a token: Authorization: Bearer …)."
)


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
    elif isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF"):
        exc = exceptions.PermissionDenied(CSRF_MESSAGE, code="csrf_failed")
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


def csrf_failure(request, reason: str = "") -> HttpResponse:
    """A refused CSRF check: the JSON error body under ``/api/`` (a script using a session
    must send the ``X-CSRFToken`` header), the service's own page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"errors": [{"field": None, "message": CSRF_MESSAGE, "code": "csrf_failed"}]},
            status=403,
        )
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


@csrf_exempt  # changes nothing: an unknown path answers 404 whatever the method
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

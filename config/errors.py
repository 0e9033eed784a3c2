"""The page for a server error, with the service's header (its context processors run,
unlike Django's default), falling back to plain text if even that fails."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render

logger = logging.getLogger(__name__)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return HttpResponseServerError(
            b'{"errors": [{"field": null, "message": "Server error.", "code": "error"}]}',
            content_type="application/json",
        )
    try:
        return render(request, "500.html", status=500)
    except Exception:  # the page itself failed (the database is down, say)
        logger.exception("the server error page could not be drawn")
        return HttpResponseServerError(
            b"Sorry, there is a problem with the service. Try again later.",
            content_type="text/plain; charset=utf-8",
        )

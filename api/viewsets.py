"""Base classes for API views: conditional GET on lists, cached result lists and read-only
view sets."""

from __future__ import annotations

import datetime
import hashlib

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from rest_framework import status, viewsets

from systems.authorization import Permission, scope_key
from systems.models import AuditEvent

from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
from .permissions import HasPermission


class ConditionalListMixin:
    """ETag (a digest of the body) and Last-Modified (from :meth:`last_modified`) on list
    answers; a matching ``If-None-Match`` / ``If-Modified-Since`` answers 304."""

    def last_modified(self, request) -> datetime.datetime | None:
        return None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if (
            request.method not in ("GET", "HEAD")
            or getattr(self, "action", None) != "list"
            or response.status_code != status.HTTP_200_OK
        ):
            return response
        if hasattr(response, "render"):
            response.render()
        cached = getattr(self, "_cached", None)
        modified = cached[2] if cached else self.last_modified(request)
        store = getattr(self, "_cache_key", None)
        if store:
            kept = {h: response[h] for h in CACHED_HEADERS if response.has_header(h)}
            cache.set(
                store,
                (response.content, response["Content-Type"], modified, kept),
                self.result_cache_seconds,
            )
        etag = '"' + hashlib.blake2b(response.content, digest_size=16).hexdigest() + '"'
        response["ETag"] = etag
        if modified is not None:
            response["Last-Modified"] = http_date(modified.timestamp())
        return get_conditional_response(
            request,
            etag=etag,
            last_modified=int(modified.timestamp()) if modified else None,
            response=response,
        )


def data_version() -> int:
    """Grows with every recorded change (every state change writes an audit event,
    ADR 0006), so an answer cached under an older version is never served."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {AuditEvent._meta.db_table}")
        return cursor.fetchone()[0] or 0


#: Headers a cached answer is served with again (which run the results come from).
CACHED_HEADERS = ("X-Results-Run",)


class ResultCacheMixin:
    """Lists of results (completed runs are immutable) are kept in the cache per query,
    caller's scope and :func:`data_version`, for ``result_cache_seconds`` at most.

    Only JSON is cached: the browsable API's HTML carries the signed-in person's name and
    CSRF token, so it is always rendered afresh for its caller."""

    result_cache_seconds = 300
    same_for_every_scope = False

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format != "json":
            return super().list(request, *args, **kwargs)
        scope = "all" if self.same_for_every_scope else scope_key(request.user)
        key = (
            "api-result:"
            + hashlib.blake2b(
                "|".join(
                    [
                        type(self).__name__,
                        request.get_full_path(),
                        request.accepted_renderer.format,
                        scope,
                        str(data_version()),
                    ]
                ).encode(),
                digest_size=20,
            ).hexdigest()
        )
        hit = cache.get(key)
        if hit is not None:
            self._cached = hit
            response = HttpResponse(hit[0], content_type=hit[1])
            for header, value in hit[3].items():
                response[header] = value
            return response
        self._cache_key = key
        return super().list(request, *args, **kwargs)


class ReadOnlyApiViewSet(ConditionalListMixin, viewsets.ReadOnlyModelViewSet):
    """Read endpoints: ``permission`` is required (404 without it)."""

    permission_classes = [HasPermission]
    permission: str = Permission.VIEW_ORGANISATION

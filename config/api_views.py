"""Base classes for API views: conditional GET on lists, read-only view sets, and the token
scheme in the OpenAPI schema."""

from __future__ import annotations

import datetime
import hashlib

from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import status, viewsets

from systems.authorization import Permission

from .api import ApiTokenAuthentication, HasPermission


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}


# --- Base view set ------------------------------------------------------------------------


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
        response.render()
        etag = '"' + hashlib.blake2b(response.content, digest_size=16).hexdigest() + '"'
        response["ETag"] = etag
        modified = self.last_modified(request)
        if modified is not None:
            response["Last-Modified"] = http_date(modified.timestamp())
        conditional = get_conditional_response(
            request,
            etag=etag,
            last_modified=int(modified.timestamp()) if modified else None,
            response=response,
        )
        return conditional


class ReadOnlyApiViewSet(ConditionalListMixin, viewsets.ReadOnlyModelViewSet):
    """Read endpoints: ``permission`` is required (404 without it)."""

    permission_classes = [HasPermission]
    permission: str = Permission.VIEW_ORGANISATION


# --- The error body in the schema ---------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["field", "message", "code"],
            },
        }
    },
    "required": ["errors"],
}
ERROR_RESPONSES = {
    "400": "The request is not valid: each error names the field.",
    "401": "Not signed in, or the token is not valid.",
    "404": "Not found, or outside the caller's scope.",
    "429": "Too many requests for this token: retry after the Retry-After seconds.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing: every operation may answer the error body."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, description in ERROR_RESPONSES.items():
                if code == "400" and method == "get" and "{" in path:
                    continue
                operation["responses"].setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result

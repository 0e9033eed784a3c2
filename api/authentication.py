"""Token authentication for the API."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from systems.authorization import TokenUser
from systems.services import note_token_used, token_from_raw


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
        # A write is recorded once it is let through (api.permissions.HasPermission), so a
        # refused one leaves no audit row and empties no cache.
        return TokenUser(token), token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

"""Signing in, with repeated failures slowed down.

After ``SIGN_IN_ATTEMPTS`` failed attempts for one user name from one address within
``SIGN_IN_LOCKOUT_SECONDS``, further attempts from there are refused, even with the right
password, until the window has passed; a successful sign-in clears the count. Keyed on
the user name *and* the address, so nobody can lock a colleague out from elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)


def _key(username: str, address: str) -> str:
    digest = hashlib.blake2b(f"{username.casefold()}|{address}".encode(), digest_size=16)
    return "sign-in-failures:" + digest.hexdigest()


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        key = _key(username, address)
        failures, since = cache.get(key, (0, time.time()))
        window = settings.SIGN_IN_LOCKOUT_SECONDS
        if failures >= settings.SIGN_IN_ATTEMPTS:
            minutes = max(1, round((since + window - time.time()) / 60))
            logger.warning("sign-in refused after %s failures for %r", failures, username)
            raise ValidationError(
                f"Too many failed sign-ins for this user name: try again in {minutes} "
                f"minute{'s' if minutes != 1 else ''}.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            cache.set(key, (failures + 1, since if failures else time.time()), window)
            raise
        cache.delete(key)
        return cleaned


class SignInView(LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"

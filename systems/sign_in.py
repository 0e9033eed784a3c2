"""Signing in, with repeated failures slowed down.

Failed attempts are counted for one user name from one address (``SIGN_IN_ATTEMPTS``), for
one user name from anywhere (``SIGN_IN_ACCOUNT_ATTEMPTS``, higher, so a colleague elsewhere
is not locked out by a few mistakes) and for one address whatever the names
(``SIGN_IN_ADDRESS_ATTEMPTS``). Past any limit, attempts are refused, even with the right
password, until ``SIGN_IN_LOCKOUT_SECONDS`` have passed; each lock is audited. A successful
sign-in clears its own count.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from . import audit
from .actors import SystemActor

logger = logging.getLogger(__name__)


def _key(*parts: str) -> str:
    digest = hashlib.blake2b("|".join(parts).casefold().encode(), digest_size=16)
    return "sign-in-failures:" + digest.hexdigest()


def _limits() -> list[tuple[str, str, int]]:
    """(what is counted, the message's words, how many failures lock it)."""
    return [
        ("pair", "this user name", settings.SIGN_IN_ATTEMPTS),
        ("account", "this user name", settings.SIGN_IN_ACCOUNT_ATTEMPTS),
        ("address", "this network address", settings.SIGN_IN_ADDRESS_ATTEMPTS),
    ]


class ThrottledAuthenticationForm(AuthenticationForm):
    """Failures are counted three ways: for the user name from this address (locks soon),
    for the user name from anywhere and for the address whatever the name (lock later,
    against guessing from many addresses or many names). Each lock is audited once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username."
        self.fields["password"].error_messages["required"] = "Enter your password."

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        keys = {
            "pair": _key("pair", username, address),
            "account": _key("account", username),
            "address": _key("address", address),
        }
        counts = {kind: cache.get(key, (0, time.time())) for kind, key in keys.items()}
        window = settings.SIGN_IN_LOCKOUT_SECONDS
        for kind, words, limit in _limits():
            failures, since = counts[kind]
            if failures >= limit:
                minutes = max(1, round((since + window - time.time()) / 60))
                logger.warning("sign-in refused (%s) after %s failures", kind, failures)
                raise ValidationError(
                    f"Too many failed sign-ins for {words}: try again in {minutes} "
                    f"minute{'s' if minutes != 1 else ''}.",
                    code="throttled",
                )
        try:
            cleaned = super().clean()
        except ValidationError:
            self._count_failure(keys, counts, username, address)
            raise
        cache.delete(keys["pair"])
        return cleaned

    def _count_failure(
        self,
        keys: dict[str, str],
        counts: dict[str, tuple[int, float]],
        username: str,
        address: str,
    ) -> None:
        window = settings.SIGN_IN_LOCKOUT_SECONDS
        for kind, _, limit in _limits():
            failures, since = counts[kind]
            cache.set(keys[kind], (failures + 1, since if failures else time.time()), window)
            if failures + 1 == limit:
                audit.record(
                    actor=SystemActor("sign-in"),
                    action="sign_in.locked",
                    object_type="sign-in",
                    object_id=username[:64] if kind != "address" else address,
                    object_repr=f"{username} from {address}"[:200],
                    after={"counted": kind, "failures": limit, "minutes": window // 60},
                    reason=f"{limit} failed sign-ins within {window // 60} minutes",
                )


class SignInView(LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # Django's view names the host here; the page names the service.
        context["site_name"] = settings.SITE_NAME
        return context


class SignOutView(LogoutView):
    """Sign out, then back to the sign-in page, saying so."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.info(request, "You have signed out.")
        return response

"""Request limits per token, per signed-in user and per address."""

from __future__ import annotations

import time

from django.core.cache import cache as default_cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from systems.models import ApiToken


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

"""Content negotiation that refuses a ``?format=`` it cannot give (empty or unknown)
instead of ignoring it."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class StrictContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        name = self.settings.URL_FORMAT_OVERRIDE
        renderers = list(renderers)
        if not format_suffix and name and name in request.query_params:
            wanted = request.query_params[name]
            offered = [r.format for r in renderers]
            if wanted not in offered:
                raise NotFound(
                    f"No answer in the format {wanted!r}: this endpoint gives "
                    f"{' or '.join(offered)} (leave format out for JSON)."
                )
        return super().select_renderer(request, renderers, format_suffix)

"""Small inline charts for table cells: a distribution strip and a trend line. Each is an
SVG drawn from numbers only (so it is safe to put in a page as it is) and hidden from
screen readers, because the same figures are written in the cell beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 120, 18


def _x(value: float, low: float, high: float) -> float:
    if high <= low:
        return WIDTH / 2
    return round(2 + (WIDTH - 4) * (value - low) / (high - low), 1)


def _ok(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def distribution_strip(
    low: float, q1: float, median: float, q3: float, high: float, value: float | None
) -> SafeString:
    """The peers' range (a line), interquartile range (a box), median (a tick) and this
    organisation's value (a dot)."""
    if not _ok(low, q1, median, q3, high):
        return mark_safe("")
    x = [_x(v, low, high) for v in (low, q1, median, q3, high)]
    dot = ""
    if value is not None and math.isfinite(value):
        dx = _x(min(max(value, low), high), low, high)
        dot = f'<circle cx="{dx}" cy="9" r="4" class="figure__dot"/>'
    return mark_safe(
        f'<svg class="figure figure--strip" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-hidden="true" focusable="false">'
        f'<line x1="{x[0]}" y1="9" x2="{x[4]}" y2="9" class="figure__range"/>'
        f'<rect x="{x[1]}" y="4" width="{max(x[3] - x[1], 1)}" height="10" class="figure__box"/>'
        f'<line x1="{x[2]}" y1="2" x2="{x[2]}" y2="16" class="figure__median"/>{dot}</svg>'
    )


def trend_line(values: Sequence[float | None], reference: Sequence[float | None]) -> SafeString:
    """Two lines over the same periods: the organisation's values (solid) and a reference
    such as the peer median (dashed). Gaps where a period has no value."""
    known = [v for v in [*values, *reference] if v is not None and math.isfinite(v)]
    if len(values) < 2 or not known:
        return mark_safe("")
    low, high = min(known), max(known)
    step = (WIDTH - 4) / (len(values) - 1)

    def path(series: Sequence[float | None]) -> str:
        parts, pen = [], "M"
        for i, v in enumerate(series):
            if v is None or not math.isfinite(v):
                pen = "M"
                continue
            y = 9.0 if high <= low else round(16 - 14 * (v - low) / (high - low), 1)
            parts.append(f"{pen}{round(2 + i * step, 1)} {y}")
            pen = "L"
        return " ".join(parts)

    return mark_safe(
        f'<svg class="figure figure--trend" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-hidden="true" focusable="false">'
        f'<path d="{path(reference)}" class="figure__reference"/>'
        f'<path d="{path(values)}" class="figure__line"/></svg>'
    )

"""Display text for dashboards: segment tags, directions of travel, period choices, so
templates hold no logic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEGMENT_TAGS = {1: "green", 2: "aqua", 3: "yellow", 4: "orange", 5: "red"}
SYNTHETIC_SOURCE = "synthetic demo data"


def segment_tag(segment: int | None) -> dict[str, str]:
    if segment is None:
        return {"label": "Not segmented", "css": "nhsuk-tag nhsuk-tag--grey"}
    return {
        "label": f"Segment {segment}",
        "css": f"nhsuk-tag nhsuk-tag--{SEGMENT_TAGS.get(segment, 'grey')}",
    }


def direction(now: int | None, before: int | None) -> str:
    """Better, worse or the same (a lower segment is better)."""
    if now is None or before is None:
        return "New" if before is None and now is not None else ""
    if now < before:
        return f"Improved ({before} → {now})"
    if now > before:
        return f"Worse ({before} → {now})"
    return "Same"


def fmt(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def span(low: Any, high: Any, places: int | None = 2) -> str:
    if low is None or high is None:
        return ""
    if places is None:
        return f"{low} to {high}"
    return f"{low:.{places}f} to {high:.{places}f}"


@dataclass
class PeriodChoice:
    slug: str
    label: str
    selected: bool

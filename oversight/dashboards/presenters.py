"""Display text for dashboards: segment tags, directions of travel, period choices, so
templates hold no logic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SEGMENT_TAGS = {1: "green", 2: "aqua", 3: "yellow", 4: "orange", 5: "red"}


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


def action_owner(action: Any) -> str:
    """The board owner of an oversight action, or whether one is still needed."""
    if action.board_owner:
        return action.board_owner
    return "Needed, not yet named" if action.board_owner_required else "Not needed"


def is_capped(assessment: Mapping[str, Any]) -> bool:
    """Whether the financial override capped an assessment's segment: the flag is set and
    the segment without it is 1 or 2, which the override raises to 3. ``assessment`` is a
    row of :func:`oversight.dashboards.selectors.assessment_rows`."""
    return _capped(assessment["financial_override"], assessment["unadjusted_segment"])


def _capped(flagged: bool, unadjusted: int | None) -> bool:
    return bool(flagged) and unadjusted is not None and unadjusted < 3


def override_note(assessment: Any) -> str:
    """What the financial override did to an assessment's segment, in words.

    The override raises a flagged organisation's segment to 3 (``max(unadjusted, 3)``), so
    it changes nothing when the unadjusted segment is already 3 or worse."""
    if not assessment.financial_override:
        return ""
    unadjusted = assessment.unadjusted_segment
    if unadjusted is None:
        return "The financial override flag is set; without a segment it changed nothing."
    if _capped(True, unadjusted):
        return f"Capped at segment 3 by the financial override (segment {unadjusted} without it)."
    return (
        f"The financial override applies but changes nothing: its average alone gives "
        f"segment {unadjusted}, which is no better than the cap of segment 3."
    )


def boundary_text(assessment: Any, boundaries: dict | None) -> str:
    """The distances to the neighbouring segments (``engine.explain.boundary_distances``)
    in words: how much lower the 2-dp average must be to reach the better segment, how much
    higher to fall to the worse one (a lower average is better). They are distances for
    the segment the average gives, before the financial override and segment 5."""
    if not boundaries or boundaries.get("segment") is None:
        return ""
    segment = boundaries["segment"]
    better, worse = boundaries.get("to_better"), boundaries.get("to_worse")
    average = assessment.average_score
    average = round(average, 2) if average is not None else None
    if better is None:
        first = "segment 1 is the best an average can give"
    else:
        target = f" ({average - better:.2f} or less)" if average is not None else ""
        first = f"an average {better:.2f} lower{target} reaches segment {segment - 1}"
    if worse is None:
        second = "no average gives a segment worse than 4"
    else:
        target = f" ({average + worse:.2f} or more)" if average is not None else ""
        second = f"{worse:.2f} higher{target} and it falls to segment {segment + 1}"
    text = f"{first}; {second}."
    if segment != assessment.final_segment:
        before = "Before the financial override and segment 5,"
        text = f"{before} the average gives segment {segment}: {text}"
    return text[0].upper() + text[1:]


def reach_text(boundaries: dict | None, leverage: list[dict]) -> str:
    """What it would take to reach the better segment, with the metrics that would do it
    alone (each improved by a quarter of its pool): "To reach segment 2 the average must
    fall by 0.04: improving any one of A or B does it."."""
    if not boundaries or boundaries.get("to_better") is None:
        return ""
    needed = boundaries["to_better"]
    target = boundaries["segment"] - 1
    enough = [m for m in leverage if -(m.get("average_change") or 0) >= needed - 1e-9]
    named = [f"{m.get('name') or m['metric_id']} ({m['metric_id']})" for m in enough]
    text = f"To reach segment {target} the average must fall by {needed:.2f}"
    if not named:
        return text + ": no single metric improved by a quarter of its pool does it alone."
    choices = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]
    any_one = "improving" if len(named) == 1 else "improving any one of"
    return f"{text}: {any_one} {choices} by a quarter of its pool does it."


def leverage_line(metric: dict) -> str:
    """One leverage metric with its numbers."""
    change = metric.get("average_change") or 0
    return (
        f"{metric.get('name') or metric['metric_id']} ({metric['metric_id']}): score "
        f"{metric['score']:.2f} → {metric['improved_score']:.2f}, the average "
        f"{'falls' if change < 0 else 'moves'} by {abs(change):.2f}"
    )

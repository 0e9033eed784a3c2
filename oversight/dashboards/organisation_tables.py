"""The organisation page's tables of metrics and domains: each metric's value beside its
peers' and its trend, in plain words; each domain's score and the segment it would give."""

from __future__ import annotations

from typing import Any

from core.figures import distribution_strip, trend_line
from core.tables import Column, Table

from ..engine.segmentation import segment_of
from ..selectors import Explanation
from .selectors import OrganisationRecord, PeriodPair


def metrics_table(pair: PeriodPair, record: OrganisationRecord) -> Table:
    explanation = record.explanation
    if explanation is None or pair.current is None:
        return Table("metrics", "Metrics", [])
    run_ids = [pair.run_id_of(p) for p in pair.periods]
    held = [(p, r) for p, r in zip(pair.periods, run_ids, strict=True) if r]
    rows = []
    for m in explanation.metrics:
        spread = record.spreads.get((pair.current_run_id or 0, m.metric_id))
        values = [record.values.get((r, m.metric_id)) for _, r in held]
        medians = [
            s.median if (s := record.spreads.get((r, m.metric_id))) else None for _, r in held
        ]
        rows.append(
            {
                "metric": f"{m.name} ({m.metric_id})",
                "domain": m.domain,
                "value": m.text or m.value,
                "units": m.units,
                "peers": _spread_text(spread),
                "strip": distribution_strip(
                    spread.low, spread.q1, spread.median, spread.q3, spread.high, m.value
                )
                if spread and m.value is not None
                else "",
                "trend": _trend_text(held, values),
                "trend_line": trend_line(values, medians),
                "rank": m.rank_of_pool,
                "score": m.score,
                "status": STATUS_LABELS.get(m.status, m.status),
                "pool": m.pool_note,
            }
        )
    return Table(
        "metrics",
        f"Every metric in {pair.current.label}",
        [
            Column("metric", "Metric"),
            Column("domain", "Domain"),
            Column("value", "Value", numeric=True, places=2),
            Column("units", "Units"),
            Column("peers", "Peers: median (middle half)", figure="strip"),
            Column("trend", "Trend (dashed: peer median)", figure="trend_line"),
            Column("rank", "Rank / N"),
            Column("score", "Score", numeric=True, places=2),
            Column("status", "Status"),
            Column("pool", "Pool"),
        ],
        rows,
    )


# What each metric status means, in words (oversight/engine/scoring.py).
STATUS_LABELS = {
    "scored": "Scored",
    "meets_standard": "Meets the standard (scored 1)",
    "below_floor": "Below the floor (scored 4)",
    "supplied": "Score as published by NHS England",
    "missing": "No value: not scored",
    "out_of_window": "Rating too old to count: not scored",
    "invalid": "Value cannot be scored",
    "contextual": "Context only: never scored",
}


def _spread_text(spread: Any) -> str:
    if spread is None:
        return ""
    return f"{spread.median:.3g} ({spread.q1:.3g} to {spread.q3:.3g}; {spread.count} organisations)"


def _trend_text(held: list[tuple[Any, int]], values: list[float | None]) -> str:
    known = [(p.label, v) for (p, _), v in zip(held, values, strict=True) if v is not None]
    if len(known) < 2:
        return ""
    return "; ".join(f"{label}: {v:.3g}" for label, v in known)


def domains_table(explanation: Explanation | None) -> Table:
    """The domain scores and the segment each would give under the same cut points."""
    if explanation is None:
        return Table("domains", "Domains", [])
    cuts = explanation.cut_points
    scores = explanation.assessment.domain_scores or {}
    return Table(
        "domains",
        "Domain scores (1 best, 4 worst)",
        [
            Column("domain", "Domain"),
            Column("score", "Score", numeric=True, places=2),
            Column("segment", "Segment at the same cut points", numeric=True),
        ],
        [
            {
                "domain": domain,
                "score": score,
                "segment": segment_of(score, cuts) if cuts and score is not None else None,
            }
            for domain, score in scores.items()
        ],
        empty="No domain scores for this period.",
    )

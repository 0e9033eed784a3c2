"""NHS England's scores beside ours, metric by metric.

Where a file carries NHS England's scores (``OF10xx``) they win and are used as given; when
the same file, or another upload, also carries the values (``OF00xx``), the run scores the
values too and keeps that score beside the supplied one (``MetricScore.computed_score``).
This module lines the two up and names the likely cause of each difference:

``partial pool``   the metric is ranked nationally and the run's pool is incomplete;
``tied value``     another organisation in the pool has the same value to the precision
                   stored, and NHS England ranks the unrounded values;
``rounding``       a hundredth apart: a tie in the last place rounded the other way;
``unexplained``    none of these.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from systems.authorization import is_national, visible_organisations

from ..models import MetricDefinition, MetricScore, ReportingPeriod, SegmentationRun

CAUSES = ("partial pool", "tied value", "rounding", "unexplained")
CSV_COLUMNS = [
    "org_code",
    "org_name",
    "metric_id",
    "metric",
    "value",
    "published_score",
    "our_score",
    "difference",
    "cause",
]


@dataclass(frozen=True)
class MetricDifference:
    code: str
    name: str
    metric_id: str
    metric: str
    value: float | None
    published: float
    ours: float
    cause: str

    @property
    def difference(self) -> float:
        return round(self.ours - self.published, 2)

    @property
    def matches(self) -> bool:
        return abs(self.ours - self.published) < 0.005


@dataclass
class MetricComparison:
    period: ReportingPeriod
    run_id: int | None
    rows: list[MetricDifference] = field(default_factory=list)

    @property
    def differing(self) -> list[MetricDifference]:
        return [r for r in self.rows if not r.matches]

    @property
    def by_metric(self) -> list[dict[str, Any]]:
        """Per metric: scores compared, how many match, and the differences by cause."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.rows:
            entry = out.setdefault(
                r.metric_id,
                {"metric_id": r.metric_id, "metric": r.metric, "compared": 0, "matching": 0},
            )
            entry["compared"] += 1
            entry["matching"] += r.matches
            if not r.matches:
                entry.setdefault("causes", Counter())[r.cause] += 1
        for entry in out.values():
            causes = entry.pop("causes", Counter())
            entry["causes"] = {c: causes[c] for c in CAUSES if causes[c]}
        return sorted(out.values(), key=lambda e: e["metric_id"])

    def as_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for r in self.rows:
            writer.writerow(
                [
                    r.code,
                    r.name,
                    r.metric_id,
                    r.metric,
                    "" if r.value is None else r.value,
                    f"{r.published:.2f}",
                    f"{r.ours:.2f}",
                    f"{r.difference:+.2f}",
                    "" if r.matches else r.cause,
                ]
            )
        return buffer.getvalue()


def metric_comparison(
    period: ReportingPeriod, user: Any = None, run_id: int | None = None
) -> MetricComparison:
    """Every score of the period's published run (or run ``run_id``) that was supplied and
    also computed from a value, with the likely cause of each difference; only
    organisations ``user`` sees."""
    run_id = run_id or period.current_run_id
    if not run_id:
        return MetricComparison(period, None)
    run = SegmentationRun.objects.get(pk=run_id)
    scores = MetricScore.objects.filter(run_id=run_id).select_related("organisation")
    if user is not None and not is_national(user):
        scores = scores.filter(organisation__in=visible_organisations(user))
    pairs = list(scores.filter(status="supplied", computed_score__isnull=False))
    if not pairs:
        return MetricComparison(period, run_id)
    names = dict(
        MetricDefinition.objects.filter(methodology_id=run.methodology_id).values_list(
            "score_id", "name"
        )
    )
    pools = {p["metric_id"]: p for p in run.pools or []}
    tied = _tied(run_id, {p.metric_id for p in pairs}, pools)
    partial = run.partial_pools()
    rows = []
    for s in pairs:
        assert s.score is not None and s.computed_score is not None
        rows.append(
            MetricDifference(
                code=s.organisation.code,
                name=s.organisation.name,
                metric_id=s.metric_id,
                metric=names.get(s.metric_id, s.metric_id),
                value=s.value,
                published=s.score,
                ours=s.computed_score,
                cause=_cause(s, partial, tied),
            )
        )
    rows.sort(key=lambda r: (r.matches, r.metric_id, r.code))
    return MetricComparison(period, run_id, rows)


def _tied(
    run_id: int, metric_ids: set[str], pools: dict[str, dict[str, Any]]
) -> set[tuple[int, str]]:
    """(organisation id, metric id) whose value equals another's in the same pool."""
    rows = list(
        MetricScore.objects.filter(
            run_id=run_id, metric_id__in=metric_ids, value__isnull=False
        ).values_list("organisation_id", "organisation__peer_group", "metric_id", "value")
    )

    def pool_key(group: str, metric_id: str, value: float | None) -> tuple[str, str, Any]:
        national = pools.get(metric_id, {}).get("pool") == "national"
        return ("national" if national else group, metric_id, value)

    seen = Counter(pool_key(group, m, v) for _, group, m, v in rows)
    return {(org_id, m) for org_id, group, m, v in rows if seen[pool_key(group, m, v)] > 1}


def _cause(
    score: MetricScore, partial: dict[str, dict[str, Any]], tied: set[tuple[int, str]]
) -> str:
    assert score.score is not None and score.computed_score is not None
    if score.metric_id in partial:
        return "partial pool"
    if (score.organisation_id, score.metric_id) in tied:
        return "tied value"
    if abs(score.computed_score - score.score) <= 0.01 + 1e-9:
        return "rounding"
    return "unexplained"

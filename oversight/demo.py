"""Synthetic but plausible inputs for the real organisations, for demonstrations.

Every value made here is invented. Each trust gets a stable underlying performance level
so that its results hang together across metrics and drift a little between periods.
The source of every stored value says ``synthetic demo data``.
"""

from __future__ import annotations

import datetime
import zlib

import numpy as np

from systems.models import Organisation, OrganisationKind, existed_on_q

from .inputs import InputRow
from .models import InputKind, MetricDefinition, ReportingPeriod

DEMO_SOURCE = "synthetic demo data"

# value id: (typical value, spread, lowest, highest) in the metric's units.
VALUE_SHAPES: dict[str, tuple[float, float, float, float]] = {
    "OF0003": (2.5, 1.5, 0, 10),
    "OF0005": (3, 3, 0, 25),
    "OF0010": (77, 5, 55, 95),
    "OF0011": (69, 8, 40, 95),
    "OF0013": (75, 6, 55, 98),
    "OF0014": (9, 4, 0.5, 25),
    "OF0016": (70, 12, 20, 100),
    "OF0017": (33, 6, 20, 55),
    "OF0020": (1, 0.6, 0, 5),
    "OF0023": (60, 7, 35, 95),
    "OF0025": (1.0, 0.4, 0.1, 3),
    "OF0041": (2, 5, -15, 20),
    "OF0048": (30, 8, 5, 60),
    "OF0057": (80, 8, 50, 99),
    "OF0061": (6.5, 0.3, 5.5, 7.5),
    "OF0063": (18, 8, 0, 60),
    "OF0079": (-0.3, 1.2, -5, 3),
    "OF0081": (-0.2, 0.6, -3, 2),
    "OF0082": (5, 0.9, 2.5, 8.5),
    "OF0084": (6.8, 0.3, 5.8, 7.6),
    "OF0085": (0.5, 2, -6, 6),
    "OF0086": (0, 6, -20, 25),
    "OF0088": (25, 8, 5, 60),
    "OF0106": (0, 2, -8, 8),
}
RATINGS = ["Outstanding", "Good", "Requires improvement", "Inadequate"]
MISSING_SHARE = 0.03


def _level(code: str) -> float:
    """A trust's stable underlying performance (positive = better), from its code."""
    rng = np.random.default_rng(zlib.crc32(code.encode()))
    return float(rng.normal())


def demo_rows(period: ReportingPeriod, *, seed: int = 2025) -> list[InputRow]:
    metrics = list(MetricDefinition.objects.filter(methodology=period.methodology))
    trusts = list(
        Organisation.objects.filter(existed_on_q(period.end_date), kind=OrganisationKind.TRUST)
        .order_by("code")
        .values_list("id", "code", "peer_group")
    )
    rng = np.random.default_rng(seed + period.start_date.toordinal())
    rows: list[InputRow] = []
    for org_id, code, peer_group in trusts:
        level = _level(code) + rng.normal(scale=0.25)
        for metric in metrics:
            if peer_group not in metric.peer_groups or rng.random() < MISSING_SHARE:
                continue
            quality = 0.7 * level + 0.7 * rng.normal()
            if metric.value_id in VALUE_SHAPES:
                centre, spread, low, high = VALUE_SHAPES[metric.value_id]
                sign = -1 if metric.direction == "lower" else 1
                value = float(np.clip(centre + sign * spread * quality, low, high))
                rows.append(
                    InputRow(org_id, metric.value_id, InputKind.VALUE, value=round(value, 2))
                )
            elif metric.method == "supplied":
                score = float(np.clip(round(2.5 - quality, 0), 1, 4))
                rows.append(InputRow(org_id, metric.score_id, InputKind.SCORE, value=score))
            elif metric.method == "rating":
                band = int(np.clip(round(1.6 - quality * 0.8), 0, 3))
                awarded = period.end_date - datetime.timedelta(days=int(rng.integers(60, 1400)))
                rows.append(
                    InputRow(
                        org_id,
                        metric.score_id,
                        InputKind.VALUE,
                        text=RATINGS[band],
                        reporting_date=awarded,
                    )
                )
    # The financial override flag as NHS England supplies it: a planned deficit, or
    # deficit support received by a few trusts planning break-even.
    planned = {r.organisation_id: r.value for r in rows if r.metric_id == "OF0079"}
    for org_id, value in planned.items():
        support = rng.random() < 0.08
        flag = 1.0 if (value is not None and value < 0) or support else 0.0
        rows.append(InputRow(org_id, "OF5004", InputKind.OVERRIDE_FLAG, value=flag))
    return rows

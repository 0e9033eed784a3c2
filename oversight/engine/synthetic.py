"""Synthetic, reproducible periods for benchmarks and load tests (no real data).

``synthetic_inputs(n_orgs, n_metrics, seed)`` builds a methodology shaped like NOF 2025/26
(rank metrics with and without standards/floors, national and peer-group pools, banded
finance with combined finance, a CQC-style rating, a supplied score, three acute infection
metrics weighted 1/3) and a period of inputs for it: ~60% acute, ~33% mental health and
community, ~7% ambulance trusts, ~5% of values missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from .pipeline import EngineInputs
from .spec import MethodologySpec

__all__ = ["synthetic_inputs", "synthetic_methodology"]

PROVIDER_GROUPS = ["acute", "mental-health-and-community", "ambulance"]
DOMAINS = [
    "Access to services",
    "Effectiveness and experience",
    "Patient safety",
    "People and workforce",
    "Finance and productivity",
]
_FIXED = 8  # finance trio, rating, supplied, three infection metrics


def synthetic_methodology(n_metrics: int = 25, replicates: int = 1000) -> MethodologySpec:
    """A NOF-shaped methodology with ``n_metrics`` metrics (at least 9)."""
    if n_metrics < _FIXED + 1:
        raise ValueError(f"n_metrics must be at least {_FIXED + 1}")
    groups = list(PROVIDER_GROUPS)
    metrics = [*_fixed_metrics(groups), *_rank_metrics(n_metrics - _FIXED, groups)]
    return MethodologySpec.from_dict(
        {
            "slug": "synthetic",
            "name": "Synthetic NOF-shaped methodology",
            "segmentation": {
                "method": "quartiles",
                "quartile_pool": "national",
                "segmented_peer_groups": groups,
                "derive_override_from": "OF0079",
                "replicates": replicates,
            },
            "domains": DOMAINS,
            "peer_groups": [*groups, "icb"],
            "metrics": metrics,
        }
    )


def _fixed_metrics(groups: list[str]) -> list[dict]:
    """The finance trio, a rating, a supplied score and three infection metrics (1/3)."""
    metrics: list[dict[str, Any]] = [
        {
            "score_id": "OF1079",
            "value_id": "OF0079",
            "name": "Planned surplus/deficit",
            "domain": "Finance and productivity",
            "direction": "higher",
            "method": "bands",
            "params": {"cut_points": [0, -1, -2]},
            "peer_groups": groups,
            "included_in_average": False,
        },
        {
            "score_id": "OF1081",
            "value_id": "OF0081",
            "name": "Variance to plan",
            "domain": "Finance and productivity",
            "direction": "higher",
            "method": "bands",
            "params": {"cut_points": [0, -0.5, -1]},
            "peer_groups": groups,
            "included_in_average": False,
        },
        {
            "score_id": "OF1080",
            "value_id": None,
            "name": "Combined finance",
            "domain": "Finance and productivity",
            "method": "combined",
            "params": {"plan": "OF1079", "variance": "OF1081"},
            "peer_groups": groups,
        },
        {
            "score_id": "OF1067",
            "value_id": None,
            "name": "CQC safe rating",
            "domain": "Patient safety",
            "method": "rating",
            "params": {
                "scale": {"Outstanding": 1, "Good": 2, "Requires improvement": 3, "Inadequate": 4}
            },
            "peer_groups": groups,
        },
        {
            "score_id": "OF1035",
            "value_id": None,
            "name": "Survey band",
            "domain": "Effectiveness and experience",
            "method": "supplied",
            "peer_groups": groups,
        },
    ]
    for sid in ("OF1020", "OF1048", "OF1088"):
        metrics.append(
            {
                "score_id": sid,
                "value_id": "OF0" + sid[3:],
                "name": f"Infection {sid}",
                "domain": "Patient safety",
                "direction": "lower",
                "method": "rank",
                "peer_groups": ["acute"],
                "weight": "1/3",
            }
        )
    return metrics


def _rank_metrics(n: int, groups: list[str]) -> list[dict]:
    """``n`` rank metrics: some with a standard or a floor, a third in the national pool."""
    metrics: list[dict[str, Any]] = []
    for i in range(n):
        params: dict = {}
        if i % 5 == 1:
            params["standard"] = 0.5
        elif i % 7 == 2:
            params["floor"] = -1.0
        metrics.append(
            {
                "score_id": f"OF1{200 + i:03d}",
                "value_id": f"OF0{200 + i:03d}",
                "name": f"Synthetic metric {i}",
                "domain": DOMAINS[i % len(DOMAINS)],
                "direction": "higher" if i % 2 else "lower",
                "method": "rank",
                "params": params,
                "pool": "national" if i % 3 == 0 else "peer_group",
                "peer_groups": groups,
            }
        )
    return metrics


def synthetic_inputs(
    n_orgs: int, n_metrics: int, seed: int = 0
) -> tuple[MethodologySpec, EngineInputs]:
    """A methodology and one period of inputs for ``n_orgs`` providers."""
    rng = np.random.default_rng(seed)
    methodology = synthetic_methodology(n_metrics)
    codes = np.array([f"S{i:05d}" for i in range(n_orgs)], dtype=object)
    peer = rng.choice(PROVIDER_GROUPS, size=n_orgs, p=[0.6, 0.33, 0.07])
    organisations = pd.DataFrame({"org_code": codes, "peer_group": peer})
    period_end = dt.date(2025, 9, 30)

    value_frames = []
    supplied_frames = []
    for m in methodology.metrics:
        applies = np.isin(peer, list(m.peer_groups))
        present = applies & (rng.random(n_orgs) > 0.05)
        orgs = codes[present]
        k = len(orgs)
        if m.method == "supplied":
            supplied_frames.append(
                pd.DataFrame(
                    {
                        "org_code": orgs,
                        "metric_id": m.score_id,
                        "score": np.round(rng.uniform(1, 4, k), 2),
                    }
                )
            )
            continue
        if m.method == "combined":
            continue
        text = None
        dates = None
        if m.method == "rating":
            labels = np.array(list(m.params["scale"]), dtype=object)
            text = labels[rng.integers(0, len(labels), k)]
            dates = [period_end - dt.timedelta(days=int(d)) for d in rng.integers(0, 1100, k)]
            value = np.full(k, np.nan)
        elif m.method == "bands":
            value = np.round(rng.normal(-0.4, 1.2, k), 2)
        else:
            value = np.round(rng.normal(0.0, 1.0, k), 3)
        value_frames.append(
            pd.DataFrame(
                {
                    "org_code": orgs,
                    "metric_id": m.input_id,
                    "value": value,
                    "text": text if text is not None else [None] * k,
                    "reporting_date": dates if dates is not None else [None] * k,
                }
            )
        )
    values = pd.concat(value_frames, ignore_index=True)
    supplied = pd.concat(supplied_frames, ignore_index=True)
    flagged = rng.random(n_orgs) < 0.4
    supplied_flag = rng.random(n_orgs) < 0.5
    override_flags = {
        c: bool(f) for c, f, s in zip(codes, flagged, supplied_flag, strict=True) if s
    }
    programme = frozenset(codes[rng.random(n_orgs) < 0.02])
    inputs = EngineInputs(
        organisations=organisations,
        values=values,
        supplied_scores=supplied,
        override_flags=override_flags,
        programme_members=programme,
        period_end=period_end,
        seed=seed,
    )
    return methodology, inputs

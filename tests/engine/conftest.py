"""Builders for engine tests. No Django: the engine is pure pandas/NumPy.

Run with ``pytest tests/engine -p no:django``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from oversight.engine import EngineInputs, MethodologySpec, run_engine

DATA = Path(__file__).parent / "data"
PERIOD_END = dt.date(2025, 9, 30)
DOMAINS = [
    "Access to services",
    "Effectiveness and experience",
    "Patient safety",
    "People and workforce",
    "Finance and productivity",
]
GROUPS = ["acute", "mental-health-and-community", "ambulance", "icb"]


@pytest.fixture(autouse=True)
def _celery_eager():
    """Engine tests need no Celery (and no Django settings): override the project-wide
    autouse fixture of the same name with a no-op."""
    yield


def metric(score_id: str, **kw) -> dict:
    """A metric document with test defaults: rank, higher is better, acute only."""
    doc = {
        "score_id": score_id,
        "value_id": "OF0" + score_id[3:],
        "name": f"Metric {score_id}",
        "domain": "Access to services",
        "direction": "higher",
        "method": "rank",
        "peer_groups": ["acute"],
    }
    doc.update(kw)
    return doc


def methodology_doc(metrics: list[dict], **segmentation) -> dict:
    seg = {
        "method": "quartiles",
        "quartile_pool": "national",
        "segmented_peer_groups": ["acute", "mental-health-and-community", "ambulance"],
        "derive_override_from": None,
        "replicates": 0,
    }
    rounding = segmentation.pop("rounding", "half_up")
    seg.update(segmentation)
    return {
        "slug": "test-method",
        "name": "Test methodology",
        "rounding": rounding,
        "segmentation": seg,
        "domains": DOMAINS,
        "peer_groups": GROUPS,
        "metrics": metrics,
    }


def methodology(metrics: list[dict], **segmentation) -> MethodologySpec:
    return MethodologySpec.from_dict(methodology_doc(metrics, **segmentation))


def inputs(
    orgs,
    values=(),
    supplied=(),
    *,
    flags=None,
    programme=(),
    period_end=PERIOD_END,
    pinned=None,
    replicates=0,
    seed=0,
) -> EngineInputs:
    """``orgs``: {code: peer_group} or [codes] (acute). ``values``: (org, metric_id, value)
    or (org, metric_id, value, text, date). ``supplied``: (org, score_id, score)."""
    if not isinstance(orgs, dict):
        orgs = dict.fromkeys(orgs, "acute")
    rows = []
    for v in values:
        org, mid, value, *rest = v
        text = rest[0] if rest else None
        date = rest[1] if len(rest) > 1 else None
        rows.append(
            {
                "org_code": org,
                "metric_id": mid,
                "value": value,
                "text": text,
                "reporting_date": date,
            }
        )
    return EngineInputs(
        organisations=pd.DataFrame({"org_code": list(orgs), "peer_group": list(orgs.values())}),
        values=pd.DataFrame(
            rows, columns=["org_code", "metric_id", "value", "text", "reporting_date"]
        ),
        supplied_scores=pd.DataFrame(list(supplied), columns=["org_code", "metric_id", "score"]),
        override_flags=flags or {},
        programme_members=frozenset(programme),
        period_end=period_end,
        pinned_cut_points=pinned,
        seed=seed,
        replicates=replicates,
    )


def scores_of(result, metric_id: str) -> dict[str, float]:
    ms = result.metric_scores
    rows = ms[ms["metric_id"] == metric_id]
    return dict(zip(rows["org_code"], rows["score"], strict=True))


def column(result, name: str, frame: str = "assessments") -> dict:
    f = getattr(result, frame)
    return dict(zip(f["org_code"], f[name], strict=True))


@pytest.fixture
def mk():
    """Builders: ``mk.metric``, ``mk.methodology``, ``mk.inputs``, ``mk.run``."""
    return SimpleNamespace(
        metric=metric,
        methodology=methodology,
        methodology_doc=methodology_doc,
        inputs=inputs,
        run=run_engine,
        scores_of=scores_of,
        column=column,
        data=DATA,
        period_end=PERIOD_END,
    )

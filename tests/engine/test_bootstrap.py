"""Likely ranges: the vectorised bootstrap, its determinism and its integer paths."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from oversight.engine import league, run_engine
from oversight.engine.synthetic import synthetic_inputs

from .conftest import inputs, methodology, metric

PIN = (2.00, 2.35, 2.70)


def supplied_metrics(weights):
    return [
        metric(f"OF1{100 + i}", value_id=None, method="supplied", direction=None, weight=w)
        for i, w in enumerate(weights)
    ]


def run_scores(rows: dict[str, list[float]], weights=None, **kw):
    k = max(len(v) for v in rows.values())
    m = methodology(supplied_metrics(weights or [1] * k))
    sup = [(o, f"OF1{100 + j}", s) for o, ss in rows.items() for j, s in enumerate(ss)]
    return run_engine(m, inputs(list(rows), supplied=sup, pinned=PIN, **kw))


def ranges(result):
    return result.league_table.set_index("org_code")[
        ["avg_range_low", "avg_range_high", "rank_range_low", "rank_range_high"]
    ]


def test_degenerate_ranges():
    r = run_scores({"A": [1.0, 1.0, 1.0], "B": [2.5], "C": [4.0, 4.0, 4.0]}, replicates=300)
    rg = ranges(r)
    assert rg.loc["A"].tolist() == [1.0, 1.0, 1, 1]
    assert rg.loc["B"].tolist() == [2.5, 2.5, 2, 2]
    assert rg.loc["C"].tolist() == [4.0, 4.0, 3, 3]


def test_two_scores_resample_to_their_extremes():
    # Means of two draws from {1, 4}: 1 (1/4), 2.5 (1/2), 4 (1/4).
    r = run_scores({"A": [1.0, 4.0], "B": [2.0, 2.0]}, replicates=1000, seed=11)
    rg = ranges(r)
    assert rg.loc["A", ["avg_range_low", "avg_range_high"]].tolist() == [1.0, 4.0]
    # B (2.00, segment 1) is beaten only when A draws 1, 1 (segment 1, 1.00).
    assert rg.loc["B", ["rank_range_low", "rank_range_high"]].tolist() == [1, 2]
    assert rg.loc["A", ["rank_range_low", "rank_range_high"]].tolist() == [1, 2]


def test_bootstrap_respects_override_and_fixed_cut_points():
    # A is flagged: whatever its replicate average, it sits in segment 3 or 4 and so
    # always ranks below B, which never leaves segment 1.
    r = run_scores({"A": [1.0, 1.2, 1.4], "B": [1.9, 1.95, 2.0]}, replicates=300, flags={"A": True})
    rg = ranges(r)
    assert rg.loc["A", ["rank_range_low", "rank_range_high"]].tolist() == [2, 2]
    assert rg.loc["B", ["rank_range_low", "rank_range_high"]].tolist() == [1, 1]


def test_zero_replicates_skips_the_bootstrap():
    r = run_scores({"A": [1.0, 4.0]}, replicates=0)
    assert r.assessments["avg_range_low"].isna().all()
    assert r.league_table["rank_range_high"].isna().all()


def test_seed_changes_draws_same_seed_same_draws():
    m, inp = synthetic_inputs(60, 12, seed=5)
    inp = dataclasses.replace(inp, replicates=200)
    a = run_engine(m, inp)
    b = run_engine(m, inp)
    c = run_engine(m, dataclasses.replace(inp, seed=inp.seed + 1))
    pd.testing.assert_frame_equal(a.league_table, b.league_table)
    assert not a.league_table.equals(c.league_table)
    # The seed never touches the point results.
    cols = ["org_code", "rank", "average_score", "segment"]
    pd.testing.assert_frame_equal(a.league_table[cols], c.league_table[cols])


def test_result_independent_of_thread_count(monkeypatch):
    m, inp = synthetic_inputs(80, 12, seed=2)
    inp = dataclasses.replace(inp, replicates=150)
    monkeypatch.setattr(league, "CHUNK_DRAWS", 5_000)  # many chunks
    monkeypatch.setattr(league, "THREADS", 1)
    one = run_engine(m, inp)
    monkeypatch.setattr(league, "THREADS", 3)
    three = run_engine(m, inp)
    pd.testing.assert_frame_equal(one.league_table, three.league_table)
    pd.testing.assert_frame_equal(one.assessments, three.assessments)


@pytest.mark.parametrize("weights", [[1, "1/3", "1/3", "1/3"], [1, "1/1000", 1, "1/7"]])
def test_integer_paths_match_the_float_path(monkeypatch, weights):
    """Packed integer resampling (int32 and int64 packing) gives exactly what the float
    path gives, exact ties included."""
    rows = {f"T{i}": [1 + ((i * 37 + j * 11) % 300) / 100 for j in range(4)] for i in range(30)}
    rows["T0"] = [1.52, 1.53, 1.52, 1.53]
    exact = run_scores(rows, weights=weights, replicates=120, seed=4)
    monkeypatch.setattr(league, "_integer_weights", lambda w: None)
    floats = run_scores(rows, weights=weights, replicates=120, seed=4)
    pd.testing.assert_frame_equal(exact.league_table, floats.league_table)


def test_point_estimate_is_one_of_the_bootstrap_outcomes_rounding():
    """Replicate averages are rounded like the point average: an organisation whose scores
    all tie at a half has a range exactly on 2-dp values."""
    r = run_scores({"A": [1.52, 1.53]}, replicates=400, seed=9)
    low, high = ranges(r).loc["A", ["avg_range_low", "avg_range_high"]]
    assert (low, high) == (1.52, 1.53)
    assert r.assessments.loc[0, "average_score"] == 1.53  # 1.525, a tie: half up

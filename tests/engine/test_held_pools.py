"""Rank scores worked against a published run's pools, held still.

The national quarter of ``test_national_pools`` is the published one. Then R1L reports a
much better sickness absence (OF0082: 6.0 -> 3.2) and RX6, which had no value, reports 4.2:

* held pools: R1L is placed among the eight *other* published values (its own 6.0 taken
  out): 3.0 is better, so p = 2 of N = 9, ``1 + 3 * 1/8 = 1.375``; RX6 among all nine
  published values: 3.0, 3.5, 3.5, 4.0 are better, p = 5 of N = 10, ``1 + 3 * 4/9``.
  Every other trust keeps its published rank and score exactly;
* pools worked afresh, R1L's new value pushes R0A, R1A, RAT, R0B, RRU and R0D down a place.
"""

from __future__ import annotations

import pandas as pd
import pytest

from oversight.engine import builtin_methodology_path, load_methodology_file, run_engine

from .conftest import inputs
from .test_national_pools import EXPECTED_SCORES, ORGS, VALUES


@pytest.fixture(scope="module")
def spec():
    return load_methodology_file(builtin_methodology_path("nof-2025-26"))


def _values(changes=None):
    changed = {mid: dict(by_org) for mid, by_org in VALUES.items()}
    for (org, mid), value in (changes or {}).items():
        changed[mid][org] = value
    return [(org, mid, v) for mid, by_org in changed.items() for org, v in by_org.items()]


def _held(values):
    return pd.DataFrame(values, columns=["org_code", "metric_id", "value"])


def _scores(result, metric_id):
    ms = result.metric_scores
    rows = ms[(ms["metric_id"] == metric_id) & ms["score"].notna()]
    return dict(zip(rows["org_code"], rows["score"], strict=True))


CHANGES = {("R1L", "OF0082"): 3.2, ("RX6", "OF0082"): 4.2}


def test_unchanged_values_keep_their_published_scores(spec):
    run = inputs(ORGS, _values(CHANGES), pinned=(1.5, 2.5, 3.5))
    run.held_pools = _held(_values())
    scores = _scores(run_engine(spec, run), "OF1082")
    for org, published in EXPECTED_SCORES["OF1082"].items():
        if org != "R1L":
            assert scores[org] == pytest.approx(published, abs=1e-9), org
    assert scores["R1L"] == pytest.approx(1.38, abs=1e-9)  # p = 2 of 9: 1.375, half up
    assert scores["RX6"] == pytest.approx(round(1 + 3 * 4 / 9, 2), abs=1e-9)

    ms = run_engine(spec, run).metric_scores.set_index(["org_code", "metric_id"])
    assert (ms.loc[("R1L", "OF1082"), "rank"], ms.loc[("R1L", "OF1082"), "pool_size"]) == (2, 9)
    assert (ms.loc[("RX6", "OF1082"), "rank"], ms.loc[("RX6", "OF1082"), "pool_size"]) == (5, 10)
    assert (ms.loc[("R1F", "OF1082"), "rank"], ms.loc[("R1F", "OF1082"), "pool_size"]) == (9, 9)


def test_held_pools_equal_to_the_inputs_change_nothing(spec):
    fresh = run_engine(spec, inputs(ORGS, _values(), pinned=(1.5, 2.5, 3.5)))
    run = inputs(ORGS, _values(), pinned=(1.5, 2.5, 3.5))
    run.held_pools = _held(_values())
    held = run_engine(spec, run)
    pd.testing.assert_frame_equal(fresh.metric_scores, held.metric_scores)
    pd.testing.assert_frame_equal(fresh.assessments, held.assessments)


def test_pools_worked_afresh_move_the_others(spec):
    fresh = _scores(
        run_engine(spec, inputs(ORGS, _values(CHANGES), pinned=(1.5, 2.5, 3.5))), "OF1082"
    )
    moved = {org for org, s in EXPECTED_SCORES["OF1082"].items() if fresh[org] != pytest.approx(s)}
    assert {"R0A", "R1A", "RAT", "R0B", "RRU", "R0D"} <= moved

"""Properties that must hold for any data (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oversight.engine import round2, run_engine

from .conftest import inputs, methodology, metric

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIN = (2.00, 2.35, 2.70)

# Values drawn from a small grid so that ties are common.
values_st = st.lists(st.integers(0, 12).map(lambda x: x / 4), min_size=1, max_size=14)
bookends_st = st.sampled_from([{}, {"standard": 1.5}, {"floor": 1.5}])
direction_st = st.sampled_from(["higher", "lower"])


def rank_scores(values, direction, params):
    orgs = [f"T{i:02d}" for i in range(len(values))]
    m = methodology([metric("OF1001", direction=direction, params=params)])
    r = run_engine(m, inputs(orgs, [(o, "OF0001", v) for o, v in zip(orgs, values, strict=True)]))
    ms = r.metric_scores.set_index("org_code").loc[orgs]
    return ms


@SETTINGS
@given(values=values_st, direction=direction_st, params=bookends_st)
def test_rank_scores_within_bookends_monotone_and_ties_share_best(values, direction, params):
    ms = rank_scores(values, direction, params)
    s = ms["score"].to_numpy()
    assert ((s >= 1) & (s <= 4)).all()
    assert ((s >= ms["low"] - 1e-9) & (s <= ms["high"] + 1e-9)).all()
    v = np.asarray(values)
    better = v[:, None] > v[None, :] if direction == "higher" else v[:, None] < v[None, :]
    # A strictly better value never scores worse.
    assert (s[:, None] <= s[None, :])[better].all()
    # Equal values, equal scores; and the best of a tie cluster is its best score.
    same = v[:, None] == v[None, :]
    assert (s[:, None] == s[None, :])[same].all()
    if not params:
        # The best cluster scores 1.00; the worst cluster (c of N tied) scores the score
        # of its best rank, N - c + 1.
        n = len(values)
        worst = min(values) if direction == "higher" else max(values)
        c = values.count(worst)
        assert s.min() == 1.0
        assert s.max() == (round2(1 + 3 * (n - c) / (n - 1)) if n > 1 else 1.0)


@SETTINGS
@given(values=values_st, direction=direction_st, params=bookends_st)
def test_adding_a_better_organisation_never_improves_another_score(values, direction, params):
    before = rank_scores(values, direction, params)["score"].to_numpy()
    best = max(values) + 1 if direction == "higher" else min(values) - 1
    after = rank_scores([*values, best], direction, params)["score"].to_numpy()[:-1]
    assert (after >= before - 1e-9).all()


scores_st = st.integers(100, 400).map(lambda x: x / 100)
org_scores_st = st.lists(
    st.lists(st.one_of(st.none(), scores_st), min_size=3, max_size=3), min_size=1, max_size=12
)
SUPPLIED = [
    metric(f"OF1{100 + i}", value_id=None, method="supplied", direction=None, weight=w)
    for i, w in enumerate([1, "1/3", 1])
]


def supplied_inputs(rows, **kw):
    orgs = [f"T{i:02d}" for i in range(len(rows))]
    sup = [
        (o, f"OF1{100 + j}", s)
        for o, row in zip(orgs, rows, strict=True)
        for j, s in enumerate(row)
        if s is not None
    ]
    return inputs(orgs, supplied=sup, **kw)


@SETTINGS
@given(rows=org_scores_st)
def test_averages_between_1_and_4(rows):
    r = run_engine(methodology(SUPPLIED), supplied_inputs(rows, pinned=PIN))
    a = r.assessments
    avg = a["average_score"].to_numpy()
    has = a["metric_count"].to_numpy() > 0
    assert ((avg[has] >= 1) & (avg[has] <= 4)).all()
    assert np.isnan(avg[~has]).all()
    assert (a["segmented"].to_numpy() == has).all()


@SETTINGS
@given(
    rows=org_scores_st,
    flags=st.lists(st.booleans(), min_size=12, max_size=12),
    programme=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_override_never_leaves_a_flagged_org_above_segment_3(rows, flags, programme):
    orgs = [f"T{i:02d}" for i in range(len(rows))]
    inp = supplied_inputs(
        rows,
        flags=dict(zip(orgs, flags, strict=False)),
        programme={o for o, p in zip(orgs, programme, strict=False) if p},
    )
    r = run_engine(methodology(SUPPLIED), inp)
    a = r.assessments[r.assessments["segmented"]]
    flagged = a[a["financial_override"]]
    assert (flagged["adjusted_segment"] >= 3).all()
    assert (a["adjusted_segment"] >= a["unadjusted_segment"]).all()
    assert (
        a.loc[~a["financial_override"], "adjusted_segment"]
        == a.loc[~a["financial_override"], "unadjusted_segment"]
    ).all()
    assert (a.loc[a["in_programme"], "final_segment"] == 5).all()
    assert (
        a.loc[~a["in_programme"], "final_segment"] == a.loc[~a["in_programme"], "adjusted_segment"]
    ).all()
    league = r.league_table
    assert set(league["segment"]) <= {1, 2, 3, 4}


@SETTINGS
@given(rows=org_scores_st, extra=st.lists(st.one_of(st.none(), scores_st), min_size=3, max_size=3))
def test_adding_an_organisation_never_improves_another_league_rank(rows, extra):
    assume(any(s is not None for s in extra))
    m = methodology(SUPPLIED)
    before = run_engine(m, supplied_inputs(rows, pinned=PIN)).league_table
    after = run_engine(m, supplied_inputs([*rows, extra], pinned=PIN)).league_table
    b = dict(zip(before["org_code"], before["rank"], strict=True))
    a = dict(zip(after["org_code"], after["rank"], strict=True))
    assert all(a[o] >= b[o] for o in b)


@SETTINGS
@given(rows=org_scores_st, seed=st.integers(0, 2**16), shuffle=st.randoms())
def test_results_invariant_to_input_row_order(rows, seed, shuffle):
    m = methodology(SUPPLIED)
    inp = supplied_inputs(rows, replicates=40, seed=seed)
    a = run_engine(m, inp)
    orgs = inp.organisations.sample(frac=1, random_state=shuffle.randint(0, 1000))
    sup = inp.supplied_scores.sample(frac=1, random_state=shuffle.randint(0, 1000))
    b = run_engine(m, dataclasses.replace(inp, organisations=orgs, supplied_scores=sup))
    for name in ("metric_scores", "domain_scores", "assessments", "league_table"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.cut_points == b.cut_points


@SETTINGS
@given(rows=org_scores_st, seed=st.integers(0, 2**31))
def test_bootstrap_reproducible_and_ranges_ordered(rows, seed):
    m = methodology(SUPPLIED)
    inp = supplied_inputs(rows, replicates=60, seed=seed)
    a = run_engine(m, inp)
    b = run_engine(m, inp)
    pd.testing.assert_frame_equal(a.league_table, b.league_table)
    pd.testing.assert_frame_equal(a.assessments, b.assessments)
    league = a.league_table
    assert (league["avg_range_low"] <= league["avg_range_high"]).all()
    assert (league["rank_range_low"] <= league["rank_range_high"]).all()
    assert (league["rank_range_low"] >= 1).all()
    assert (league["rank_range_high"] <= len(league)).all()
    assert ((league["avg_range_low"] >= 1) & (league["avg_range_high"] <= 4)).all()
    # The range of an organisation's average lies within its own scores.
    ms = a.metric_scores[a.metric_scores["included"]]
    lo = ms.groupby("org_code")["score"].min()
    hi = ms.groupby("org_code")["score"].max()
    ass = a.assessments.set_index("org_code")
    seg = ass[ass["segmented"]]
    assert (seg["avg_range_low"] >= lo.loc[seg.index] - 1e-9).all()
    assert (seg["avg_range_high"] <= hi.loc[seg.index] + 1e-9).all()

"""The worked example: a synthetic Q2 2025/26 mental health and community quarter in NHS
England's data file format, reproduced exactly with the cut points pinned at 2.00, 2.35,
2.70; and the methodology manual's own illustration."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from oversight.engine import (
    EngineInputs,
    builtin_methodology_path,
    load_methodology_file,
    run_engine,
)

from .conftest import DATA

EXAMPLE = DATA / "nof-synthetic-mhc-q2-2025-26.csv"
EXPECTED = DATA / "nof-synthetic-mhc-q2-2025-26.expected.csv"
PEER_GROUP = {"Mental health and community trust": "mental-health-and-community"}


def example_inputs(**kw) -> EngineInputs:
    raw = pd.read_csv(EXAMPLE, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    orgs = raw[["Trust_code", "Trust_type", "Trust_name"]].drop_duplicates("Trust_code")
    scores = raw[raw["Metric_ID"].str.startswith("OF10")]
    flags = raw[raw["Metric_ID"] == "OF5004"]
    return EngineInputs(
        organisations=pd.DataFrame(
            {
                "org_code": orgs["Trust_code"],
                "peer_group": orgs["Trust_type"].map(PEER_GROUP),
                "org_name": orgs["Trust_name"],
            }
        ),
        values=pd.DataFrame(columns=["org_code", "metric_id", "value", "text", "reporting_date"]),
        supplied_scores=pd.DataFrame(
            {
                "org_code": scores["Trust_code"],
                "metric_id": scores["Metric_ID"],
                "score": scores["Value"].astype(float),
            }
        ),
        override_flags=dict(
            zip(flags["Trust_code"], flags["Value"].astype(int).astype(bool), strict=True)
        ),
        programme_members=frozenset(),
        period_end=dt.date(2025, 9, 30),
        pinned_cut_points=(2.00, 2.35, 2.70),
        **kw,
    )


@pytest.fixture(scope="module")
def nof_2025_26():
    return load_methodology_file(builtin_methodology_path("nof-2025-26"))


@pytest.fixture(scope="module")
def example_result(nof_2025_26):
    return run_engine(nof_2025_26, example_inputs(replicates=200, seed=7))


def test_reproduces_the_expected_results_exactly(example_result):
    expected = pd.read_csv(EXPECTED, encoding="utf-8-sig").set_index("org_code")
    a = example_result.assessments.set_index("org_code").loc[expected.index]
    league = example_result.league_table.set_index("org_code").loc[expected.index]

    assert a["metric_count"].tolist() == expected["metric_count"].tolist()
    assert a["average_score"].tolist() == expected["average_score"].tolist()
    assert a["unadjusted_segment"].astype(int).tolist() == expected["unadjusted_segment"].tolist()
    assert a["financial_override"].astype(int).tolist() == expected["financial_override"].tolist()
    assert a["adjusted_segment"].astype(int).tolist() == expected["adjusted_segment"].tolist()
    assert a["final_segment"].astype(int).tolist() == expected["final_segment"].tolist()
    assert league["rank"].tolist() == expected["league_rank"].tolist()
    assert a["segmented"].all()
    assert not a["override_derived"].any()


def test_league_table_order_and_override_story(example_result):
    league = example_result.league_table
    assert league["org_code"].tolist()[:4] == ["RHA", "RKL", "R1A", "G6V2S"]
    # R1A has the best average after RHA but is capped at 3, so ranks below RKL (segment 2).
    r1a = league.set_index("org_code").loc["R1A"]
    assert (r1a["segment"], r1a["deficit"], r1a["rank"]) == (3, True, 3)
    reason = example_result.assessments.set_index("org_code").loc["R1A", "override_reason"]
    assert reason == "Capped at segment 3: in financial deficit (OF5004)"
    cp = example_result.cut_points
    assert (cp.t1, cp.t2, cp.t3, cp.source) == (2.00, 2.35, 2.70, "pinned")


def test_exact_tie_rounds_half_up(example_result):
    # RMY's eight included scores sum to 23.08: exactly 2.885, published as 2.89.
    ms = example_result.metric_scores
    rmy = ms[(ms["org_code"] == "RMY") & ms["included"]]
    assert round(rmy["score"].sum(), 2) == 23.08 and len(rmy) == 8
    avg = example_result.assessments.set_index("org_code").loc["RMY", "average_score"]
    assert avg == 2.89


def test_finance_plan_and_variance_shown_but_not_averaged(example_result):
    ms = example_result.metric_scores
    g = ms[ms["org_code"] == "G6V2S"].set_index("metric_id")
    assert g.loc["OF1079", "score"] == 3.0 and not g.loc["OF1079", "included"]
    assert g.loc["OF1081", "score"] == 1.0 and not g.loc["OF1081", "included"]
    assert g.loc["OF1080", "score"] == 2.0 and g.loc["OF1080", "included"]
    assert set(g["status"]) <= {"supplied", "missing"}


def test_missing_of1005_is_left_out_not_averaged_as_zero(example_result):
    ms = example_result.metric_scores
    rnu = ms[(ms["org_code"] == "RNU") & (ms["metric_id"] == "OF1005")].iloc[0]
    assert rnu["status"] == "missing" and pd.isna(rnu["score"]) and not rnu["included"]


def test_likely_ranges_are_ordered(example_result):
    league = example_result.league_table
    assert (league["avg_range_low"] <= league["avg_range_high"]).all()
    assert (league["rank_range_low"] <= league["rank_range_high"]).all()
    assert league["rank_range_low"].min() >= 1
    assert league["rank_range_high"].max() <= len(league)


def test_shuffled_input_rows_give_identical_results(nof_2025_26):
    """Shuffled input rows give identical results (including the bootstrap)."""
    base = example_inputs(replicates=100, seed=3)
    shuffled = example_inputs(replicates=100, seed=3)
    shuffled.supplied_scores = shuffled.supplied_scores.sample(frac=1, random_state=1)
    shuffled.organisations = shuffled.organisations.sample(frac=1, random_state=2)
    a = run_engine(nof_2025_26, base)
    b = run_engine(nof_2025_26, shuffled)
    pd.testing.assert_frame_equal(a.assessments, b.assessments)
    pd.testing.assert_frame_equal(a.league_table, b.league_table)
    pd.testing.assert_frame_equal(a.metric_scores, b.metric_scores)


def test_manual_illustration_eleven_supplied_scores(mk):
    """Methodology manual: eleven scores summing to 16.83 average 1.53, segment 1 when
    1.53 lies within the lowest quartile."""
    scores = [1.0, 1.25, 1.5, 1.5, 1.75, 1.33, 1.67, 2.0, 1.0, 2.0, 1.83]
    assert round(sum(scores), 2) == 16.83
    metrics = [
        mk.metric(f"OF1{100 + i}", value_id=None, method="supplied", direction=None)
        for i in range(11)
    ]
    m = mk.methodology(metrics)
    others = {f"T{i}": "acute" for i in range(1, 8)}
    supplied = [("ILL", f"OF1{100 + i}", s) for i, s in enumerate(scores)]
    # Seven other trusts with averages 1.60 .. 3.40 put 1.53 in the lowest quartile.
    for j, code in enumerate(others):
        supplied.append((code, "OF1100", 1.6 + 0.3 * j))
    result = mk.run(m, mk.inputs({"ILL": "acute", **others}, supplied=supplied))
    a = result.assessments.set_index("org_code").loc["ILL"]
    assert a["metric_count"] == 11
    assert a["average_score"] == 1.53
    assert result.cut_points.source == "computed"
    assert result.cut_points.t1 >= 1.53
    assert a["unadjusted_segment"] == 1

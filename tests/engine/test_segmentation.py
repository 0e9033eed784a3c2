"""Steps 2-5 and league tables, hand-checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oversight.engine import (
    MethodologyNotReady,
    builtin_methodology_path,
    load_methodology_file,
    round2,
    run_engine,
)

from .conftest import column, inputs, methodology, metric

SUPPLIED = metric(
    "OF1100",
    value_id=None,
    method="supplied",
    direction=None,
    peer_groups=["acute", "mental-health-and-community", "ambulance", "icb"],
)
PIN = (2.00, 2.35, 2.70)


def supplied_run(averages: dict, orgs=None, **kw):
    """One supplied metric per organisation, so its average is that score."""
    m = kw.pop("m", None) or methodology([SUPPLIED])
    orgs = orgs or dict.fromkeys(averages, "acute")
    sup = [(o, "OF1100", a) for o, a in averages.items()]
    return run_engine(m, inputs(orgs, supplied=sup, **kw))


# --- averages ----------------------------------------------------------------------------


def test_infection_metrics_weighted_one_third_each():
    infections = [
        metric(sid, direction="lower", weight="1/3", domain="Patient safety")
        for sid in ("OF1020", "OF1048", "OF1088")
    ]
    m = methodology([metric("OF1001"), *infections])
    sup = [("A", "OF1001", 1.0), ("A", "OF1020", 4.0), ("A", "OF1048", 4.0), ("A", "OF1088", 1.0)]
    r = run_engine(m, inputs(["A"], supplied=sup))
    # (1 x 1.00 + 1/3 x (4 + 4 + 1)) / (1 + 3 x 1/3) = 4 / 2 = 2.00, not 10 / 4 = 2.50.
    assert column(r, "average_score") == {"A": 2.0}
    assert column(r, "metric_count") == {"A": 4}  # each scored metric counts once
    assert r.metric_scores.set_index("metric_id").loc["OF1020", "weight"] == pytest.approx(1 / 3)
    ds = r.domain_scores.set_index("domain")
    assert ds.loc["Patient safety", "score"] == 3.0
    assert ds.loc["Patient safety", "metric_count"] == 3
    assert ds.loc["Access to services", "score"] == 1.0


def test_two_of_three_infection_metrics_divide_by_the_weights_present():
    infections = [metric(sid, direction="lower", weight="1/3") for sid in ("OF1020", "OF1048")]
    m = methodology([metric("OF1001"), *infections])
    sup = [("A", "OF1001", 1.0), ("A", "OF1020", 4.0), ("A", "OF1048", 4.0)]
    r = run_engine(m, inputs(["A"], supplied=sup))
    assert column(r, "average_score") == {"A": 2.2}  # (1 + 8/3) / (5/3) = 2.2


@pytest.mark.parametrize(
    ("scores", "half_even", "half_up"),
    [
        ([1.52, 1.53], 1.52, 1.53),  # 1.525: the double is 1.52499999...
        ([2.88, 2.89], 2.88, 2.89),
        ([2.21, 2.22], 2.22, 2.22),
        ([1.0, 1.0, 1.01], 1.0, 1.0),
    ],
)
def test_average_rounding_is_on_the_decimal_value_with_the_methodology_tie_rule(
    scores, half_even, half_up
):
    metrics = [
        metric(f"OF1{100 + i}", value_id=None, method="supplied", direction=None)
        for i in range(len(scores))
    ]
    sup = [("A", f"OF1{100 + i}", s) for i, s in enumerate(scores)]
    for rounding, expected in (("half_even", half_even), ("half_up", half_up)):
        r = run_engine(methodology(metrics, rounding=rounding), inputs(["A"], supplied=sup))
        assert column(r, "average_score") == {"A": expected}


def test_round2_ties_on_decimal_values():
    assert round2(1.525) == 1.53 and round2(1.525, "half_even") == 1.52
    assert round2(1.125) == 1.13 and round2(1.725) == 1.73  # NHS England's published ties
    assert round2(2.675, "half_even") == 2.68 and round2(2.675) == 2.68
    assert round2(16.83 / 11) == 1.53
    assert np.isnan(round2(np.nan))


def test_below_min_metric_count_not_segmented_with_reason():
    m = methodology(
        [SUPPLIED, metric("OF1101", value_id=None, method="supplied", direction=None)],
        min_metric_count=2,
    )
    r = run_engine(
        m,
        inputs(
            ["A", "B"],
            supplied=[("A", "OF1100", 2), ("A", "OF1101", 2), ("B", "OF1100", 1)],
            pinned=PIN,
        ),
    )
    a = r.assessments.set_index("org_code")
    assert bool(a.loc["A", "segmented"]) and not bool(a.loc["B", "segmented"])
    assert (
        a.loc["B", "not_segmented_reason"] == "Only 1 scored metric; test-method needs at least 2"
    )
    assert pd.isna(a.loc["B", "unadjusted_segment"]) and a.loc["B", "average_score"] == 1.0
    assert r.league_table["org_code"].tolist() == ["A"]


def test_no_scores_not_segmented():
    r = supplied_run({"A": 2.0}, orgs={"A": "acute", "B": "acute"}, pinned=PIN)
    a = r.assessments.set_index("org_code")
    assert a.loc["B", "not_segmented_reason"] == "No scored metrics"
    assert a.loc["B", "metric_count"] == 0 and np.isnan(a.loc["B", "average_score"])


# --- cut points and segments -------------------------------------------------------------


def test_segment_boundaries_are_inclusive():
    avgs = {"A": 2.0, "B": 2.01, "C": 2.35, "D": 2.36, "E": 2.7, "F": 2.71, "G": 1.0}
    r = supplied_run(avgs, pinned=PIN)
    assert column(r, "unadjusted_segment") == {
        "A": 1,
        "B": 2,
        "C": 2,
        "D": 3,
        "E": 3,
        "F": 4,
        "G": 1,
    }


def test_quartiles_national_pool_all_peer_groups_together():
    orgs = {
        "A1": "acute",
        "A2": "acute",
        "A3": "acute",
        "A4": "acute",
        "M1": "mental-health-and-community",
        "M2": "mental-health-and-community",
        "M3": "mental-health-and-community",
        "M4": "mental-health-and-community",
    }
    avgs = dict(zip(orgs, [1.0, 1.2, 1.4, 1.6, 2.0, 2.4, 2.8, 3.2], strict=True))
    r = supplied_run(avgs, orgs=orgs)
    q = np.percentile(list(avgs.values()), [25, 50, 75])
    cp = r.cut_points
    assert (cp.t1, cp.t2, cp.t3) == pytest.approx(tuple(q))
    assert (cp.source, cp.pool) == ("computed", "national")
    assert r.cut_points_by_peer_group["acute"] is cp
    seg = column(r, "unadjusted_segment")
    assert [seg[o] for o in ("A1", "A2", "A3", "A4")] == [1, 1, 2, 2]
    assert [seg[o] for o in ("M1", "M2", "M3", "M4")] == [3, 3, 4, 4]


def test_quartiles_per_peer_group_pool():
    orgs = {
        "A1": "acute",
        "A2": "acute",
        "A3": "acute",
        "A4": "acute",
        "M1": "mental-health-and-community",
        "M2": "mental-health-and-community",
        "M3": "mental-health-and-community",
        "M4": "mental-health-and-community",
    }
    avgs = dict(zip(orgs, [1.0, 1.2, 1.4, 1.6, 2.0, 2.4, 2.8, 3.2], strict=True))
    r = supplied_run(avgs, orgs=orgs, m=methodology([SUPPLIED], quartile_pool="peer_group"))
    assert r.cut_points is None
    acute = r.cut_points_by_peer_group["acute"]
    mhc = r.cut_points_by_peer_group["mental-health-and-community"]
    assert (acute.t1, acute.t2, acute.t3) == pytest.approx((1.15, 1.3, 1.45))
    assert (mhc.t1, mhc.t2, mhc.t3) == pytest.approx((2.3, 2.6, 2.9))
    assert acute.pool == "peer_group"
    seg = column(r, "unadjusted_segment")
    assert [seg[o] for o in orgs] == [1, 2, 3, 4, 1, 2, 3, 4]


def test_fixed_thresholds_from_the_methodology():
    m = methodology([SUPPLIED], method="fixed", thresholds=[1.5, 2.5, 3.5])
    r = supplied_run({"A": 1.5, "B": 2.0, "C": 3.0, "D": 3.6}, m=m)
    assert column(r, "unadjusted_segment") == {"A": 1, "B": 2, "C": 3, "D": 4}
    assert (r.cut_points.source, r.cut_points.t2) == ("fixed", 2.5)


def test_unset_fixed_thresholds_refuse_to_run_unless_pinned():
    m = load_methodology_file(builtin_methodology_path("nof-2026-27"))
    inp = inputs(["A"], supplied=[("A", "OF1080", 2)])
    with pytest.raises(
        MethodologyNotReady,
        match="nof-2026-27 has no thresholds set; pin cut points for the period",
    ):
        run_engine(m, inp)
    inp.pinned_cut_points = PIN
    r = run_engine(m, inp)
    assert r.cut_points.source == "pinned"
    assert column(r, "unadjusted_segment") == {"A": 1}


def test_pinned_cut_points_win_over_quartiles_and_fixed():
    avgs = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0}
    r = supplied_run(avgs, pinned=(3.5, 3.6, 3.7))
    assert set(column(r, "unadjusted_segment").values()) == {1, 4}
    assert r.cut_points.source == "pinned"
    m = methodology([SUPPLIED], method="fixed", thresholds=[1.5, 2.5, 3.5])
    r = supplied_run(avgs, m=m, pinned=(3.5, 3.6, 3.7))
    assert r.cut_points.source == "pinned"


def test_bad_pinned_cut_points_rejected():
    with pytest.raises(ValueError, match="t1 <= t2 <= t3"):
        supplied_run({"A": 1.0}, pinned=(2.5, 2.0, 3.0))


# --- financial override ------------------------------------------------------------------


def test_supplied_override_caps_at_3_and_never_improves():
    avgs = {"A": 1.0, "B": 2.2, "C": 2.5, "D": 3.0, "E": 1.0}
    flags = {"A": True, "B": True, "C": True, "D": True, "E": False}
    r = supplied_run(avgs, pinned=PIN, flags=flags)
    assert column(r, "unadjusted_segment") == {"A": 1, "B": 2, "C": 3, "D": 4, "E": 1}
    assert column(r, "adjusted_segment") == {"A": 3, "B": 3, "C": 3, "D": 4, "E": 1}
    reasons = column(r, "override_reason")
    assert reasons["A"] == "Capped at segment 3: in financial deficit (OF5004)"
    assert reasons["C"] == reasons["D"] == reasons["E"] == ""
    assert not any(column(r, "override_derived").values())


FINANCE = [
    metric(
        "OF1079",
        method="bands",
        params={"cut_points": [0, -1, -2]},
        included_in_average=False,
        domain="Finance and productivity",
    ),
    SUPPLIED,
]


def test_override_derived_from_planned_deficit_when_no_flag():
    m = methodology(FINANCE, derive_override_from="OF0079")
    values = [("A", "OF0079", -0.5), ("B", "OF0079", 0.0), ("C", "OF0079", -3.0)]
    sup = [(o, "OF1100", 1.0) for o in "ABCDE"] + [("D", "OF1079", 3.0)]
    r = run_engine(m, inputs(list("ABCDE"), values, sup, flags={"C": False}, pinned=PIN))
    assert column(r, "financial_override") == {
        "A": True,
        "B": False,
        "C": False,
        "D": True,
        "E": False,
    }
    assert column(r, "override_derived") == {
        "A": True,
        "B": True,
        "C": False,
        "D": True,
        "E": False,
    }
    assert column(r, "adjusted_segment") == {"A": 3, "B": 1, "C": 1, "D": 3, "E": 1}
    assert "derived" in column(r, "override_reason")["A"]
    assert any("no financial override flag" in w for w in r.warnings)  # E


# --- segment 5 and league tables ---------------------------------------------------------


def test_programme_members_final_5_league_shows_adjusted():
    r = supplied_run({"A": 1.0, "B": 2.2, "C": 3.0}, pinned=PIN, programme={"B"}, flags={"C": True})
    assert column(r, "final_segment") == {"A": 1, "B": 5, "C": 4}
    assert column(r, "adjusted_segment") == {"A": 1, "B": 2, "C": 4}
    league = r.league_table.set_index("org_code")
    assert league.loc["B", "segment"] == 2 and bool(league.loc["B", "in_programme"])
    assert not league.loc["A", "in_programme"]
    assert league.loc["C", "deficit"]


def test_league_competition_ranking_1224():
    """Two trusts on 1.79 share rank 4; the next is 6."""
    avgs = {"T1": 1.2, "T2": 1.5, "T3": 1.6, "T4": 1.79, "T5": 1.79, "T6": 1.9}
    r = supplied_run(avgs, pinned=PIN)
    league = r.league_table
    assert league["org_code"].tolist() == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert league["rank"].tolist() == [1, 2, 3, 4, 4, 6]


def test_league_orders_by_adjusted_segment_then_average():
    avgs = {"A": 1.1, "B": 2.3, "C": 2.31, "D": 2.9}
    r = supplied_run(avgs, pinned=PIN, flags={"A": True})
    league = r.league_table
    # A has the best average but is capped at 3: below every segment-2 trust.
    assert league["org_code"].tolist() == ["B", "C", "A", "D"]
    assert league["rank"].tolist() == [1, 2, 3, 4]
    assert list(league.columns) == [
        "peer_group",
        "org_code",
        "rank",
        "average_score",
        "segment",
        "deficit",
        "in_programme",
        "avg_range_low",
        "avg_range_high",
        "rank_range_low",
        "rank_range_high",
    ]


def test_league_tables_per_peer_group():
    orgs = {
        "A1": "acute",
        "A2": "acute",
        "M1": "mental-health-and-community",
        "M2": "mental-health-and-community",
    }
    r = supplied_run({"A1": 2.0, "A2": 1.0, "M1": 3.0, "M2": 3.5}, orgs=orgs, pinned=PIN)
    league = r.league_table
    assert league[["peer_group", "org_code", "rank"]].values.tolist() == [
        ["acute", "A2", 1],
        ["acute", "A1", 2],
        ["mental-health-and-community", "M1", 1],
        ["mental-health-and-community", "M2", 2],
    ]


def test_icb_scored_but_not_segmented_under_2025_26():
    m = load_methodology_file(builtin_methodology_path("nof-2025-26"))
    r = run_engine(
        m,
        inputs(
            {"QWE": "icb", "RXX": "acute"},
            [("QWE", "OF0900", 3.2)],
            [("RXX", "OF1080", 2)],
            pinned=PIN,
        ),
    )
    a = r.assessments.set_index("org_code")
    assert not a.loc["QWE", "segmented"]
    assert a.loc["QWE", "not_segmented_reason"] == (
        "Peer group icb is not segmented under nof-2025-26"
    )
    assert "QWE" not in set(r.league_table["org_code"])
    ctx = r.metric_scores.set_index(["org_code", "metric_id"]).loc[("QWE", "OF1900")]
    assert ctx["status"] == "contextual" and ctx["value"] == 3.2


def test_icb_segmented_under_2026_27():
    m = load_methodology_file(builtin_methodology_path("nof-2026-27"))
    values = [("Q1", "OF0023", 60), ("Q2", "OF0023", 70), ("Q3", "OF0023", 80)]
    r = run_engine(m, inputs({"Q1": "icb", "Q2": "icb", "Q3": "icb"}, values, pinned=PIN))
    assert column(r, "average_score") == {"Q1": 4.0, "Q2": 2.5, "Q3": 1.0}
    assert column(r, "unadjusted_segment") == {"Q1": 4, "Q2": 3, "Q3": 1}
    assert set(r.league_table["peer_group"]) == {"icb"}
    assert "icb" in r.cut_points_by_peer_group


def test_assessment_columns_and_types():
    r = supplied_run({"A": 1.0, "B": 3.0}, pinned=PIN)
    a = r.assessments
    assert list(a.columns) == [
        "org_code",
        "peer_group",
        "metric_count",
        "average_score",
        "segmented",
        "not_segmented_reason",
        "unadjusted_segment",
        "financial_override",
        "override_derived",
        "adjusted_segment",
        "final_segment",
        "in_programme",
        "override_reason",
        "avg_range_low",
        "avg_range_high",
    ]
    for col in ("unadjusted_segment", "adjusted_segment", "final_segment"):
        assert str(a[col].dtype) == "Int64"
    assert a["segmented"].dtype == bool and a["metric_count"].dtype == np.int64
    # replicates=0: no bootstrap, ranges NaN / NA
    assert a["avg_range_low"].isna().all()
    assert r.league_table["rank_range_low"].isna().all()


def test_programme_member_not_segmented_is_still_final_5():
    r = supplied_run({"A": 1.0}, orgs={"A": "acute", "B": "acute"}, pinned=PIN, programme={"B"})
    a = r.assessments.set_index("org_code")
    assert not a.loc["B", "segmented"] and a.loc["B", "final_segment"] == 5
    assert bool(a.loc["B", "in_programme"])
    assert "B" not in set(r.league_table["org_code"])


def test_missing_flag_values_are_derived():
    m = methodology(FINANCE, derive_override_from="OF0079")
    r = run_engine(
        m,
        inputs(
            ["A"], [("A", "OF0079", -1)], [("A", "OF1100", 1.0)], flags={"A": pd.NA}, pinned=PIN
        ),
    )
    assert column(r, "financial_override") == {"A": True}
    assert column(r, "override_derived") == {"A": True}

"""Step 1, hand-checked: each scoring method on small cases worked out on paper."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from oversight.engine import run_engine

from .conftest import column, inputs, methodology, metric, scores_of

FIVE = ["A", "B", "C", "D", "E"]


def run_values(metrics, orgs, values, **kw):
    return run_engine(methodology(metrics), inputs(orgs, values, **kw))


def statuses(result, metric_id):
    ms = result.metric_scores
    rows = ms[ms["metric_id"] == metric_id]
    return dict(zip(rows["org_code"], rows["status"], strict=True))


# --- rank --------------------------------------------------------------------------------


def test_rank_without_bookends_spreads_1_to_4():
    values = [(o, "OF0001", v) for o, v in zip(FIVE, [90, 80, 70, 60, 50], strict=True)]
    r = run_values([metric("OF1001")], FIVE, values)
    assert scores_of(r, "OF1001") == {"A": 1.0, "B": 1.75, "C": 2.5, "D": 3.25, "E": 4.0}
    ms = r.metric_scores.set_index("org_code")
    assert ms.loc["C", "rank"] == 3 and ms.loc["C", "pool_size"] == 5
    assert (ms["low"] == 1).all() and (ms["high"] == 4).all()
    assert set(ms["status"]) == {"scored"}


def test_rank_lower_is_better_mirrors():
    values = [(o, "OF0001", v) for o, v in zip(FIVE, [90, 80, 70, 60, 50], strict=True)]
    r = run_values([metric("OF1001", direction="lower")], FIVE, values)
    assert scores_of(r, "OF1001") == {"A": 4.0, "B": 3.25, "C": 2.5, "D": 1.75, "E": 1.0}


def test_ties_take_the_best_score_of_their_cluster():
    values = [(o, "OF0001", v) for o, v in zip(FIVE, [90, 80, 80, 60, 50], strict=True)]
    r = run_values([metric("OF1001")], FIVE, values)
    assert scores_of(r, "OF1001") == {"A": 1.0, "B": 1.75, "C": 1.75, "D": 3.25, "E": 4.0}


def test_ranking_uses_unrounded_values():
    values = [("A", "OF0001", 70.004), ("B", "OF0001", 70.001), ("C", "OF0001", 69.0)]
    r = run_values([metric("OF1001")], ["A", "B", "C"], values)
    assert scores_of(r, "OF1001") == {"A": 1.0, "B": 2.5, "C": 4.0}


def test_standard_meeting_it_scores_1_others_ranked_2_to_4():
    m = metric("OF1001", params={"standard": 75})
    values = [(o, "OF0001", v) for o, v in zip(FIVE, [90, 75, 70, 60, 50], strict=True)]
    r = run_values([m], FIVE, values)
    assert scores_of(r, "OF1001") == {"A": 1.0, "B": 1.0, "C": 2.0, "D": 3.0, "E": 4.0}
    assert statuses(r, "OF1001")["B"] == "meets_standard"
    ms = r.metric_scores.set_index("org_code")
    assert (ms.loc["C", "low"], ms.loc["C", "high"], ms.loc["C", "pool_size"]) == (2, 4, 3)


def test_standard_lower_is_better_meets_at_or_below():
    m = metric("OF1001", direction="lower", params={"standard": 5})
    values = [("A", "OF0001", 5), ("B", "OF0001", 6), ("C", "OF0001", 9)]
    r = run_values([m], ["A", "B", "C"], values)
    assert scores_of(r, "OF1001") == {"A": 1.0, "B": 2.0, "C": 4.0}


def test_floor_below_it_scores_4_others_ranked_1_to_3():
    m = metric("OF1057", params={"floor": 70})
    values = [(o, "OF0057", v) for o, v in zip(FIVE, [95, 85, 70, 69.9, 40], strict=True)]
    r = run_values([m], FIVE, values)
    assert scores_of(r, "OF1057") == {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 4.0}
    assert statuses(r, "OF1057")["D"] == "below_floor"


def test_floor_lower_is_better_above_it_scores_4():
    m = metric("OF1001", direction="lower", params={"floor": 10})
    values = [("A", "OF0001", 2), ("B", "OF0001", 10), ("C", "OF0001", 10.5)]
    r = run_values([m], ["A", "B", "C"], values)
    assert scores_of(r, "OF1001") == {"A": 1.0, "B": 3.0, "C": 4.0}


def test_a_ranked_set_of_one_scores_its_lower_bookend():
    r = run_values([metric("OF1001")], ["A"], [("A", "OF0001", 3)])
    assert scores_of(r, "OF1001") == {"A": 1.0}
    m = metric("OF1001", params={"standard": 100})
    r = run_values([m], ["A", "B"], [("A", "OF0001", 3), ("B", "OF0001", 100)])
    assert scores_of(r, "OF1001") == {"A": 2.0, "B": 1.0}


def test_empty_pool_scores_nobody_and_warns():
    r = run_values([metric("OF1001")], ["A", "B"], [])
    assert all(math.isnan(s) for s in scores_of(r, "OF1001").values())
    assert any("OF1001" in w and "nobody scored" in w for w in r.warnings)


def test_scores_are_rounded_to_2dp():
    values = [(o, "OF0001", 10 - i) for i, o in enumerate("ABCDEFG")]
    r = run_values([metric("OF1001")], list("ABCDEFG"), values)
    assert scores_of(r, "OF1001")["B"] == 1.5
    values = [(o, "OF0001", 10 - i) for i, o in enumerate("ABCD")]
    r = run_values([metric("OF1001")], list("ABCD"), values)
    assert scores_of(r, "OF1001") == {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0}
    values = [(o, "OF0001", 10 - i) for i, o in enumerate("ABCDEFGH")]
    r = run_values([metric("OF1001")], list("ABCDEFGH"), values)
    assert scores_of(r, "OF1001")["B"] == 1.43  # 1 + 3/7


def test_peer_group_pool_versus_national_pool():
    orgs = {
        "A1": "acute",
        "A2": "acute",
        "M1": "mental-health-and-community",
        "M2": "mental-health-and-community",
    }
    groups = ["acute", "mental-health-and-community"]
    values = [
        ("A1", "OF0001", 10),
        ("A2", "OF0001", 20),
        ("M1", "OF0001", 30),
        ("M2", "OF0001", 40),
    ]
    peer = run_engine(
        methodology([metric("OF1001", peer_groups=groups, pool="peer_group")]),
        inputs(orgs, values),
    )
    assert scores_of(peer, "OF1001") == {"A1": 4.0, "A2": 1.0, "M1": 4.0, "M2": 1.0}
    national = run_engine(
        methodology([metric("OF1001", peer_groups=groups, pool="national")]),
        inputs(orgs, values),
    )
    assert scores_of(national, "OF1001") == {"A1": 4.0, "A2": 3.0, "M1": 2.0, "M2": 1.0}
    assert national.metric_scores["pool_size"].eq(4).all()


# --- bands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.5, 1), (0, 1), (-0.01, 2), (-1, 2), (-1.5, 3), (-2, 3), (-2.01, 4), (-9, 4)],
)
def test_bands_planned_surplus_deficit(value, expected):
    m = metric("OF1079", method="bands", params={"cut_points": [0, -1, -2]})
    r = run_values([m], ["A"], [("A", "OF0079", value)])
    assert scores_of(r, "OF1079") == {"A": expected}


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (-0.5, 2), (-0.51, 3), (-1, 3), (-1.0001, 4)]
)
def test_bands_variance_to_plan(value, expected):
    m = metric("OF1081", method="bands", params={"cut_points": [0, -0.5, -1]})
    r = run_values([m], ["A"], [("A", "OF0081", value)])
    assert scores_of(r, "OF1081") == {"A": expected}


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (2, 1), (2.5, 2), (4, 3), (4.01, 4)])
def test_bands_lower_is_better(value, expected):
    m = metric("OF1001", method="bands", direction="lower", params={"cut_points": [2, 3, 4]})
    r = run_values([m], ["A"], [("A", "OF0001", value)])
    assert scores_of(r, "OF1001") == {"A": expected}


# --- combined finance --------------------------------------------------------------------

FINANCE = [
    metric("OF1079", method="bands", params={"cut_points": [0, -1, -2]}, included_in_average=False),
    metric(
        "OF1081", method="bands", params={"cut_points": [0, -0.5, -1]}, included_in_average=False
    ),
    metric(
        "OF1080",
        value_id=None,
        method="combined",
        direction=None,
        params={"plan": "OF1079", "variance": "OF1081"},
    ),
]


@pytest.mark.parametrize(
    ("plan", "variance", "expected"),
    [
        (0.5, 0.2, 1.0),  # plan 1 (not > 1): variance 1 - 1 = 0 -> clamped to 1
        (0.5, -0.3, 1.0),  # plan 1: variance 2 - 1 = 1
        (0.5, -2, 3.0),  # plan 1: variance 4 - 1
        (-0.5, 0.1, 2.0),  # plan 2 (> 1): variance 1 + 1
        (-1.5, -0.8, 4.0),  # plan 3: variance 3 + 1
        (-3, -2, 4.0),  # plan 4: variance 4 + 1 = 5 -> clamped to 4
    ],
)
def test_combined_finance_all_branches(plan, variance, expected):
    r = run_values(FINANCE, ["A"], [("A", "OF0079", plan), ("A", "OF0081", variance)])
    assert scores_of(r, "OF1080") == {"A": expected}
    ms = r.metric_scores.set_index("metric_id")
    assert not ms.loc["OF1079", "included"] and not ms.loc["OF1081", "included"]
    assert ms.loc["OF1080", "included"]
    assert r.assessments["metric_count"].tolist() == [1]


def test_combined_uses_supplied_inputs_and_supplied_combined_wins():
    r = run_values(
        FINANCE,
        ["A", "B"],
        [("A", "OF0081", -0.7)],
        supplied=[("A", "OF1079", 3), ("B", "OF1079", 1), ("B", "OF1081", 2), ("B", "OF1080", 4)],
    )
    assert scores_of(r, "OF1080") == {"A": 4.0, "B": 4.0}
    assert statuses(r, "OF1080") == {"A": "scored", "B": "supplied"}


def test_combined_missing_an_input_is_not_scored():
    r = run_values(FINANCE, ["A"], [("A", "OF0079", 1)])
    assert math.isnan(scores_of(r, "OF1080")["A"])
    assert statuses(r, "OF1080") == {"A": "missing"}


# --- rating ------------------------------------------------------------------------------

RATING = metric(
    "OF1067",
    value_id=None,
    method="rating",
    direction=None,
    params={"scale": {"Outstanding": 1, "Good": 2, "Requires improvement": 3, "Inadequate": 4}},
)


def test_rating_inside_window_scored_outside_not():
    end = dt.date(2025, 9, 30)
    values = [
        ("A", "OF1067", None, "Good", dt.date(2024, 1, 1)),
        ("B", "OF1067", None, "requires improvement", end - dt.timedelta(days=730)),
        ("C", "OF1067", None, "Outstanding", end - dt.timedelta(days=731)),
        ("D", "OF1067", None, "Inadequate", "2025-06-01"),
    ]
    r = run_engine(methodology([RATING]), inputs(list("ABCD"), values, period_end=end))
    s = scores_of(r, "OF1067")
    assert (s["A"], s["B"], s["D"]) == (2.0, 3.0, 4.0)
    assert math.isnan(s["C"])
    assert statuses(r, "OF1067")["C"] == "out_of_window"
    assert not r.metric_scores.set_index("org_code").loc["C", "included"]


def test_unknown_rating_text_is_invalid_with_a_warning():
    values = [("A", "OF1067", None, "Brilliant", dt.date(2025, 1, 1))]
    r = run_values([RATING], ["A"], values)
    assert statuses(r, "OF1067") == {"A": "invalid"}
    assert any("OF1067" in w for w in r.warnings)


# --- supplied, missing, contextual -------------------------------------------------------


def test_supplied_score_wins_over_computed_and_is_not_recomputed():
    values = [(o, "OF0001", v) for o, v in zip(FIVE, [90, 80, 70, 60, 50], strict=True)]
    r = run_values([metric("OF1001")], FIVE, values, supplied=[("A", "OF1001", 3.33)])
    s = scores_of(r, "OF1001")
    assert s["A"] == 3.33 and s["B"] == 1.75  # A still counts in the pool for the others
    assert statuses(r, "OF1001")["A"] == "supplied"


def test_supplied_zero_means_no_score():
    m = metric("OF1035", value_id=None, method="supplied", direction=None)
    r = run_values(
        [m, metric("OF1001")], ["A"], [("A", "OF0001", 1)], supplied=[("A", "OF1035", 0)]
    )
    assert statuses(r, "OF1035") == {"A": "missing"}
    assert r.assessments["metric_count"].tolist() == [1]


def test_missing_value_is_excluded_never_averaged_as_zero():
    metrics = [metric("OF1001"), metric("OF1002")]
    values = [("A", "OF0001", 1), ("B", "OF0001", 2), ("A", "OF0002", 5), ("B", "OF0002", None)]
    r = run_values(metrics, ["A", "B"], values)
    assert column(r, "metric_count") == {"A": 2, "B": 1}
    # OF1001: B (2) beats A (1): B 1.00, A 4.00. OF1002: A alone, 1.00; B has no score.
    assert column(r, "average_score") == {"A": 2.5, "B": 1.0}
    assert statuses(r, "OF1002")["B"] == "missing"


def test_contextual_metric_stored_never_scored():
    ctx = metric(
        "OF1900",
        method="contextual",
        contextual=True,
        direction=None,
        included_in_average=False,
        peer_groups=["icb"],
    )
    r = run_values(
        [ctx, metric("OF1001", peer_groups=["icb"])],
        {"Q1": "icb"},
        [("Q1", "OF0900", 12.5), ("Q1", "OF0001", 1)],
        supplied=[("Q1", "OF1900", 2)],
    )
    row = r.metric_scores.set_index("metric_id").loc["OF1900"]
    assert row["status"] == "contextual" and row["value"] == 12.5
    assert math.isnan(row["score"]) and not row["included"]


def test_unknown_metric_ids_and_stray_scores_warn():
    r = run_values(
        [metric("OF1001")],
        ["A"],
        [("A", "OF0999", 1)],
        supplied=[("A", "OF1998", 2), ("A", "OF5000", 3)],
    )
    joined = " | ".join(r.warnings)
    assert "OF0999" in joined and "OF1998" in joined and "OF5000" not in joined


# --- inputs ------------------------------------------------------------------------------


def test_duplicate_values_keep_the_latest_whatever_the_row_order():
    rows = [
        ("A", "OF0001", 10, None, dt.date(2025, 6, 30)),
        ("A", "OF0001", 1, None, dt.date(2025, 3, 31)),
        ("B", "OF0001", 5, None, None),
    ]
    for order in (rows, rows[::-1]):
        r = run_values([metric("OF1001")], ["A", "B"], order)
        assert r.metric_scores.set_index("org_code").loc["A", "value"] == 10
        assert scores_of(r, "OF1001") == {"A": 1.0, "B": 4.0}
        assert any("duplicate value" in w for w in r.warnings)


def test_future_rating_dates_count_as_inside_the_window():
    values = [("A", "OF1067", None, "Good", dt.date(2025, 12, 1))]
    r = run_values([RATING], ["A"], values)
    assert scores_of(r, "OF1067") == {"A": 2.0}


def test_empty_inputs_run_and_say_so():
    r = run_values([metric("OF1001")], ["A", "B"], [])
    assert not r.assessments["segmented"].any()
    assert r.cut_points is None and r.cut_points_by_peer_group == {}
    assert r.league_table.empty
    assert any("No organisation can be segmented" in w for w in r.warnings)


def test_rows_for_unknown_organisations_warn():
    r = run_values([metric("OF1001")], ["A"], [("A", "OF0001", 1), ("ZZZ", "OF0001", 2)])
    assert any("ZZZ" in w for w in r.warnings)
    assert list(r.metric_scores["org_code"]) == ["A"]


def test_bad_organisations_rejected():
    bad = inputs(["A"])
    bad.organisations = bad.organisations.drop(columns="peer_group")
    with pytest.raises(ValueError, match="peer_group"):
        run_engine(methodology([metric("OF1001")]), bad)
    twice = inputs({"A": "acute"})
    twice.organisations = pd.DataFrame(
        {"org_code": ["A", "A"], "peer_group": ["acute", "ambulance"]}
    )
    with pytest.raises(ValueError, match="more than one peer group"):
        run_engine(methodology([metric("OF1001")]), twice)


def test_codes_are_stripped():
    r = run_values([metric("OF1001")], [" A "], [("A", " OF0001", 3)])
    assert scores_of(r, "OF1001") == {"A": 1.0}


def test_duplicate_ratings_resolved_whatever_the_row_order():
    rows = [
        ("A", "OF1067", None, "Good", dt.date(2025, 1, 1)),
        ("A", "OF1067", None, "Inadequate", dt.date(2025, 1, 1)),
        ("A", "OF1067", None, "Outstanding", None),
    ]
    results = {
        scores_of(run_values([RATING], ["A"], order), "OF1067")["A"]
        for order in (rows, rows[::-1], rows[1:] + rows[:1])
    }
    assert results == {4.0}  # dated beats undated; then "Inadequate" > "Good"

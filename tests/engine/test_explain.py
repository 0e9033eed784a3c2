"""Explanations: distance to the segment boundaries and the metrics with most leverage."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight.engine import boundary_distances, leverage, run_engine, segment_of
from oversight.engine.explain import weighted_average

from .conftest import inputs, methodology, metric

PIN = (2.00, 2.35, 2.70)


@pytest.mark.parametrize(
    ("average", "expected"),
    [
        (1.50, {"segment": 1, "to_better": None, "to_worse": 0.51}),
        (2.00, {"segment": 1, "to_better": None, "to_worse": 0.01}),
        (2.01, {"segment": 2, "to_better": 0.01, "to_worse": 0.35}),
        (2.40, {"segment": 3, "to_better": 0.05, "to_worse": 0.31}),
        (2.35, {"segment": 2, "to_better": 0.35, "to_worse": 0.01}),
        (3.00, {"segment": 4, "to_better": 0.30, "to_worse": None}),
    ],
)
def test_boundary_distances(average, expected):
    assert boundary_distances(average, PIN) == expected


def test_boundary_distances_with_cut_points_between_hundredths():
    # t2 = 2.345: 2.34 is segment 2, 2.35 is segment 3.
    d = boundary_distances(2.40, (2.0, 2.345, 2.7))
    assert d == {"segment": 3, "to_better": 0.06, "to_worse": 0.31}


def test_boundary_distances_nan():
    assert boundary_distances(math.nan, PIN) == {
        "segment": None,
        "to_better": None,
        "to_worse": None,
    }


cut_points = st.tuples(st.integers(100, 400), st.integers(0, 100), st.integers(0, 100)).map(
    lambda t: (t[0] / 100, min(4.0, (t[0] + t[1]) / 100), min(4.0, (t[0] + t[1] + t[2]) / 100))
)


@settings(max_examples=80, deadline=None)
@given(avg_h=st.integers(100, 400), cps=cut_points)
def test_boundary_distances_move_exactly_one_segment(avg_h, cps):
    avg = avg_h / 100
    d = boundary_distances(avg, cps)
    s = d["segment"]
    assert s == segment_of(avg, cps)
    if d["to_better"] is not None:
        assert d["to_better"] > 0
        assert segment_of(round(avg - d["to_better"], 2), cps) < s
        assert segment_of(round(avg - d["to_better"] + 0.01, 2), cps) == s
    if d["to_worse"] is not None:
        assert d["to_worse"] > 0
        assert segment_of(round(avg + d["to_worse"], 2), cps) > s
        assert segment_of(round(avg + d["to_worse"] - 0.01, 2), cps) == s


def org_rows():
    return pd.DataFrame(
        [
            # rank 3 of 5 between 1 and 4; up a quartile: rank 1.75 -> 1.5625 -> 1.56
            dict(
                metric_id="OF1001",
                score=2.5,
                rank=3,
                pool_size=5,
                method="rank",
                low=1,
                high=4,
                weight=1.0,
                included=True,
                status="scored",
            ),
            dict(
                metric_id="OF1035",
                score=3.0,
                rank=None,
                pool_size=0,
                method="supplied",
                low=None,
                high=None,
                weight=1.0,
                included=True,
                status="supplied",
            ),
            dict(
                metric_id="OF1002",
                score=1.0,
                rank=None,
                pool_size=0,
                method="rank",
                low=1,
                high=1,
                weight=1.0,
                included=True,
                status="meets_standard",
            ),
            dict(
                metric_id="OF1080",
                score=4.0,
                rank=None,
                pool_size=0,
                method="combined",
                low=None,
                high=None,
                weight=1.0,
                included=True,
                status="scored",
            ),
            dict(
                metric_id="OF1079",
                score=4.0,
                rank=None,
                pool_size=0,
                method="bands",
                low=None,
                high=None,
                weight=1.0,
                included=False,
                status="scored",
            ),
            dict(
                metric_id="OF1016",
                score=None,
                rank=None,
                pool_size=0,
                method="rank",
                low=None,
                high=None,
                weight=1.0,
                included=False,
                status="missing",
            ),
        ]
    )


def test_leverage_hand_checked():
    rows = org_rows()
    assert weighted_average(rows) == 2.63  # 10.5 / 4 = 2.625, a tie: half up
    lev = leverage(rows, top=5)
    assert list(lev.columns) == [
        "metric_id",
        "score",
        "improved_score",
        "new_average",
        "average_change",
    ]
    assert lev["metric_id"].tolist() == ["OF1035", "OF1080", "OF1001", "OF1002"]
    improved = dict(zip(lev["metric_id"], lev["improved_score"], strict=True))
    assert improved == {"OF1035": 2.0, "OF1080": 3.0, "OF1001": 1.56, "OF1002": 1.0}
    change = dict(zip(lev["metric_id"], lev["average_change"], strict=True))
    # 9.5 / 4 = 2.375 -> 2.38; 9.56 / 4 = 2.39; unchanged 2.63
    assert change == {"OF1035": -0.25, "OF1080": -0.25, "OF1001": -0.24, "OF1002": 0.0}
    assert leverage(rows, top=2)["metric_id"].tolist() == ["OF1035", "OF1080"]


def test_leverage_never_below_low_bookend_and_below_floor_reaches_3():
    rows = pd.DataFrame(
        [
            dict(
                metric_id="A",
                score=2.0,
                rank=2,
                pool_size=3,
                method="rank",
                low=2,
                high=4,
                weight=1.0,
                included=True,
                status="scored",
            ),
            dict(
                metric_id="B",
                score=4.0,
                rank=None,
                pool_size=0,
                method="rank",
                low=4,
                high=4,
                weight=1.0,
                included=True,
                status="below_floor",
            ),
        ]
    )
    improved = dict(zip(*leverage(rows)[["metric_id", "improved_score"]].T.values, strict=True))
    assert improved == {"A": 2.0, "B": 3.0}


def test_leverage_from_engine_rows_with_weights():
    infections = [metric(s, direction="lower", weight="1/3") for s in ("OF1020", "OF1048")]
    m = methodology([metric("OF1001"), *infections])
    values = [(o, "OF0001", v) for o, v in zip("ABCDE", [5, 4, 3, 2, 1], strict=True)]
    values += [(o, "OF0020", v) for o, v in zip("ABCDE", [1, 2, 3, 4, 5], strict=True)]
    values += [(o, "OF0048", v) for o, v in zip("ABCDE", [1, 2, 3, 4, 5], strict=True)]
    r = run_engine(m, inputs(list("ABCDE"), values))
    rows = r.metric_scores[r.metric_scores["org_code"] == "E"]
    assert weighted_average(rows) == r.assessments.set_index("org_code").loc["E", "average_score"]
    lev = leverage(rows)
    # OF1001 weighs 1, each infection metric 1/3: OF1001 has the most leverage.
    assert lev["metric_id"].iloc[0] == "OF1001"
    assert (lev["average_change"] <= 0).all()
    assert (lev["improved_score"] <= lev["score"]).all()


def test_leverage_empty():
    assert leverage(org_rows().iloc[0:0]).empty

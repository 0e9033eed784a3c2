"""The scoring rule of 2025/26 on a synthetic national quarter worked out by hand.

Ten real trusts of all three provider types (acute R0A R0B R0D R1F; mental health G6V2S
R1L RAT and community R1A, both in the mental health and community peer group; ambulance
RRU RX6). Under the shipped 2025/26 methodology:

* OF0082 sickness absence (lower is better) is ranked **nationally** across trust types;
  RX6 has no value, so N = 9 and ``score = 1 + 3 (p - 1) / 8``, R0A and R1A tie at p = 2
  (1.375, published 1.38), RAT sits at p = 4 (exactly 2.125: half up 2.13, half even 2.12).
* OF0063 long stays (lower) applies to mental health and community trusts but is ranked
  nationally: the five acute and ambulance values are ranked too (outside reporters) and
  do not count in their own averages.
* OF0057 Urgent Community Response (higher, floor 70): G6V2S (65) is below the floor and
  scores 4.00; the passers (70 passes) are ranked among themselves from 1.00 to 3.00,
  including acute R0A (85), an outside reporter.
* OF0084 staff engagement (higher) is ranked **within the trust type**: the mental health
  and community trusts among themselves, the acute ones among themselves.
* Averages are means of the unrounded scores rounded half up: R1L's is 9.3333 / 4 = 2.33,
  where averaging the published 2-dp scores would give 9.34 / 4 = 2.335 -> 2.34.
"""

from __future__ import annotations

import pandas as pd
import pytest

from oversight.engine import builtin_methodology_path, load_methodology_file, run_engine

from .conftest import inputs

MHC = "mental-health-and-community"
ORGS = {
    "R0A": "acute",
    "R0B": "acute",
    "R0D": "acute",
    "R1F": "acute",
    "G6V2S": MHC,
    "R1L": MHC,
    "RAT": MHC,
    "R1A": MHC,
    "RRU": "ambulance",
    "RX6": "ambulance",
}
VALUES = {
    "OF0082": {
        "G6V2S": 3.0,
        "R0A": 3.5,
        "R1A": 3.5,
        "RAT": 4.0,
        "R0B": 4.5,
        "RRU": 5.0,
        "R0D": 5.5,
        "R1L": 6.0,
        "R1F": 7.0,
    },
    "OF0063": {
        "G6V2S": 10,
        "R1L": 20,
        "R0A": 30,
        "R1A": 40,
        "RAT": 50,
        "R0B": 60,
        "RRU": 70,
        "R0D": 80,
        "R1F": 90,
    },
    "OF0057": {"G6V2S": 65, "R1L": 80, "RAT": 90, "R1A": 70, "R0A": 85},
    "OF0084": {"G6V2S": 7.0, "R1L": 6.5, "RAT": 6.0, "R1A": 6.5, "R0A": 7.5, "R0B": 7.0},
}
# Worked by hand from the formula (published, 2 dp).
EXPECTED_SCORES = {
    "OF1082": {
        "G6V2S": 1.00,
        "R0A": 1.38,
        "R1A": 1.38,
        "RAT": 2.13,
        "R0B": 2.50,
        "RRU": 2.88,
        "R0D": 3.25,
        "R1L": 3.63,
        "R1F": 4.00,
    },
    "OF1063": {
        "G6V2S": 1.00,
        "R1L": 1.38,
        "R0A": 1.75,
        "R1A": 2.13,
        "RAT": 2.50,
        "R0B": 2.88,
        "RRU": 3.25,
        "R0D": 3.63,
        "R1F": 4.00,
    },
    "OF1057": {"RAT": 1.00, "R0A": 1.67, "R1L": 2.33, "R1A": 3.00, "G6V2S": 4.00},
    "OF1084": {"G6V2S": 1.00, "R1L": 2.00, "R1A": 2.00, "RAT": 4.00, "R0A": 1.00, "R0B": 4.00},
}
EXPECTED_AVERAGES = {
    "G6V2S": 1.75,  # 1 + 1 + 4 + 1 = 7 / 4
    "R1L": 2.33,  # 3.625 + 1.375 + 2.3333 + 2 = 9.3333 / 4
    "RAT": 2.41,  # 2.125 + 2.5 + 1 + 4 = 9.625 / 4 = 2.40625
    "R1A": 2.13,  # 1.375 + 2.125 + 3 + 2 = 8.5 / 4 = 2.125 exactly: half up
    "R0A": 1.19,  # 1.375 + 1 = 2.375 / 2 = 1.1875 (its OF1063 and OF1057 do not count)
    "R0B": 3.25,  # 2.5 + 4 = 6.5 / 2
    "R0D": 3.25,
    "R1F": 4.00,
    "RRU": 2.88,  # 2.875 exactly: half up
}


@pytest.fixture(scope="module")
def result():
    spec = load_methodology_file(builtin_methodology_path("nof-2025-26"))
    values = [(org, mid, v) for mid, by_org in VALUES.items() for org, v in by_org.items()]
    return run_engine(spec, inputs(ORGS, values, pinned=(1.5, 2.5, 3.5)))


def _scores(result, metric_id):
    ms = result.metric_scores
    rows = ms[(ms["metric_id"] == metric_id) & ms["score"].notna()]
    return dict(zip(rows["org_code"], rows["score"], strict=True))


@pytest.mark.parametrize("metric_id", sorted(EXPECTED_SCORES))
def test_scores_match_the_hand_worked_formula(result, metric_id):
    assert _scores(result, metric_id) == pytest.approx(EXPECTED_SCORES[metric_id], abs=1e-9)


def test_missing_value_is_not_in_the_pool(result):
    ms = result.metric_scores.set_index(["org_code", "metric_id"])
    assert ms.loc[("RX6", "OF1082"), "status"] == "missing"
    assert ms.loc[("R0A", "OF1082"), "pool_size"] == 9
    assert ms.loc[("RAT", "OF1082"), "rank"] == 4


def test_exact_scores_kept_for_the_averages(result):
    ms = result.metric_scores.set_index(["org_code", "metric_id"])
    assert ms.loc[("RAT", "OF1082"), "exact_score"] == pytest.approx(2.125)
    assert ms.loc[("R1L", "OF1057"), "exact_score"] == pytest.approx(7 / 3)


def test_outside_reporters_are_ranked_but_not_averaged(result):
    ms = result.metric_scores.set_index(["org_code", "metric_id"])
    for org, mid in (("R0A", "OF1063"), ("R0A", "OF1057"), ("RRU", "OF1063")):
        row = ms.loc[(org, mid)]
        assert row["outside"] and row["status"] == "scored" and not row["included"], (org, mid)
    assert ms.loc[("R1L", "OF1063"), "included"] and not ms.loc[("R1L", "OF1063"), "outside"]
    # An acute trust without a value for a community metric has no row for it at all.
    assert ("R0B", "OF1057") not in ms.index


def test_averages_are_half_up_means_of_the_exact_scores(result):
    a = result.assessments.set_index("org_code")["average_score"]
    assert a.drop("RX6").to_dict() == pytest.approx(EXPECTED_AVERAGES, abs=1e-9)
    assert pd.isna(a["RX6"])


def test_counting_outside_scores_is_a_per_metric_setting():
    doc = load_methodology_file(builtin_methodology_path("nof-2025-26")).to_dict()
    for m in doc["metrics"]:
        if m["score_id"] == "OF1063":
            m["counts_outside_peer_groups"] = True
    from oversight.engine import MethodologySpec

    spec = MethodologySpec.from_dict(doc)
    values = [(org, mid, v) for mid, by_org in VALUES.items() for org, v in by_org.items()]
    r = run_engine(spec, inputs(ORGS, values, pinned=(1.5, 2.5, 3.5)))
    a = r.assessments.set_index("org_code")["average_score"]
    assert a["R0A"] == pytest.approx(1.38)  # (1.375 + 1.75 + 1) / 3 = 1.375 -> half up


def test_pools_are_recorded_and_partial_ones_flagged(result):
    pools = result.pools.set_index("metric_id")
    assert pools.loc["OF1082", "pool"] == "national"
    assert (pools.loc["OF1082", "ranked"], pools.loc["OF1082", "applies"]) == (9, 10)
    assert pools.loc["OF1082", "partial"]
    assert (pools.loc["OF1063", "ranked"], pools.loc["OF1063", "applies"]) == (9, 9)
    assert not pools.loc["OF1063", "partial"]
    staff = result.pools[result.pools["metric_id"] == "OF1084"].set_index("pool")
    assert staff.loc[MHC, "ranked"] == 4 and staff.loc["acute", "ranked"] == 2
    assert not staff["partial"].any()
    assert any("OF1082 (9 of 10)" in w for w in result.warnings)


def test_a_peer_group_with_no_data_makes_national_pools_partial():
    spec = load_methodology_file(builtin_methodology_path("nof-2025-26"))
    mhc_only = [
        (org, mid, v)
        for mid, by_org in VALUES.items()
        for org, v in by_org.items()
        if ORGS[org] == MHC
    ]
    r = run_engine(spec, inputs(ORGS, mhc_only, pinned=(1.5, 2.5, 3.5)))
    pools = r.pools.set_index("metric_id")
    # OF0063 applies to the 4 MHC trusts; the 6 acute and ambulance trusts may report it
    # too, but none of their data is loaded.
    assert (pools.loc["OF1063", "ranked"], pools.loc["OF1063", "applies"]) == (4, 10)
    assert pools.loc["OF1063", "partial"]
    assert pools.loc["OF1063", "not_loaded"] == ["acute", "ambulance"]

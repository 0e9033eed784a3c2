import datetime

import pytest

from systems.models import IntegratedCareBoard, Trust
from systems.selectors import organisations_on, region_tree, successors_of

BEFORE = datetime.date(2026, 3, 31)
AFTER = datetime.date(2026, 4, 1)


def codes(orgs) -> list[str]:
    return [o.code for o in orgs]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("QHG", ["S1Y5D"]),  # merger
        ("QM7", ["D7T5G", "S1Y5D"]),  # split in two
        ("QNQ", ["QRL", "S0E4D", "S9B9J"]),  # split three ways, part acquired
        ("QMF", ["QMF"]),  # continues
        ("RY2", ["RWW"]),
        ("RRP", ["G6V2S"]),
        ("RD3", []),  # closed, no successor
    ],
)
def test_successor_today(reference_data, code, expected):
    assert codes(successors_of(code, on=datetime.date(2026, 11, 22))) == expected


def test_successor_before_the_merger_is_itself(reference_data):
    assert codes(successors_of("QHG", on=BEFORE)) == ["QHG"]
    assert codes(successors_of("RY2", on=BEFORE)) == ["RY2"]


def test_chained_successions_followed(reference_data):
    # RNK closed 2026-04-01 into G6V2S, itself formed 2024-11-01 from RRP and TAF.
    assert codes(successors_of("RNK", on=AFTER)) == ["G6V2S"]


def test_existed_on_date(reference_data):
    trusts_2025 = set(codes(organisations_on(datetime.date(2025, 9, 30), kind="trust")))
    assert {"RY2", "RYV", "RNK"} <= trusts_2025, "closed after the period, so still in it"
    assert "RAP" not in trusts_2025  # closed 2025-01-01
    trusts_now = set(codes(organisations_on(AFTER, kind="trust")))
    assert "RY2" not in trusts_now
    assert "RWW" in trusts_now
    # Trusts whose open date is unknown count as existing.
    assert "TAD" in trusts_now
    assert organisations_on(BEFORE, kind="icb").count() == 42
    assert organisations_on(AFTER, kind="icb").count() == 36


def test_region_tree_matches_the_period(reference_data, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        tree = region_tree(AFTER)
    assert len(tree) == 7
    assert sum(len(r.icbs) for r in tree) == 36
    east = next(r for r in tree if r.region.name == "East of England")
    assert {n.icb.code for n in east.icbs} >= {"S1Y5D", "D7T5G", "T6Y0W"}
    hosted = sum(r.trust_count for r in tree)
    assert hosted == Trust.objects.existing_on(AFTER).exclude(icb_from_2026=None).count()
    before = region_tree(BEFORE)
    assert sum(len(r.icbs) for r in before) == 42
    assert IntegratedCareBoard.objects.count() == 48

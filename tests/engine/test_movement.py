"""Who moved and why: each cause on a constructed case, and never a metric that moved
against the move named as its reason."""

from __future__ import annotations

import pytest

from oversight.engine.movement import Side, explain_movement

CUTS = (2.0, 2.35, 2.7)
NAMES = {"A": "Metric A", "B": "Metric B", "C": "Metric C", "D": "Metric D"}


def side(average, scores=None, *, cuts=CUTS, override=False, programme=False, final=None):
    scores = {m: (s, 1.0) for m, s in (scores or {}).items()}
    return Side(average, cuts, override, programme, final, scores)


def test_a_worse_average_names_only_the_metrics_that_got_worse():
    before = side(2.33, {"A": 2, "B": 3, "C": 2}, final=2)
    after = side(3.0, {"A": 4, "B": 1, "C": 4}, final=4)
    move = explain_movement(before, after, cap=3, names=NAMES)
    assert move.direction == "worse"
    assert [c.kind for c in move.causes] == ["average"]
    assert [c.metric_id for c in move.contributions] == ["A", "C"]
    assert all(c.contribution > 0 for c in move.contributions)
    assert "Metric B" not in move.paragraph()
    assert move.paragraph().startswith("Segment 2 → 4 (worse). The average rose from 2.33")


def test_the_override_cap_is_the_cause_when_the_metrics_improved():
    """Segment 1 → 3 while every metric improved: the cap, not the metrics."""
    before = side(1.9, {"A": 2, "B": 2}, final=1)
    after = side(1.5, {"A": 1, "B": 2}, override=True, final=3)
    move = explain_movement(before, after, cap=3, names=NAMES)
    assert [c.kind for c in move.causes] == ["override_applied"]
    assert move.contributions == []
    assert "no better than segment 3" in move.paragraph()
    assert "Metric A" not in move.paragraph()


def test_the_override_lifted():
    before = side(1.9, {"A": 2}, override=True, final=3)
    after = side(1.9, {"A": 2}, final=1)
    move = explain_movement(before, after, cap=3)
    assert [(c.kind, c.segment_from, c.segment_to) for c in move.causes] == [
        ("override_lifted", 3, 1)
    ]


@pytest.mark.parametrize(
    ("entered", "kind", "final"), [(True, "programme_entry", 5), (False, "programme_exit", 2)]
)
def test_programme_entry_and_exit(entered, kind, final):
    before = side(2.2, {"A": 2}, programme=not entered, final=2 if entered else 5)
    after = side(2.2, {"A": 2}, programme=entered, final=final)
    move = explain_movement(before, after, cap=3)
    assert [c.kind for c in move.causes] == [kind]
    assert move.after == final


def test_a_change_of_cut_points_alone():
    before = side(2.36, {"A": 2}, final=3)
    after = side(2.36, {"A": 2}, cuts=(2.0, 2.4, 2.7), final=2)
    move = explain_movement(before, after, cap=3)
    assert [c.kind for c in move.causes] == ["cut_points"]
    assert "2 / 2.35 / 2.7 to 2 / 2.4 / 2.7" in move.paragraph()


def test_a_cause_against_the_move_is_said_to_offset_it():
    before = side(2.36, {"A": 2, "B": 3}, final=3)  # segment 3 under 2.35
    after = side(2.8, {"A": 3, "B": 3}, cuts=(2.0, 2.4, 2.7), final=4)
    move = explain_movement(before, after, cap=3, names=NAMES)
    assert [c.kind for c in move.causes] == ["average"]
    assert [c.kind for c in move.offsets] == ["cut_points"]
    assert "Partly offset: The cut points changed" in move.paragraph()


def test_contributions_add_up_to_the_change_of_the_average_with_metrics_entering_and_leaving():
    before_scores = {"A": 1.0, "B": 1.0, "C": 3.0}
    after_scores = {"A": 4.0, "C": 3.0, "D": 4.0}  # B left, D entered
    before = side(5 / 3, before_scores, final=1)
    after = side(11 / 3, after_scores, final=4)
    move = explain_movement(before, after, cap=3, names=NAMES, top=10)
    total = sum(c.contribution for c in move.contributions)
    # B's leaving raised the average (a good score gone); C, unchanged, contributes nothing.
    assert total == pytest.approx(11 / 3 - 5 / 3)
    assert {c.metric_id for c in move.contributions} == {"A", "B", "D"}
    assert "newly scored 4" in move.paragraph() and "no longer scored (was 1)" in move.paragraph()


def test_no_move_and_no_segment():
    same = explain_movement(side(2.2, final=2), side(2.25, final=2), cap=3)
    assert same.direction == "same" and same.causes == []
    unsegmented = explain_movement(side(None, final=None), side(2.2, final=2), cap=3)
    assert "Not segmented in the earlier quarter" in unsegmented.paragraph()


def test_what_the_other_metrics_took_back_is_said():
    before = side(2.5, {"A": 2, "B": 3}, final=3)
    after = side(2.75, {"A": 4, "B": 1.5}, final=4)
    move = explain_movement(before, after, cap=3, names=NAMES)
    assert [c.metric_id for c in move.contributions] == ["A"]
    assert move.taken_back == pytest.approx(-0.75)
    assert "Other metrics moved it back by 0.75." in move.paragraph()

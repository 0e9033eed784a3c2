"""Why an organisation's segment moved between two runs, cause by cause.

The final segment is reached in steps: the average, placed between the cut points, gives
the unadjusted segment; the financial override caps it (no better than the cap); the
Provider Improvement Programme puts a trust in segment 5. A move is taken apart by
changing one thing at a time, from the earlier run to the later: the cut points, then the
average, then the override, then programme membership. Each change that moved the segment
is a cause; a cause that moved it against the overall move is said to have offset it.

The change of the average is then shared among the metrics exactly: with weights ``w``,
scores ``s`` and total weight ``W``, metric ``m`` contributes
``(w_now·(s_now - a_before) - w_before·(s_before - a_before)) / W_now``, where
``a_before`` is the earlier average and an absent score has weight 0. The contributions
add up to the change of the average, metrics that entered or left included; only those in
the direction of the move are named as its reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .segmentation import segment_of

# Contributions smaller than this (in average points) are not named: they show as 0.00.
NEGLIGIBLE = 0.005


@dataclass(frozen=True)
class Side:
    """One organisation in one run."""

    average: float | None
    cut_points: tuple[float, float, float] | None
    override: bool
    in_programme: bool
    final: int | None
    # Included scores only: metric id -> (score, weight).
    scores: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Cause:
    kind: str  # programme_entry, programme_exit, override_applied, override_lifted,
    # cut_points, average
    segment_from: int
    segment_to: int
    text: str

    @property
    def worse(self) -> bool:
        return self.segment_to > self.segment_from


@dataclass(frozen=True)
class Contribution:
    metric_id: str
    name: str
    before: float | None
    now: float | None
    contribution: float


@dataclass
class Movement:
    before: int | None
    after: int | None
    causes: list[Cause] = field(default_factory=list)  # in the direction of the move
    offsets: list[Cause] = field(default_factory=list)  # against it
    contributions: list[Contribution] = field(default_factory=list)
    # What the metrics that moved the other way took back (average points, signed).
    taken_back: float = 0.0
    note: str = ""  # why there is no breakdown (not segmented on one side)

    @property
    def direction(self) -> str:
        if self.before is None or self.after is None or self.before == self.after:
            return "same"
        return "worse" if self.after > self.before else "better"

    def paragraph(self) -> str:
        """One plain-English paragraph."""
        if self.note:
            return self.note
        if self.direction == "same":
            return f"Segment {self.after}, as before."
        parts = [f"Segment {self.before} → {self.after} ({self.direction})."]
        parts += [_sentence(c.text) for c in self.causes]
        if self.contributions:
            named = "; ".join(
                f"{c.name} ({c.metric_id}) {_score_change(c)}, {c.contribution:+.2f}"
                for c in self.contributions
            )
            parts.append(f"The average moved most through: {named}.")
            if abs(self.taken_back) >= NEGLIGIBLE:
                parts.append(f"Other metrics moved it back by {abs(self.taken_back):.2f}.")
        parts += [_sentence(f"Partly offset: {c.text}") for c in self.offsets]
        return " ".join(parts)


def explain_movement(
    before: Side,
    after: Side,
    *,
    cap: int,
    names: Mapping[str, str] | None = None,
    top: int = 5,
) -> Movement:
    """The causes of the move from ``before`` to ``after`` (see the module doc)."""
    movement = Movement(before.final, after.final)
    if before.average is None or after.average is None:
        side = "the earlier quarter" if before.average is None else "this quarter"
        movement.note = f"Not segmented in {side}, so there is no move to take apart."
        return movement
    if movement.direction == "same":
        return movement
    steps = _steps(before, after, cap)
    worse = movement.direction == "worse"
    for cause in steps:
        (movement.causes if cause.worse == worse else movement.offsets).append(cause)
    if any(c.kind == "average" for c in movement.causes):
        movement.contributions = _contributions(before, after, names or {}, worse=worse)[:top]
        against = _contributions(before, after, names or {}, worse=not worse)
        movement.taken_back = sum(c.contribution for c in against)
    return movement


def _final(average: float | None, cuts, override: bool, programme: bool, cap: int) -> int:
    if programme:
        return 5
    segment = (segment_of(average, cuts) or 0) if average is not None else 0
    return max(segment, cap) if override else segment


def _steps(before: Side, after: Side, cap: int) -> list[Cause]:
    """Each factor changed in turn; a cause wherever the segment changed. Returned in the
    order people ask about them: programme, override, cut points, average."""
    b, a = before, after
    f0 = _final(b.average, b.cut_points, b.override, b.in_programme, cap)
    f1 = _final(b.average, a.cut_points, b.override, b.in_programme, cap)
    f2 = _final(a.average, a.cut_points, b.override, b.in_programme, cap)
    f3 = _final(a.average, a.cut_points, a.override, b.in_programme, cap)
    f4 = _final(a.average, a.cut_points, a.override, a.in_programme, cap)
    causes = []
    if f4 != f3:
        kind = "programme_entry" if a.in_programme else "programme_exit"
        text = (
            "It entered the Provider Improvement Programme, which places a trust in segment 5"
            if a.in_programme
            else f"It left the Provider Improvement Programme; its own results give segment {f4}"
        )
        causes.append(Cause(kind, f3, f4, text))
    if f3 != f2:
        text = (
            f"The financial override now applies: no better than segment {cap} (the average "
            f"alone gives {f2})"
            if a.override
            else f"The financial override no longer applies; the average alone gives {f3}"
        )
        causes.append(Cause("override_applied" if a.override else "override_lifted", f2, f3, text))
    if f1 != f0:
        causes.append(
            Cause(
                "cut_points",
                f0,
                f1,
                f"The cut points changed from {_cuts(b.cut_points)} to {_cuts(a.cut_points)}: "
                f"the earlier average of {b.average:.2f} would now give segment {f1}",
            )
        )
    if f2 != f1:
        rose = (a.average or 0.0) > (b.average or 0.0)
        causes.append(
            Cause(
                "average",
                f1,
                f2,
                f"The average {'rose' if rose else 'fell'} from {b.average:.2f} to "
                f"{a.average:.2f} ({'worse' if rose else 'better'}; 1 is best, 4 worst)",
            )
        )
    return causes


def _contributions(
    before: Side, after: Side, names: Mapping[str, str], *, worse: bool
) -> list[Contribution]:
    total_before = sum(w for _, w in before.scores.values())
    total_after = sum(w for _, w in after.scores.values())
    if not total_before or not total_after:
        return []
    base = sum(s * w for s, w in before.scores.values()) / total_before
    found = []
    for metric in sorted(set(before.scores) | set(after.scores)):
        s_b, w_b = before.scores.get(metric, (None, 0.0))
        s_a, w_a = after.scores.get(metric, (None, 0.0))
        share = (
            (w_a * (s_a - base) if s_a is not None else 0.0)
            - (w_b * (s_b - base) if s_b is not None else 0.0)
        ) / total_after
        if (share > NEGLIGIBLE) if worse else (share < -NEGLIGIBLE):
            found.append(Contribution(metric, names.get(metric, metric), s_b, s_a, share))
    return sorted(found, key=lambda c: -abs(c.contribution))


def _cuts(cuts) -> str:
    return "none" if not cuts else " / ".join(f"{t:g}" for t in cuts)


def _score_change(c: Contribution) -> str:
    if c.before is None:
        return f"newly scored {c.now:g}"
    if c.now is None:
        return f"no longer scored (was {c.before:g})"
    return f"score {c.before:g} → {c.now:g}"


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."

"""What publishing a run would change, computed without changing anything.

A provisional run is compared with its period's published results: which organisations'
segments would move, which freedoms would be put at risk or become eligible, which
delegation conditions would apply or lift, and whether the cut points kept for the period
differ from the quartiles the provisional averages would give. Like :mod:`.runs`, this is
a workflow above both consequences: it reads earned autonomy's rules and delegation's
conditions, and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from delegation.models import ConditionRule
from delegation.selectors import current_icb_segments, open_conditions
from systems.authorization import is_national, visible_organisations
from systems.models import OrganisationKind

from .autonomy.models import LIVE_GRANT, Freedom, FreedomGrant
from .autonomy.policy import spec_of
from .autonomy.response import facts_for
from .cut_points import format_cut_points
from .engine.autonomy import evaluate
from .models import MetricScore, OrganisationAssessment, SegmentationRun

__all__ = ["Move", "Preview", "preview_of"]


@dataclass(frozen=True)
class Move:
    code: str
    name: str
    peer_group: str
    published: int | None
    provisional: int | None
    # Why: "its own data changed", or, when none of its values did, others' values moved
    # its position in a pool it shares with them (ranks are relative).
    cause: str = ""

    @property
    def worse(self) -> bool:
        return (self.provisional or 0) > (self.published or 0)


@dataclass
class Preview:
    """What publishing ``run`` would change, for the organisations one person may see."""

    run: SegmentationRun
    published: SegmentationRun | None
    moves: list[Move] = field(default_factory=list)
    moves_elsewhere: int = 0  # moves among organisations the person may not see
    freedoms_at_risk: list[dict[str, str]] = field(default_factory=list)
    freedoms_eligible: list[dict[str, str]] = field(default_factory=list)
    conditions: list[dict[str, str]] = field(default_factory=list)
    cut_points: str = ""  # when the quartiles would differ from the cut points kept
    pools: str = ""  # how the run's rank scores were worked (held or afresh)

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.moves
            or self.moves_elsewhere
            or self.freedoms_at_risk
            or self.freedoms_eligible
            or self.conditions
        )


def preview_of(run: SegmentationRun, user: Any = None) -> Preview:
    """Compare ``run`` with its period's published run (when it is not that run)."""
    published = run.period.current_run
    preview = Preview(run=run, published=published)
    if published is not None and published.pk == run.pk:
        return preview
    visible = None if user is None or is_national(user) else visible_organisations(user)
    seen = None if visible is None else set(visible.values_list("pk", flat=True))
    _moves(preview, seen)
    _freedoms(preview, seen)
    _conditions(preview, seen)
    preview.cut_points = _cut_points_note(run)
    preview.pools = _pools_note(run, published)
    return preview


def _pools_note(run: SegmentationRun, published: SegmentationRun | None) -> str:
    if run.ranked_against_id:
        return (
            f"Ranks were worked against the pools of published run {run.ranked_against_id}, "
            "held still: only organisations whose own values changed can score differently."
        )
    if published is not None:
        return (
            "Every pool was ranked afresh: an organisation's rank can move when others' "
            "values change."
        )
    return ""


def _segments(run_id: int | None) -> dict[int, tuple[str, str, str, int | None]]:
    if run_id is None:
        return {}
    return {
        a["organisation_id"]: (
            a["organisation__code"],
            a["organisation__name"],
            a["peer_group"],
            a["final_segment"],
        )
        for a in OrganisationAssessment.objects.filter(run_id=run_id).values(
            "organisation_id",
            "organisation__code",
            "organisation__name",
            "peer_group",
            "final_segment",
        )
    }


def _moves(preview: Preview, seen: set[int] | None) -> None:
    before = _segments(preview.published.pk if preview.published else None)
    after = _segments(preview.run.pk)
    moved = [
        o
        for o in set(before) | set(after)
        if before.get(o, (0, 0, 0, None))[3] != after.get(o, (0, 0, 0, None))[3]
    ]
    own_data = _changed_inputs(preview, moved)
    for org_id in sorted(moved, key=lambda o: (after.get(o) or before[o])[0]):
        old = before.get(org_id, (None, None, None, None))[3]
        code, name, group, new = after.get(org_id) or (*before[org_id][:3], None)
        if seen is not None and org_id not in seen:
            preview.moves_elsewhere += 1
            continue
        cause = (
            "its own data changed"
            if org_id in own_data or preview.published is None
            else "others' values moved its rank in a pool it shares with them"
        )
        preview.moves.append(Move(code, name, group, old, new, cause))


def _changed_inputs(preview: Preview, org_ids: list[int]) -> set[int]:
    """Of ``org_ids``, those with a value or supplied score that differs between the
    published run and this one."""
    if preview.published is None or not org_ids:
        return set()

    def inputs(run_id: int) -> dict[tuple[int, str], tuple]:
        rows = MetricScore.objects.filter(run_id=run_id, organisation_id__in=org_ids)
        return {
            (o, m): (v, t, s if st == "supplied" else None)
            for o, m, v, t, s, st in rows.values_list(
                "organisation_id", "metric_id", "value", "text", "score", "status"
            )
        }

    old, new = inputs(preview.published.pk), inputs(preview.run.pk)
    return {o for (o, m) in set(old) | set(new) if old.get((o, m)) != new.get((o, m))}


def _freedoms(preview: Preview, seen: set[int] | None) -> None:
    """Live grants whose freedom the provisional results would no longer support, and
    freedoms they would make an organisation eligible for."""
    current = {icb_id: row.segment for icb_id, row in current_icb_segments().items()}
    icb_segments = dict(current)
    for icb_id, segment in OrganisationAssessment.objects.filter(
        run=preview.run, organisation__kind=OrganisationKind.ICB, final_segment__isnull=False
    ).values_list("organisation_id", "final_segment"):
        icb_segments[icb_id] = int(segment or 0)
    facts = facts_for(preview.run, icb_segments)
    # Only what this run would change: a freedom's eligibility under the published results
    # is the baseline (a grant already failing its criteria is the region's to decide).
    published = facts_for(preview.published, current) if preview.published else {}
    for freedom in Freedom.objects.filter(active=True):
        spec = spec_of(freedom)
        live = set(
            FreedomGrant.objects.filter(freedom=freedom, status__in=LIVE_GRANT).values_list(
                "organisation_id", flat=True
            )
        )
        for org_id, f in facts.items():
            if f.kind != spec.applies_to or (seen is not None and org_id not in seen):
                continue
            result = evaluate(spec, f)
            was = evaluate(spec, published[org_id]).eligible if org_id in published else None
            if result.eligible == was:
                continue
            entry = {"code": f.code, "freedom": freedom.name}
            if org_id in live and not result.eligible:
                failed = [c.name for c in result.criteria if not c.passed]
                preview.freedoms_at_risk.append({**entry, "because": "; ".join(failed)})
            elif org_id not in live and result.eligible:
                preview.freedoms_eligible.append(entry)


def _conditions(preview: Preview, seen: set[int] | None) -> None:
    """Delegation conditions that the ICB segments of the run would apply or lift."""
    computed = dict(
        OrganisationAssessment.objects.filter(
            run=preview.run, organisation__kind=OrganisationKind.ICB, final_segment__isnull=False
        ).values_list("organisation_id", "final_segment")
    )
    if not computed:
        return
    rules = list(ConditionRule.objects.filter(active=True))
    open_now = {(c.agreement.icb_id, c.rule_id) for c in open_conditions(computed)}
    current = current_icb_segments(computed)
    names = dict(
        OrganisationAssessment.objects.filter(
            run=preview.run, organisation_id__in=computed
        ).values_list("organisation_id", "organisation__name")
    )
    for icb_id, segment in computed.items():
        if seen is not None and icb_id not in seen:
            continue
        if current.get(icb_id) is not None and current[icb_id].segment == segment:
            continue
        for rule in rules:
            is_open = (icb_id, rule.pk) in open_now
            would = segment in rule.segments
            if would != is_open:
                preview.conditions.append(
                    {
                        "icb": names.get(icb_id, str(icb_id)),
                        "condition": rule.name,
                        "change": "would apply" if would else "would lift",
                        "segment": str(segment),
                    }
                )


def _cut_points_note(run: SegmentationRun) -> str:
    """A sentence when the run used the period's kept cut points and the quartiles of its
    own averages would differ."""
    if run.cut_points_source != "frozen" or not run.recomputed_cut_points or not run.cut_points:
        return ""
    kept = format_cut_points(run.cut_points)
    differing = {
        group: format_cut_points((c["t1"], c["t2"], c["t3"]))
        for group, c in run.recomputed_cut_points.items()
        if (c["t1"], c["t2"], c["t3"]) != run.cut_points
    }
    if not differing:
        return ""
    shown = set(differing.values())
    recomputed = (
        next(iter(shown))
        if len(shown) == 1
        else "; ".join(f"{g}: {t}" for g, t in sorted(differing.items()))
    )
    return (
        f"These results use the cut points kept from the published run ({kept}). The "
        f"quartiles of these averages would be {recomputed}; a national user can pin new "
        "cut points if the published ones should change."
    )

"""One run = one period under one methodology: inputs in, every result out.

``run_engine`` is a pure function: the same methodology, inputs and seed give the same
result, whatever the order of the input rows (inputs are sorted canonically first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .input_tables import normalise_organisations
from .league import BootstrapResult, bootstrap_ranges, league_table
from .scoring import POOL_COLUMNS, ScoredMetrics, score_metrics
from .segmentation import (
    CutPoints,
    apply_override,
    check_ready,
    domain_scores,
    financial_override_flags,
    organisation_averages,
    resolve_cut_points,
    segment_from_hundredths,
    validate_cut_points,
)
from .spec import MethodologySpec

__all__ = [
    "ASSESSMENT_COLUMNS",
    "LEAGUE_COLUMNS",
    "CutPoints",
    "EngineInputs",
    "EngineResult",
    "run_engine",
]

ASSESSMENT_COLUMNS = [
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
LEAGUE_COLUMNS = [
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


@dataclass
class EngineInputs:
    """Everything a run needs besides the methodology (see module docs for columns)."""

    organisations: pd.DataFrame
    values: pd.DataFrame
    supplied_scores: pd.DataFrame
    override_flags: Mapping[str, bool]
    programme_members: frozenset[str]
    period_end: dt.date
    pinned_cut_points: tuple[float, float, float] | None = None
    # "pinned" (by a person) or "frozen" (kept from the period's published run).
    pinned_source: str = "pinned"
    # The values a published run ranked (org_code, metric_id, value): when given, rank
    # scores are worked against those pools held still (see scoring.score_metrics).
    held_pools: pd.DataFrame | None = None
    seed: int = 0
    replicates: int | None = None


@dataclass
class EngineResult:
    metric_scores: pd.DataFrame
    domain_scores: pd.DataFrame
    assessments: pd.DataFrame
    league_table: pd.DataFrame
    cut_points: CutPoints | None
    cut_points_by_peer_group: dict[str, CutPoints] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # With frozen cut points under quartiles: the quartiles these averages would give.
    recomputed_cut_points: dict[str, CutPoints] = field(default_factory=dict)
    # One row per rank-scored metric and pool (scoring.POOL_COLUMNS).
    pools: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POOL_COLUMNS))


def run_engine(methodology: MethodologySpec, inputs: EngineInputs) -> EngineResult:
    """Score, average, segment, override, segment 5, league tables and likely ranges.

    Raises :class:`~oversight.engine.spec.MethodologyNotReady` when the methodology uses
    fixed thresholds that are unset and no cut points are pinned, and ``ValueError`` for
    malformed inputs (missing columns, an organisation in two peer groups, bad pinned cut
    points).
    """
    pinned = inputs.pinned_cut_points
    if pinned is not None:
        pinned = validate_cut_points(pinned)
    check_ready(methodology, pinned)
    period_end = _as_date(inputs.period_end)
    replicates = methodology.replicates if inputs.replicates is None else int(inputs.replicates)
    warnings: list[str] = []

    # Step 1: scores.
    orgs = normalise_organisations(inputs.organisations)
    _warn_unknown_peer_groups(methodology, orgs, warnings)
    values, supplied, held = inputs.values, inputs.supplied_scores, inputs.held_pools
    scored = score_metrics(methodology, orgs, values, supplied, period_end, warnings, held)
    metric_scores = scored.frame

    # Step 2: averages and domain scores.
    codes = orgs["org_code"].to_numpy(dtype=object)
    peer = orgs["peer_group"].to_numpy(dtype=object)
    avg_h, count = organisation_averages(scored, len(codes), methodology.rounding)
    domains = domain_scores(scored, codes, methodology.rounding)
    segmented, reason = _segmentable(methodology, peer, count, avg_h)

    # Step 3: cut points and unadjusted segments.
    segments = _unadjusted_segments(
        methodology, pinned, inputs.pinned_source, peer, avg_h, segmented, warnings
    )
    segmented = segments.segmented

    # Step 4: financial override.
    override = _financial_override(
        methodology, codes, metric_scores, inputs.override_flags, segments, warnings
    )

    # Step 5: segment 5.
    members = {str(c).strip() for c in (inputs.programme_members or ())}
    in_programme = np.array([c in members for c in codes], dtype=bool)

    # League tables and likely ranges.
    boot = _likely_ranges(
        methodology, scored, peer, segments, override.flagged, replicates, int(inputs.seed)
    )
    assessments = _assessments(
        codes=codes,
        peer=peer,
        count=count,
        average=avg_h / 100.0,
        segmented=segmented,
        reason=reason,
        unadjusted=segments.unadjusted,
        override=override,
        in_programme=in_programme,
        boot=boot,
    )
    league = league_table(assessments)[LEAGUE_COLUMNS]

    return EngineResult(
        metric_scores=metric_scores,
        domain_scores=domains,
        assessments=assessments[ASSESSMENT_COLUMNS],
        league_table=league,
        cut_points=segments.cut_points,
        cut_points_by_peer_group=segments.by_group,
        warnings=warnings,
        recomputed_cut_points=segments.recomputed,
        pools=scored.pools if scored.pools is not None else pd.DataFrame(columns=POOL_COLUMNS),
    )


@dataclass
class _Segments:
    """Step 3: the cut points and each organisation's unadjusted segment (0 if none)."""

    cut_points: CutPoints | None
    by_group: dict[str, CutPoints]
    applied: np.ndarray  # (organisations, 3): the cut points applied; NaN where none
    segmented: np.ndarray
    unadjusted: np.ndarray
    recomputed: dict[str, CutPoints] = field(default_factory=dict)


@dataclass
class _Override:
    """Step 4 per organisation: flag, whether it was derived, segment after the cap, why."""

    flagged: np.ndarray
    derived: np.ndarray
    adjusted: np.ndarray
    reason: np.ndarray


def _warn_unknown_peer_groups(
    methodology: MethodologySpec, orgs: pd.DataFrame, warnings: list[str]
) -> None:
    unknown_groups = sorted(set(orgs["peer_group"]) - set(methodology.peer_groups))
    if unknown_groups:
        warnings.append(
            f"Peer group(s) not in {methodology.slug}: {', '.join(unknown_groups)}; "
            "their organisations are neither scored nor segmented"
        )


def _segmentable(
    methodology: MethodologySpec, peer: np.ndarray, count: np.ndarray, avg_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which organisations can be segmented, and why not for the others."""
    in_segmented_group = np.isin(peer, list(methodology.segmented_peer_groups))
    enough = count >= methodology.min_metric_count
    segmented = in_segmented_group & enough & ~np.isnan(avg_h)
    reason = np.full(len(peer), "", dtype=object)
    for i in np.flatnonzero(~segmented):
        if not in_segmented_group[i]:
            reason[i] = f"Peer group {peer[i]} is not segmented under {methodology.slug}"
        elif count[i] == 0:
            reason[i] = "No scored metrics"
        else:
            reason[i] = (
                f"Only {count[i]} scored metric{'s' if count[i] != 1 else ''}; "
                f"{methodology.slug} needs at least {methodology.min_metric_count}"
            )
    return segmented, reason


def _unadjusted_segments(
    methodology: MethodologySpec,
    pinned: tuple[float, float, float] | None,
    pinned_source: str,
    peer: np.ndarray,
    avg_h: np.ndarray,
    segmentable: np.ndarray,
    warnings: list[str],
) -> _Segments:
    """Step 3: cut points from the segmentable averages (or pinned), then segments.

    An organisation whose peer group gets no cut points is not segmented after all.
    """
    average = avg_h / 100.0
    pool = pd.DataFrame({"peer_group": peer[segmentable], "average": average[segmentable]})
    cut_points, by_group = resolve_cut_points(methodology, pinned, pool, warnings, pinned_source)
    recomputed: dict[str, CutPoints] = {}
    if pinned_source == "frozen" and methodology.segmentation_method == "quartiles":
        # What the quartiles of these averages would be, for the preview to compare.
        recomputed = resolve_cut_points(methodology, None, pool, [])[1]
    applied = np.full((len(peer), 3), np.nan)
    for group, cp in by_group.items():
        applied[peer == group] = cp.as_tuple()
    segmented = segmentable & ~np.isnan(applied[:, 0])
    unadjusted = np.where(
        segmented,
        segment_from_hundredths(avg_h, applied[:, 0], applied[:, 1], applied[:, 2]),
        0,
    )
    return _Segments(cut_points, by_group, applied, segmented, unadjusted, recomputed)


def _financial_override(
    methodology: MethodologySpec,
    codes: np.ndarray,
    metric_scores: pd.DataFrame,
    override_flags: Mapping[str, bool],
    segments: _Segments,
    warnings: list[str],
) -> _Override:
    """Step 4: who is flagged (supplied or derived), the capped segment and the reason."""
    segmented, unadjusted = segments.segmented, segments.unadjusted
    flags = financial_override_flags(methodology, codes, metric_scores, override_flags)
    flagged = flags["financial_override"].to_numpy(dtype=bool)
    derived = flags["override_derived"].to_numpy(dtype=bool)
    source = flags["override_source"].to_numpy(dtype=object)
    cap = methodology.override_cap
    adjusted = np.where(segmented, apply_override(unadjusted, flagged, cap), 0)
    reason = np.full(len(codes), "", dtype=object)
    derive_from = methodology.derive_override_from
    for i in np.flatnonzero(segmented & flagged & (unadjusted < cap)):
        if source[i] == "supplied":
            why = "in financial deficit (OF5004)"
        elif source[i] == "value":
            why = f"planned deficit ({derive_from} < 0; derived, no OF5004 flag supplied)"
        else:
            why = "planned deficit (plan score > 1; derived, no OF5004 flag supplied)"
        reason[i] = f"Capped at segment {cap}: {why}"
    no_flag = segmented & (source == "")
    if no_flag.any() and derive_from is not None:
        warnings.append(
            f"{int(no_flag.sum())} organisation(s) have no financial override flag (OF5004) "
            f"and no {derive_from} to derive it from: treated as not in deficit"
        )
    return _Override(flagged, derived, adjusted, reason)


def _likely_ranges(
    methodology: MethodologySpec,
    scored: ScoredMetrics,
    peer: np.ndarray,
    segments: _Segments,
    flagged: np.ndarray,
    replicates: int,
    seed: int,
) -> BootstrapResult:
    """Bootstrap the included scores of every organisation (league tables' ranges)."""
    metric_scores = scored.frame
    included = metric_scores["included"].to_numpy(dtype=bool)
    return bootstrap_ranges(
        peer_groups=peer,
        pair_org=scored.org_index[included],
        pair_score=metric_scores["score"].to_numpy(dtype=np.float64)[included],
        pair_weight=metric_scores["weight"].to_numpy(dtype=np.float64)[included],
        ranked=segments.segmented,
        cut_points=segments.applied,
        flagged=flagged,
        cap=methodology.override_cap,
        replicates=replicates,
        seed=seed,
        rounding=methodology.rounding,
    )


def _assessments(
    *,
    codes: np.ndarray,
    peer: np.ndarray,
    count: np.ndarray,
    average: np.ndarray,
    segmented: np.ndarray,
    reason: np.ndarray,
    unadjusted: np.ndarray,
    override: _Override,
    in_programme: np.ndarray,
    boot: BootstrapResult,
) -> pd.DataFrame:
    """One row per organisation: the assessment columns plus the likely rank range."""

    def segment_column(arr):
        return pd.array(
            [int(x) if ok else pd.NA for x, ok in zip(arr, segmented, strict=True)], dtype="Int64"
        )

    final = [
        5 if prog else (int(a) if ok else pd.NA)
        for a, ok, prog in zip(override.adjusted, segmented, in_programme, strict=True)
    ]
    assessments = pd.DataFrame(
        {
            "org_code": codes,
            "peer_group": peer,
            "metric_count": count,
            "average_score": average,
            "segmented": segmented,
            "not_segmented_reason": np.where(segmented, "", reason).astype(object),
            "unadjusted_segment": segment_column(unadjusted),
            "financial_override": override.flagged,
            "override_derived": override.derived,
            "adjusted_segment": segment_column(override.adjusted),
            "final_segment": pd.array(final, dtype="Int64"),
            "in_programme": in_programme,
            "override_reason": override.reason,
            "avg_range_low": boot.avg_low,
            "avg_range_high": boot.avg_high,
        }
    )
    assessments["rank_range_low"] = boot.rank_low
    assessments["rank_range_high"] = boot.rank_high
    return assessments


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValueError(f"period_end must be a date, got {value!r}")

"""Steps 2-5: averages, domain scores, cut points, segments, financial override, segment 5.

Averages are means of the *exact* scores (a rank score before its rounding to 2 dp; a
supplied score as given), worked in hundredths: NHS England's published averages and
domain scores are the half-up rounding of the mean of unrounded scores. The rounding to
2 dp (the methodology's tie rule, see :mod:`.rounding`) and the comparison with the cut
points (``average <= t``, inclusive) are done on hundredths with a tolerance of 1e-6 of a
hundredth: 2.35 <= 2.35 always holds, whatever binary noise 2.35 carries, and a mean that
is exactly 2.885 is a tie.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .rounding import DEFAULT_ROUNDING, EPS_HUNDREDTHS, hundredths, round_hundredths
from .scoring import ScoredMetrics
from .spec import MethodologyNotReady, MethodologySpec

__all__ = [
    "CutPoints",
    "apply_override",
    "domain_scores",
    "financial_override_flags",
    "organisation_averages",
    "quartile_cut_points",
    "resolve_cut_points",
    "segment_from_hundredths",
    "segment_of",
    "validate_cut_points",
    "weighted_means",
]


@dataclass
class CutPoints:
    """The cut points applied to a peer group: ``average <= t1`` -> 1, ``<= t2`` -> 2, ..."""

    t1: float
    t2: float
    t3: float
    source: str  # "computed" | "pinned" | "fixed"
    pool: str  # "national" | "peer_group" | "" (pinned / fixed)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.t1, self.t2, self.t3)


def validate_cut_points(cut_points) -> tuple[float, float, float]:
    """Three finite numbers t1 <= t2 <= t3, else ValueError."""
    try:
        t = tuple(float(x) for x in cut_points)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cut points must be three numbers, got {cut_points!r}") from exc
    if len(t) != 3 or not all(math.isfinite(x) for x in t):
        raise ValueError(f"cut points must be three finite numbers, got {cut_points!r}")
    t1, t2, t3 = t
    if not t1 <= t2 <= t3:
        raise ValueError(f"cut points must satisfy t1 <= t2 <= t3, got {cut_points!r}")
    return (t1, t2, t3)


# ---------------------------------------------------------------------------------------
# Averages
# ---------------------------------------------------------------------------------------


def weighted_means(
    group: np.ndarray,
    n_groups: int,
    score: np.ndarray,
    weight: np.ndarray,
    included: np.ndarray,
    rounding: str = DEFAULT_ROUNDING,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the included scores per integer ``group`` (0..n_groups-1).

    Returns (mean in whole hundredths, rounded with the tie rule; NaN where the group has
    no included score) and the number of included scores per group.
    """
    inc = np.asarray(included, dtype=bool)
    g = np.asarray(group)[inc]
    w = np.asarray(weight, dtype=np.float64)[inc]
    s_h = np.asarray(score, dtype=np.float64)[inc] * 100.0
    total = np.bincount(g, weights=s_h * w, minlength=n_groups)
    wsum = np.bincount(g, weights=w, minlength=n_groups)
    count = np.bincount(g, minlength=n_groups).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_h = np.where(count > 0, round_hundredths(total / wsum, rounding), np.nan)
    return mean_h, count


def organisation_averages(
    scored: ScoredMetrics, n_orgs: int, rounding: str = DEFAULT_ROUNDING
) -> tuple[np.ndarray, np.ndarray]:
    """Per organisation (sorted order): average in hundredths (NaN if none), metric count.

    ``metric_count`` counts included scored metrics, each once (the three acute infection
    metrics, weighted 1/3 in the mean, count as three).
    """
    f = scored.frame
    return weighted_means(
        scored.org_index,
        n_orgs,
        _exact(f),
        f["weight"].to_numpy(dtype=np.float64),
        f["included"].to_numpy(dtype=bool),
        rounding,
    )


def _exact(frame: pd.DataFrame) -> np.ndarray:
    """The scores the averages are taken over: exact when there (see the module doc)."""
    score = frame["score"].to_numpy(dtype=np.float64)
    if "exact_score" not in frame.columns:
        return score
    exact = frame["exact_score"].to_numpy(dtype=np.float64)
    return np.where(np.isnan(exact), score, exact)


def domain_scores(
    scored: ScoredMetrics, org_codes: np.ndarray, rounding: str = DEFAULT_ROUNDING
) -> pd.DataFrame:
    """org_code, domain, score (2 dp, NaN when nothing scored), metric_count.

    One row for each organisation and each domain in which at least one scored (not
    contextual) metric applies to it; domains in the methodology's order.
    """
    f = scored.frame
    n_d = len(scored.domains)
    key = scored.org_index.astype(np.int64) * n_d + scored.domain_index
    size = len(org_codes) * n_d
    mean_h, count = weighted_means(
        key,
        size,
        _exact(f),
        f["weight"].to_numpy(dtype=np.float64),
        f["included"].to_numpy(dtype=bool),
        rounding,
    )
    applicable = np.zeros(size, dtype=bool)
    applicable[key[f["status"].to_numpy(dtype=object) != "contextual"]] = True
    rows = np.flatnonzero(applicable)
    org, dom = np.divmod(rows, n_d)
    return pd.DataFrame(
        {
            "org_code": np.asarray(org_codes, dtype=object)[org],
            "domain": np.array(scored.domains, dtype=object)[dom],
            "score": mean_h[rows] / 100.0,
            "metric_count": count[rows],
        }
    )


# ---------------------------------------------------------------------------------------
# Cut points and segments
# ---------------------------------------------------------------------------------------


def quartile_cut_points(averages) -> tuple[float, float, float] | None:
    """25th/50th/75th percentiles (linear interpolation) of 2-dp averages; None if empty."""
    arr = np.asarray(averages, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return None
    q = np.percentile(arr, [25, 50, 75], method="linear")
    return (float(q[0]), float(q[1]), float(q[2]))


def resolve_cut_points(
    methodology: MethodologySpec,
    pinned,
    segmented_averages: pd.DataFrame,
    warnings: list[str],
    pinned_source: str = "pinned",
) -> tuple[CutPoints | None, dict[str, CutPoints]]:
    """The cut points to apply: pinned, else fixed thresholds, else computed quartiles.

    ``segmented_averages``: peer_group, average (2 dp) of the organisations being segmented.
    ``pinned_source`` names where pinned cut points come from ("pinned" by a person, or
    "frozen" when a published run's cut points are kept for its period).
    Returns (the single set of cut points when one set applies to every peer group, else
    None; the cut points applied to each segmented peer group).
    """
    groups = list(methodology.segmented_peer_groups)
    if pinned is not None:
        t = validate_cut_points(pinned)
        cp = CutPoints(t[0], t[1], t[2], source=pinned_source, pool="")
        return cp, dict.fromkeys(groups, cp)
    if methodology.segmentation_method == "fixed":
        check_ready(methodology, pinned)
        t1, t2, t3 = validate_cut_points(methodology.thresholds)
        cp = CutPoints(t1, t2, t3, source="fixed", pool="")
        return cp, dict.fromkeys(groups, cp)
    if methodology.quartile_pool == "national":
        q = quartile_cut_points(segmented_averages["average"])
        if q is None:
            warnings.append("No organisation can be segmented: no cut points computed")
            return None, {}
        cp = CutPoints(*q, source="computed", pool="national")
        return cp, dict.fromkeys(groups, cp)
    by_group: dict[str, CutPoints] = {}
    for group in groups:
        q = quartile_cut_points(
            segmented_averages.loc[segmented_averages["peer_group"] == group, "average"]
        )
        if q is not None:
            by_group[group] = CutPoints(*q, source="computed", pool="peer_group")
    if not by_group:
        warnings.append("No organisation can be segmented: no cut points computed")
    return None, by_group


def check_ready(methodology: MethodologySpec, pinned) -> None:
    """Raise MethodologyNotReady when fixed thresholds are unset and nothing is pinned."""
    if (
        pinned is None
        and methodology.segmentation_method == "fixed"
        and methodology.thresholds is None
    ):
        raise MethodologyNotReady(
            f"Cannot segment under {methodology.slug}: {methodology.slug} has no thresholds "
            "set; pin cut points for the period (t1, t2, t3), or set the methodology's "
            "thresholds once NHS England publishes them."
        )


def segment_from_hundredths(average_h, t1, t2, t3):
    """Unadjusted segment (1-4) from averages in hundredths; arrays of cut points allowed.

    ``average <= t1`` -> 1, ``<= t2`` -> 2, ``<= t3`` -> 3, else 4. NaN averages give 0.
    """
    a = np.asarray(average_h, dtype=np.float64)
    seg = (
        1
        + (a > np.asarray(t1, dtype=np.float64) * 100.0 + EPS_HUNDREDTHS)
        + (a > np.asarray(t2, dtype=np.float64) * 100.0 + EPS_HUNDREDTHS)
        + (a > np.asarray(t3, dtype=np.float64) * 100.0 + EPS_HUNDREDTHS)
    ).astype(np.int64)
    return np.where(np.isnan(a), 0, seg)


def segment_of(average: float, cut_points) -> int | None:
    """Segment (1-4) of a 2-dp average under ``(t1, t2, t3)``; None for NaN/None."""
    if average is None or (isinstance(average, float) and math.isnan(average)):
        return None
    t1, t2, t3 = validate_cut_points(cut_points)
    return int(segment_from_hundredths(hundredths(float(average)), t1, t2, t3))


def apply_override(unadjusted, flagged, cap: int):
    """``adjusted = max(unadjusted, cap)`` where flagged, else ``unadjusted``."""
    u = np.asarray(unadjusted)
    return np.where(np.asarray(flagged, dtype=bool), np.maximum(u, cap), u)


# ---------------------------------------------------------------------------------------
# Financial override flag
# ---------------------------------------------------------------------------------------


def financial_override_flags(
    methodology: MethodologySpec,
    org_codes,
    metric_scores: pd.DataFrame,
    supplied_flags: Mapping[str, bool] | None,
) -> pd.DataFrame:
    """org_code, financial_override, override_derived, override_source.

    A supplied flag (OF5004) is used as given. Without one, the flag is derived from the
    methodology's ``derive_override_from`` metric: its value < 0 (a planned deficit), or,
    when only its score was supplied, a score worse than the best band (> 1). With neither,
    the organisation is treated as not flagged and ``override_derived`` stays False.
    """
    codes = list(org_codes)
    flags = {str(k).strip(): v for k, v in (supplied_flags or {}).items()}
    src = methodology.derive_override_from
    value_by_org: dict[str, float] = {}
    score_by_org: dict[str, float] = {}
    if src is not None:
        metric = next((m for m in methodology.metrics if src in (m.value_id, m.score_id)), None)
        if metric is not None:
            ids = metric_scores["metric_id"].to_numpy(dtype=object)
            rows = metric_scores[ids == metric.score_id]
            if src == metric.value_id:
                value_by_org = dict(
                    zip(rows["org_code"], rows["value"].to_numpy(dtype=np.float64), strict=True)
                )
            score_by_org = dict(
                zip(rows["org_code"], rows["score"].to_numpy(dtype=np.float64), strict=True)
            )
    flag = np.zeros(len(codes), dtype=bool)
    derived = np.zeros(len(codes), dtype=bool)
    source = np.full(len(codes), "", dtype=object)
    for i, code in enumerate(codes):
        given = flags.get(code)
        if given is not None and not pd.isna(given):
            flag[i] = bool(given)
            source[i] = "supplied"
            continue
        v = value_by_org.get(code, math.nan)
        s = score_by_org.get(code, math.nan)
        if not math.isnan(v):
            flag[i], derived[i], source[i] = v < 0, True, "value"
        elif not math.isnan(s):
            flag[i], derived[i], source[i] = s > 1, True, "score"
    return pd.DataFrame(
        {
            "org_code": np.array(codes, dtype=object),
            "financial_override": flag,
            "override_derived": derived,
            "override_source": source,
        }
    )

"""What would move an organisation a segment: boundary distances and metric leverage.

Both work from stored results (``EngineResult.metric_scores`` rows of one organisation and
the cut points applied to it), so the web side can explain a run without re-running it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .rounding import DEFAULT_ROUNDING, hundredths, round2, round_hundredths
from .segmentation import segment_of, validate_cut_points

__all__ = ["boundary_distances", "leverage", "weighted_average"]


def _floor2(t: float) -> float:
    """The largest 2-dp number <= t (with the same 1e-6-of-a-hundredth tolerance)."""
    return math.floor(round(t * 100.0, 6)) / 100.0


def boundary_distances(average: float, cut_points) -> dict:
    """How far the (2-dp) average is from the neighbouring segments.

    Returns ``{"segment": s, "to_better": x, "to_worse": y}`` where

    * ``to_better`` is the fall in the 2-dp average needed to reach segment ``s - 1``: the
      average must come down to the largest 2-dp number ``<= t_{s-1}`` (boundaries are
      inclusive), so ``x = average - floor2(t_{s-1})``; None in segment 1;
    * ``to_worse`` is the smallest rise that moves it to segment ``s + 1``: the average
      must exceed ``t_s``, i.e. reach ``floor2(t_s) + 0.01``, so
      ``y = floor2(t_s) + 0.01 - average``; None in segment 4.

    Both are rounded to 2 dp and positive. Example with cut points 2.00 / 2.35 / 2.70: an
    average of 2.40 is segment 3, ``to_better`` 0.05 (2.35 is segment 2) and ``to_worse``
    0.31 (2.71 is segment 4). A NaN average gives ``segment`` None and both None. This is
    the unadjusted segment: the financial override and segment 5 are not distances.
    """
    segment = segment_of(average, cut_points)
    if segment is None:
        return {"segment": None, "to_better": None, "to_worse": None}
    t = validate_cut_points(cut_points)
    avg = round2(float(average))
    to_better = None if segment == 1 else round2(avg - _floor2(t[segment - 2]))
    to_worse = None if segment == 4 else round2(_floor2(t[segment - 1]) + 0.01 - avg)
    return {"segment": segment, "to_better": to_better, "to_worse": to_worse}


def weighted_average(org_scores: pd.DataFrame, rounding: str = DEFAULT_ROUNDING) -> float:
    """The 2-dp weighted average of an organisation's included scores (NaN if none)."""
    inc = _included(org_scores)
    if inc.empty:
        return math.nan
    s = hundredths(inc["score"].to_numpy(dtype=np.float64))
    w = inc["weight"].to_numpy(dtype=np.float64)
    return float(round_hundredths((s * w).sum() / w.sum(), rounding)) / 100.0


def _included(org_scores: pd.DataFrame) -> pd.DataFrame:
    inc = org_scores[
        org_scores["included"].astype(bool).to_numpy() & org_scores["score"].notna().to_numpy()
    ]
    return inc


def _number(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).to_numpy(dtype=object)


def _improved_scores(inc: pd.DataFrame, rounding: str) -> np.ndarray:
    """Each score improved by one quartile of its pool (see :func:`leverage`)."""
    score = inc["score"].to_numpy(dtype=np.float64)
    method = _text(inc, "method")
    status = _text(inc, "status")
    rank = _number(inc, "rank")
    size = np.nan_to_num(_number(inc, "pool_size"), nan=0.0)
    low = _number(inc, "low")
    high = _number(inc, "high")

    # Default (bands, rating, supplied, combined): one band better, never better than 1.
    improved = np.maximum(1.0, score - 1.0)

    by_rank = (
        (method == "rank")
        & (status == "scored")
        & ~np.isnan(rank)
        & ~np.isnan(low)
        & ~np.isnan(high)
    )
    single = by_rank & (size <= 1)
    improved[single] = score[single]
    ranked = by_rank & (size > 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        new_rank = np.maximum(1.0, rank - size / 4.0)
        rescored = low + (high - low) * (new_rank - 1.0) / (size - 1.0)
    improved[ranked] = np.maximum(low[ranked], rescored[ranked])
    # Meeting a standard is already the best score; a value below a floor that reaches the
    # floor joins the ranked organisations, at worst at the top bookend of 3.00.
    meets = status == "meets_standard"
    improved[meets] = score[meets]
    below = status == "below_floor"
    improved[below] = np.minimum(score[below], 3.0)
    return round2(np.minimum(improved, score), rounding)


def leverage(
    org_scores: pd.DataFrame, top: int = 5, rounding: str = DEFAULT_ROUNDING
) -> pd.DataFrame:
    """The metrics whose improvement would most lower the organisation's average.

    For each included scored metric, the score it would have if it improved by one
    quartile of its pool, and the resulting change in the 2-dp weighted average:

    * rank-based (status ``scored``): the rank moves up by ``pool_size / 4`` places (not
      above 1) and is re-scored between the metric's own bookends ``low``..``high``;
    * a value meeting a standard (already 1.00): no change; below a floor (4.00): reaching
      the floor, 3.00;
    * bands, rating, supplied, combined: one band (1.00) better, not below 1.00.

    Columns ``metric_id``, ``score``, ``improved_score``, ``new_average``,
    ``average_change`` (new minus current 2-dp average; negative is better), sorted by
    ``average_change`` then metric_id; at most ``top`` rows.
    """
    inc = _included(org_scores).reset_index(drop=True)
    columns = ["metric_id", "score", "improved_score", "new_average", "average_change"]
    if inc.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    score = inc["score"].to_numpy(dtype=np.float64)
    improved = _improved_scores(inc, rounding)
    w = inc["weight"].to_numpy(dtype=np.float64)
    s_h = hundredths(score)
    i_h = hundredths(improved)
    total = (s_h * w).sum()
    current = round_hundredths(total / w.sum(), rounding)
    new = round_hundredths((total - s_h * w + i_h * w) / w.sum(), rounding)
    exact_change = (i_h - s_h) * w / w.sum()
    out = pd.DataFrame(
        {
            "metric_id": inc["metric_id"].astype(str).to_numpy(dtype=object),
            "score": score,
            "improved_score": improved,
            "new_average": new / 100.0,
            "average_change": (new - current) / 100.0,
            "_exact": exact_change,
        }
    )
    out = out.sort_values(["average_change", "_exact", "metric_id"], kind="stable")
    return out.drop(columns="_exact").head(top).reset_index(drop=True)

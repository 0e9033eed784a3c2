"""League tables (methodology section 3) and the bootstrap for the likely ranges.

League table: per segmented peer group, order by adjusted segment then 2-dp average;
competition ranks ("1224").

Bootstrap, vectorised over organisations and replicates:

* each organisation's included (score, weight) pairs, in canonical order (metric id), are
  resampled with replacement, same count; the replicate average is the weighted mean,
  rounded to 2 dp exactly as the point average is;
* every replicate re-segments with the period's cut points held fixed, re-applies the
  financial override and competition-ranks each peer group;
* likely range of the average: 2.5th / 97.5th percentiles (linear interpolation) of the
  replicate averages, rounded to 2 dp; likely range of rank: the 2.5th percentile rounded
  down and the 97.5th rounded up to a rank actually drawn (NumPy's "lower" / "higher"
  methods), so the range is a pair of whole ranks bracketing at least 95% of replicates.

Work is done in integer hundredths: a score is an int16 number of hundredths, sums are
exact, and the rounding of the mean (the methodology's tie rule) is integer arithmetic.
Replicates are processed in chunks (bounded memory), each chunk with its own child of
``SeedSequence(seed)``, so the result does not depend on how many threads run the chunks.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from .rounding import (
    DEFAULT_ROUNDING,
    EPS_HUNDREDTHS,
    divide_round,
    hundredths,
    round_hundredths,
)
from .scoring import group_min_rank

__all__ = ["BootstrapResult", "bootstrap_ranges", "league_table"]

#: Draws (replicates x resampled scores) handled per chunk.
CHUNK_DRAWS = 4_000_000
#: Worker threads for bootstrap chunks (NumPy releases the GIL). The output does not
#: depend on it.
THREADS = int(os.environ.get("OVERSIGHT_ENGINE_THREADS", "0")) or min(4, os.cpu_count() or 1)
_INT16_SPAN = 32767
_AVG_MIN, _AVG_SPAN = 100, 301  # averages are 1.00..4.00: 301 values in hundredths


def league_table(assessments: pd.DataFrame) -> pd.DataFrame:
    """League tables for the segmented organisations of segmented peer groups.

    ``assessments`` needs org_code, peer_group, segmented, adjusted_segment, average_score,
    financial_override, in_programme, avg_range_low/high, rank_range_low/high.
    """
    seg = assessments[assessments["segmented"].to_numpy(dtype=bool)]
    adjusted = seg["adjusted_segment"].to_numpy(dtype=np.int64)
    avg_h = hundredths(seg["average_score"].to_numpy(dtype=np.float64)).astype(np.int64)
    groups = pd.factorize(seg["peer_group"].to_numpy(dtype=object))[0]
    rank, _ = group_min_rank(groups, adjusted * 1000 + avg_h)
    table = pd.DataFrame(
        {
            "peer_group": seg["peer_group"].to_numpy(dtype=object),
            "org_code": seg["org_code"].to_numpy(dtype=object),
            "rank": rank,
            "average_score": seg["average_score"].to_numpy(dtype=np.float64),
            "segment": adjusted,
            "deficit": seg["financial_override"].to_numpy(dtype=bool),
            "in_programme": seg["in_programme"].to_numpy(dtype=bool),
            "avg_range_low": seg["avg_range_low"].to_numpy(dtype=np.float64),
            "avg_range_high": seg["avg_range_high"].to_numpy(dtype=np.float64),
            "rank_range_low": pd.array(seg["rank_range_low"], dtype="Int64"),
            "rank_range_high": pd.array(seg["rank_range_high"], dtype="Int64"),
        }
    )
    return table.sort_values(["peer_group", "rank", "org_code"], kind="stable").reset_index(
        drop=True
    )


# ---------------------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------------------


@dataclass
class BootstrapResult:
    """Per organisation (in the order given): ranges; NaN / NA where not applicable."""

    avg_low: np.ndarray
    avg_high: np.ndarray
    rank_low: pd.arrays.IntegerArray
    rank_high: pd.arrays.IntegerArray


@dataclass
class _Group:
    """Organisations with the same number of included scores and the same kind of weights.

    ``data`` is (n, k): scores in hundredths (``kind == "unit"``); or, for weighted
    organisations, integer weight and weight x score packed in one integer as
    ``weight << shift | weighted score`` (``"packed"``; int32 with shift 16 when the sums
    fit, else int64 with shift 32) so one gather fetches both and one sum adds both; or
    (``"float"``, weights that are not small fractions) weighted scores with the weights in
    ``weights``.
    """

    k: int
    cols: np.ndarray
    kind: str
    data: np.ndarray
    weights: np.ndarray | None = None
    shift: int = 0


def _integer_weights(weights: np.ndarray) -> np.ndarray | None:
    """Weights scaled to small integers when they are small fractions (1, 1/3, ...)."""
    denominators = []
    for w in np.unique(weights):
        f = Fraction(float(w)).limit_denominator(1000)
        if f <= 0 or abs(float(f) - float(w)) > 1e-12 * max(1.0, abs(float(w))):
            return None
        denominators.append(f.denominator)
    d = math.lcm(*denominators) if denominators else 1
    scaled = np.rint(weights * d)
    if d > 10_000 or scaled.max(initial=0) > 10_000:
        return None
    return scaled.astype(np.int64)


def _plan_groups(pos: np.ndarray, s_h: np.ndarray, w: np.ndarray, n_boot: int) -> list[_Group]:
    """Group organisations by (count, weighting); arrays laid out for the chunk loop."""
    counts = np.bincount(pos, minlength=n_boot)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    weighted_org = np.zeros(n_boot, dtype=bool)
    np.logical_or.at(weighted_org, pos, w != 1.0)
    w_int = _integer_weights(w) if weighted_org.any() else None
    groups: list[_Group] = []
    for k in np.unique(counts):
        for weighted in (False, True):
            cols = np.flatnonzero((counts == k) & (weighted_org == weighted))
            if cols.size == 0:
                continue
            take = (starts[cols][:, None] + np.arange(k)[None, :]).reshape(-1)
            scores = s_h[take].reshape(cols.size, k)
            if not weighted:
                groups.append(_Group(int(k), cols, "unit", scores.astype(np.int16)))
            elif w_int is not None:
                wi = w_int[take].reshape(cols.size, k)
                ws = scores * wi
                small = k * int(ws.max()) < 2**16 and k * int(wi.max()) < 2**15
                shift, dtype = (16, np.int32) if small else (32, np.int64)
                packed = ((wi << shift) | ws).astype(dtype)
                groups.append(_Group(int(k), cols, "packed", packed, shift=shift))
            else:
                wf = w[take].reshape(cols.size, k)
                groups.append(_Group(int(k), cols, "float", scores * wf, wf))
    return groups


def _resample_group(rng, g: _Group, rc: int, out: np.ndarray, rounding: str) -> None:
    """Replicate averages (hundredths) of one group into ``out[:, g.cols]``."""
    n, k = g.data.shape
    if k == 1:  # resampling one score always gives that score
        if g.kind == "unit":
            first = g.data[:, 0]
        elif g.kind == "packed":
            mask = (1 << g.shift) - 1
            first = (g.data[:, 0] & mask) // (g.data[:, 0] >> g.shift)
        else:
            assert g.weights is not None  # a weighted group carries its weights
            first = np.rint(g.data[:, 0] / g.weights[:, 0])
        out[:, g.cols] = np.broadcast_to(first.astype(np.int16), (rc, n))
        return
    block = max(1, _INT16_SPAN // k)  # offsets within a block fit in int16
    offsets = (np.arange(min(block, n), dtype=np.int16) * np.int16(k))[None, :, None]
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        idx = rng.integers(0, k, size=(rc, b1 - b0, k), dtype=np.int16)
        idx += offsets[:, : b1 - b0]
        flat = g.data[b0:b1].reshape(-1)
        if g.kind == "unit":
            total = np.take(flat, idx).sum(axis=2, dtype=np.int32)
            avg = divide_round(total, k, rounding)
        elif g.kind == "packed":
            packed = np.take(flat, idx).sum(axis=2, dtype=g.data.dtype)
            mask = (1 << g.shift) - 1
            avg = divide_round(packed & mask, packed >> g.shift, rounding)
        else:
            assert g.weights is not None
            total = np.take(flat, idx).sum(axis=2)
            wsum = np.take(g.weights[b0:b1].reshape(-1), idx).sum(axis=2)
            avg = round_hundredths(total / wsum, rounding)
        out[:, g.cols[b0:b1]] = avg


@dataclass
class _RankingPlan:
    """The organisations ranked in each replicate, laid out contiguously by peer group."""

    orgs: np.ndarray  # organisation positions
    cols: np.ndarray  # their columns in the replicate averages
    t1: np.ndarray  # cut points applied to each, in hundredths (nudged by EPS_HUNDREDTHS)
    t2: np.ndarray
    t3: np.ndarray
    flagged: np.ndarray  # financial override
    cap: int
    slices: list[tuple[int, int]]  # [start, end) of each peer group

    @property
    def size(self) -> int:
        return self.orgs.size


def _ranking_plan(
    peer_groups: np.ndarray,
    ranked: np.ndarray,
    boot_index: np.ndarray,
    cut_points: np.ndarray,
    flagged: np.ndarray,
    cap: int,
) -> _RankingPlan:
    """Ranked organisations with at least one included score, grouped by peer group."""
    orgs = np.flatnonzero(np.asarray(ranked, dtype=bool) & (boot_index >= 0))
    pg = pd.factorize(np.asarray(peer_groups, dtype=object)[orgs], sort=True)[0]
    by_group = np.lexsort((orgs, pg))
    orgs, pg = orgs[by_group], pg[by_group]
    edges = [0, *(np.flatnonzero(pg[1:] != pg[:-1]) + 1).tolist(), orgs.size]
    cp = np.asarray(cut_points, dtype=np.float64)[orgs] * 100.0 + EPS_HUNDREDTHS
    return _RankingPlan(
        orgs=orgs,
        cols=boot_index[orgs],
        t1=cp[:, 0],
        t2=cp[:, 1],
        t3=cp[:, 2],
        flagged=np.asarray(flagged, dtype=bool)[orgs],
        cap=cap,
        slices=[(a, b) for a, b in itertools.pairwise(edges) if b > a],
    )


def _ranks_chunk(avg: np.ndarray, plan: _RankingPlan) -> np.ndarray:
    """Re-segment, re-apply the override and competition-rank each peer group.

    Keys (adjusted segment, average) take at most 4 x 301 values, so the competition rank
    is a counting sort: rank = 1 + number of keys in the replicate smaller than one's own.
    """
    rc = avg.shape[0]
    a = avg[:, plan.cols].astype(np.int32)
    seg = 1 + (a > plan.t1).astype(np.int32) + (a > plan.t2) + (a > plan.t3)
    seg = np.where(plan.flagged, np.maximum(seg, plan.cap), seg)
    key = (seg - 1) * _AVG_SPAN + np.clip(a - _AVG_MIN, 0, _AVG_SPAN - 1)
    n_keys = 4 * _AVG_SPAN
    ranks = np.empty(key.shape, dtype=np.int16)
    row_offset = (np.arange(rc, dtype=np.int64) * n_keys)[:, None]
    for lo, hi in plan.slices:
        flat = (key[:, lo:hi] + row_offset).reshape(-1)
        hist = np.bincount(flat, minlength=rc * n_keys).reshape(rc, n_keys)
        smaller = np.cumsum(hist, axis=1) - hist
        ranks[:, lo:hi] = (np.take(smaller.reshape(-1), flat) + 1).reshape(rc, hi - lo)
    return ranks


def _percentiles(rows: np.ndarray, q: float, method: str) -> np.ndarray:
    """Percentile ``q`` of each row of a partitioned array (NumPy's method definitions)."""
    pos = q / 100.0 * (rows.shape[1] - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    a = rows[:, lo].astype(np.float64)
    b = rows[:, hi].astype(np.float64)
    if method == "lower":
        return a
    if method == "higher":
        return b
    return a + (b - a) * (pos - lo)


def _kth(n: int) -> list[int]:
    ks = set()
    for q in (2.5, 97.5):
        pos = q / 100.0 * (n - 1)
        ks.update({math.floor(pos), math.ceil(pos)})
    return sorted(ks)


def bootstrap_ranges(
    *,
    peer_groups: np.ndarray,
    pair_org: np.ndarray,
    pair_score: np.ndarray,
    pair_weight: np.ndarray,
    ranked: np.ndarray,
    cut_points: np.ndarray,
    flagged: np.ndarray,
    cap: int,
    replicates: int,
    seed: int,
    rounding: str = DEFAULT_ROUNDING,
) -> BootstrapResult:
    """Likely ranges of average and rank for every organisation.

    One entry per organisation (canonical order) in ``peer_groups``, ``ranked`` (appears
    in a league table), ``flagged`` (financial override) and ``cut_points`` ((n, 3), the
    cut points applied to it; NaN when not ranked). The included scores come as parallel
    arrays ``pair_org`` (organisation position), ``pair_score``, ``pair_weight``, in
    canonical order (organisation, then metric id).
    """
    n = len(peer_groups)
    avg_low = np.full(n, np.nan)
    avg_high = np.full(n, np.nan)
    rank_low = pd.array([pd.NA] * n, dtype="Int64")
    rank_high = pd.array([pd.NA] * n, dtype="Int64")
    if replicates <= 0 or len(pair_org) == 0:
        return BootstrapResult(avg_low, avg_high, rank_low, rank_high)

    pair_org = np.asarray(pair_org, dtype=np.int64)
    boot_orgs = np.unique(pair_org)  # organisations with at least one included score
    boot_index = np.full(n, -1)
    boot_index[boot_orgs] = np.arange(boot_orgs.size)
    order = np.argsort(pair_org, kind="stable")
    pos = boot_index[pair_org[order]]
    scores_h = hundredths(np.asarray(pair_score, dtype=np.float64)[order]).astype(np.int64)
    weights = np.asarray(pair_weight, dtype=np.float64)[order]
    groups = _plan_groups(pos, scores_h, weights, boot_orgs.size)
    plan = _ranking_plan(peer_groups, ranked, boot_index, cut_points, flagged, cap)

    avg_t, rank_t = _run_replicates(
        groups, plan, boot_orgs.size, len(pair_org), replicates, seed, rounding
    )

    kth = _kth(replicates)
    avg_t.partition(kth, axis=1)
    avg_low[boot_orgs] = round_hundredths(_percentiles(avg_t, 2.5, "linear"), rounding) / 100
    avg_high[boot_orgs] = round_hundredths(_percentiles(avg_t, 97.5, "linear"), rounding) / 100
    if plan.size:
        rank_t.partition(kth, axis=1)
        rank_low[plan.orgs] = _percentiles(rank_t, 2.5, "lower").astype(np.int64)
        rank_high[plan.orgs] = _percentiles(rank_t, 97.5, "higher").astype(np.int64)
    return BootstrapResult(avg_low, avg_high, rank_low, rank_high)


def _run_replicates(
    groups: list[_Group],
    plan: _RankingPlan,
    n_boot: int,
    n_pairs: int,
    replicates: int,
    seed: int,
    rounding: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Replicate averages (n_boot, replicates) and ranks (ranked, replicates), int16.

    Replicates run in chunks of about CHUNK_DRAWS draws, each with its own seed, on up to
    THREADS threads.
    """
    rc = int(min(replicates, max(8, CHUNK_DRAWS // max(1, n_pairs))))
    sizes = [rc] * (replicates // rc) + ([replicates % rc] if replicates % rc else [])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    # Replicates in columns, so each organisation's replicates are contiguous.
    avg_t = np.empty((n_boot, replicates), dtype=np.int16)
    rank_t = np.empty((plan.size, replicates), dtype=np.int16)

    def run(job):
        start, size, seed_seq = job
        rng = np.random.default_rng(seed_seq)
        avg = np.empty((size, n_boot), dtype=np.int16)
        for g in groups:
            _resample_group(rng, g, size, avg, rounding)
        avg_t[:, start : start + size] = avg.T
        if plan.size:
            rank_t[:, start : start + size] = _ranks_chunk(avg, plan).T

    jobs = list(zip(starts, sizes, seeds, strict=True))
    if THREADS > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=min(THREADS, len(jobs))) as pool:
            list(pool.map(run, jobs))
    else:
        for job in jobs:
            run(job)
    return avg_t, rank_t

"""Step 1: score every metric of every organisation (methodology section 2, step 1).

The work is done on NumPy arrays over one long table of organisation x applicable metric
rows, keyed by integer codes (organisation index, metric index) so that joins, grouping and
ranking never hash strings row by row. Python loops run only over metrics, for the few
per-metric look-ups (rating scales, combined finance).

Statuses written to ``metric_scores.status``:

==================  ========================================================================
``scored``          computed here from a value (rank, bands, rating or combined finance)
``meets_standard``  rank metric with a standard, value meets it: 1.00
``below_floor``     rank metric with a floor, value below it: 4.00
``supplied``        taken as is from the supplied scores (wins over any computed score)
``missing``         no value (not submitted, suppressed, service not run), or a combined
                    score whose plan or variance score is missing: not scored, not averaged
``out_of_window``   rating awarded before the methodology's look-back window: not scored
``invalid``         a value that cannot be scored (unknown rating text, rating without an
                    award date, supplied score outside 1-4): not scored, with a warning
``contextual``      contextual metric: value stored and shown, never scored
==================  ========================================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .held_pools import HeldPools, held_pools, oriented, rank_in_held_pools
from .input_tables import (
    clean_codes,
    clean_text,
    column,
    dedupe,
    lookup,
    warn_ids,
)
from .rounding import round2
from .spec import MethodologySpec, MetricSpec

__all__ = [
    "METRIC_SCORE_COLUMNS",
    "POOL_COLUMNS",
    "SCORED_STATUSES",
    "STATUSES",
    "ScoredMetrics",
    "group_min_rank",
    "score_metrics",
]

METRIC_SCORE_COLUMNS = [
    "org_code",
    "metric_id",
    "value_id",
    "value",
    "text",
    "score",
    "exact_score",
    "computed_score",
    "rank",
    "pool_size",
    "method",
    "low",
    "high",
    "domain",
    "weight",
    "included",
    "outside",
    "status",
]
POOL_COLUMNS = ["metric_id", "pool", "ranked", "applies", "partial", "not_loaded"]
STATUSES = (
    "scored",
    "meets_standard",
    "below_floor",
    "supplied",
    "missing",
    "out_of_window",
    "invalid",
    "contextual",
)
#: Statuses that carry a score.
SCORED_STATUSES = ("scored", "meets_standard", "below_floor", "supplied")


@dataclass
class ScoredMetrics:
    """The ``metric_scores`` frame plus the integer codes the later steps group by, and
    one row per rank-scored metric and pool (:data:`POOL_COLUMNS`)."""

    frame: pd.DataFrame
    org_index: np.ndarray  # row -> position of its organisation in the sorted org list
    domain_index: np.ndarray  # row -> position of its domain in ``domains``
    domains: list[str]
    pools: pd.DataFrame | None = None


# ---------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------


def group_min_rank(group: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Competition rank (``method="min"``) of ``key`` (smaller is better) within ``group``.

    Returns (rank, size of the group) per element, in the input order. Pure NumPy.
    """
    n = len(key)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((key, group))
    g = group[order]
    k = key[order]
    pos = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    new_run = new_group.copy()
    new_run[1:] |= k[1:] != k[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    run_start = np.maximum.accumulate(np.where(new_run, pos, 0))
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, n))
    size_sorted = np.repeat(sizes, sizes)
    rank = np.empty(n, dtype=np.int64)
    size = np.empty(n, dtype=np.int64)
    rank[order] = run_start - group_start + 1
    size[order] = size_sorted
    return rank, size


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------


@dataclass
class _Catalogue:
    """The methodology's metrics in score_id order, their attributes as per-metric arrays."""

    metrics: list[MetricSpec]
    score_ids: np.ndarray
    value_ids: np.ndarray
    methods: np.ndarray
    higher_better: np.ndarray
    national_pool: np.ndarray
    scored: np.ndarray
    in_average: np.ndarray
    weights: np.ndarray
    standards: np.ndarray  # NaN where the metric has no standard
    floors: np.ndarray  # NaN where the metric has no floor
    band_cut_points: np.ndarray  # (metrics, 3); NaN for metrics that are not banded
    domains: list[str]
    domain_index: np.ndarray  # metric -> position of its domain in ``domains``

    @classmethod
    def of(cls, methodology: MethodologySpec) -> _Catalogue:
        metrics = sorted(methodology.metrics, key=lambda m: m.score_id)
        domains = list(methodology.domains)
        return cls(
            metrics=metrics,
            score_ids=np.array([m.score_id for m in metrics], dtype=object),
            value_ids=np.array([m.value_id for m in metrics], dtype=object),
            methods=np.array([m.method for m in metrics], dtype=object),
            higher_better=np.array([m.direction == "higher" for m in metrics]),
            national_pool=np.array([m.pool == "national" for m in metrics]),
            scored=np.array([m.scored for m in metrics]),
            in_average=np.array([m.included_in_average for m in metrics]),
            weights=np.array([float(m.weight) for m in metrics]),
            standards=np.array([m.params.get("standard", np.nan) for m in metrics], dtype=float),
            floors=np.array([m.params.get("floor", np.nan) for m in metrics], dtype=float),
            band_cut_points=np.array(
                [m.params.get("cut_points") or [np.nan] * 3 for m in metrics], dtype=float
            ).reshape(len(metrics), 3),
            domains=domains,
            domain_index=pd.Index(domains).get_indexer([m.domain for m in metrics]),
        )


@dataclass
class _Rows:
    """The long table: one row per organisation and metric applying to its peer group
    (organisation-major, metrics in score_id order), with the inputs found for each row."""

    org: np.ndarray  # row -> organisation position
    metric: np.ndarray  # row -> metric position in the catalogue
    key: np.ndarray  # row -> organisation * number of metrics + metric
    method: np.ndarray
    is_scored: np.ndarray
    pool: np.ndarray  # row -> peer group position, or len(peer_groups) for the national pool
    pool_key: np.ndarray  # row -> one integer per (metric, pool)
    peer_groups: list[str]
    applies: np.ndarray  # (metrics, organisations): does the metric apply to its group
    outside: np.ndarray  # row -> a national-pool value from outside the metric's groups
    value: np.ndarray
    text: np.ndarray
    date: np.ndarray
    supplied: np.ndarray  # supplied score, NaN where none

    @property
    def n_pools(self) -> int:
        """Pools per metric: one per peer group plus the national pool."""
        return len(self.peer_groups) + 1


@dataclass
class _Scores:
    """Per-row results, filled in by the scoring steps."""

    score: np.ndarray
    rank: np.ndarray
    pool_size: np.ndarray
    low: np.ndarray
    high: np.ndarray
    status: np.ndarray

    @classmethod
    def missing(cls, n: int) -> _Scores:
        return cls(
            score=np.full(n, np.nan),
            rank=np.full(n, np.nan),
            pool_size=np.zeros(n, dtype=np.int64),
            low=np.full(n, np.nan),
            high=np.full(n, np.nan),
            status=np.full(n, "missing", dtype=object),
        )


def score_metrics(
    methodology: MethodologySpec,
    orgs: pd.DataFrame,
    values: pd.DataFrame | None,
    supplied: pd.DataFrame | None,
    period_end: dt.date,
    warnings: list[str],
    reference: pd.DataFrame | None = None,
) -> ScoredMetrics:
    """Score every applicable metric for every organisation of ``orgs`` (normalised).

    With ``reference`` (columns ``org_code, metric_id, value``: the values a published run
    ranked), rank scores are worked against those pools held still: each organisation is
    placed among the reference values of the *other* organisations, so an organisation
    whose value is unchanged keeps its rank and score whatever others now report.

    Returns the ``metric_scores`` frame (columns :data:`METRIC_SCORE_COLUMNS`, one row per
    organisation and metric applying to its peer group, plus one per nationally pooled
    value reported from outside the metric's peer groups, sorted by org_code and metric_id)
    and the pools the rank scores were worked in.
    """
    catalogue = _Catalogue.of(methodology)
    org_codes = orgs["org_code"].to_numpy(dtype=object)
    peer = orgs["peer_group"].to_numpy(dtype=object)
    org_pos = pd.Index(org_codes)
    rows = _layout(catalogue, peer, _outside_reporters(catalogue, values, org_pos, peer))
    _attach_values(rows, catalogue, values, org_pos, warnings)
    _attach_supplied(rows, catalogue, supplied, org_pos, warnings)

    scores = _Scores.missing(len(rows.org))
    held = held_pools(rows, catalogue, reference, org_pos, peer)
    _score_rank(rows, catalogue, scores, held)
    _score_bands(rows, catalogue, scores)
    cutoff = np.datetime64(period_end, "D") - np.timedelta64(methodology.rating_lookback_days, "D")
    _score_ratings(rows, catalogue, scores, cutoff, warnings)
    _warn_empty_pools(rows, catalogue, warnings)
    computed = scores.score.copy()
    has_supplied = _apply_supplied(rows, catalogue, org_codes, scores, warnings)

    # Scores are kept exact for the averages and published rounded to 2 dp.
    exact = scores.score.copy()
    scores.score = round2(scores.score, methodology.rounding)
    _score_combined(rows, catalogue, scores, has_supplied, len(org_codes), methodology.rounding)
    combined = rows.method == "combined"
    exact[combined] = scores.score[combined]
    for arr in (scores.score, exact, computed):
        arr[~rows.is_scored] = np.nan
    scores.status[~rows.is_scored] = "contextual"
    computed = np.where(has_supplied, round2(computed, methodology.rounding), np.nan)

    frame = _metric_scores_frame(rows, catalogue, scores, org_codes, exact, computed)
    pools = _pools(rows, catalogue, values, org_pos, peer, warnings)
    return ScoredMetrics(
        frame, rows.org, catalogue.domain_index[rows.metric], catalogue.domains, pools
    )


def _national_rank(catalogue: _Catalogue) -> np.ndarray:
    """Per metric: scored by rank in a national pool."""
    return catalogue.national_pool & (catalogue.methods == "rank") & catalogue.scored


def _applies(catalogue: _Catalogue, peer: np.ndarray) -> np.ndarray:
    """(metrics, organisations): the metric applies to the organisation's peer group."""
    return np.array([np.isin(peer, list(m.peer_groups)) for m in catalogue.metrics]).reshape(
        len(catalogue.metrics), len(peer)
    )


def _outside_reporters(
    catalogue: _Catalogue, values: pd.DataFrame | None, org_pos: pd.Index, peer: np.ndarray
) -> np.ndarray:
    """(metrics, organisations): a numeric value for a nationally pooled metric from an
    organisation outside the metric's peer groups (it is ranked in the national pool)."""
    out = np.zeros((len(catalogue.metrics), len(org_pos)), dtype=bool)
    national = _national_rank(catalogue)
    if values is None or not len(values) or not national.any():
        return out
    if not {"org_code", "metric_id", "value"} <= set(values.columns):
        return out
    o = org_pos.get_indexer(clean_codes(values["org_code"]))
    m = pd.Index([x.input_id for x in catalogue.metrics]).get_indexer(
        clean_codes(values["metric_id"])
    )
    number = pd.to_numeric(values["value"], errors="coerce").notna().to_numpy()
    ok = (o >= 0) & (m >= 0) & number
    out[m[ok], o[ok]] = True
    return out & national[:, None] & ~_applies(catalogue, peer)


def _layout(catalogue: _Catalogue, peer: np.ndarray, outside: np.ndarray) -> _Rows:
    """The rows to score for organisations in peer groups ``peer``, inputs still missing:
    every metric applying to an organisation's peer group, and the ``outside`` reporters."""
    n_metrics = len(catalogue.metrics)
    groups = sorted(set(peer) | {g for m in catalogue.metrics for g in m.peer_groups})
    peer_index = pd.Index(groups).get_indexer(peer)
    applies = _applies(catalogue, peer)
    org, metric = np.nonzero((applies | outside).T)
    national = len(groups)
    pool = np.where(catalogue.national_pool[metric], national, peer_index[org])
    n = len(org)
    return _Rows(
        org=org,
        metric=metric,
        key=org.astype(np.int64) * n_metrics + metric,
        method=catalogue.methods[metric],
        is_scored=catalogue.scored[metric],
        pool=pool,
        pool_key=metric * (national + 1) + pool,
        peer_groups=groups,
        applies=applies,
        outside=outside[metric, org],
        value=np.full(n, np.nan),
        text=np.full(n, None, dtype=object),
        date=np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        supplied=np.full(n, np.nan),
    )


def _attach_values(
    rows: _Rows,
    catalogue: _Catalogue,
    values: pd.DataFrame | None,
    org_pos: pd.Index,
    warnings: list[str],
) -> None:
    """Each row's value, text and reporting date, one input row per key (see _dedupe)."""
    input_ids = pd.Index([m.input_id for m in catalogue.metrics])
    found, keys = lookup(values, "metric_id", org_pos, input_ids, "values", warnings)
    if not len(keys):
        return
    k = len(keys)
    value = pd.to_numeric(pd.Series(column(found, "value", k)), errors="coerce").to_numpy(
        dtype=np.float64
    )
    text = clean_text(column(found, "text", k))
    date = pd.to_datetime(pd.Series(column(found, "reporting_date", k)), errors="coerce").to_numpy(
        dtype="datetime64[D]"
    )
    date_num = np.where(np.isnat(date), np.nan, date.astype(np.int64))
    text_rank = pd.factorize(text, sort=True, use_na_sentinel=True)[0].astype(float)
    keep = dedupe(keys, [date_num, value, text_rank], "value", warnings)
    pos = pd.Index(keys[keep]).get_indexer(rows.key)
    hit = pos >= 0
    source = keep[pos[hit]]
    rows.value[hit] = value[source]
    rows.text[hit] = text[source]
    rows.date[hit] = date[source]


def _attach_supplied(
    rows: _Rows,
    catalogue: _Catalogue,
    supplied: pd.DataFrame | None,
    org_pos: pd.Index,
    warnings: list[str],
) -> None:
    """Each row's supplied score, one per key; scores for rows that do not exist reported."""
    score_ids = catalogue.score_ids
    found, keys = lookup(
        supplied, "metric_id", org_pos, pd.Index(score_ids), "supplied_scores", warnings
    )
    if not len(keys):
        return
    if "score" not in found.columns:
        raise ValueError("supplied_scores: missing column(s) score")
    score = pd.to_numeric(found["score"], errors="coerce").to_numpy(dtype=np.float64)
    keep = dedupe(keys, [score], "supplied score", warnings)
    keys, score = keys[keep], score[keep]
    org, metric = np.divmod(keys, len(catalogue.metrics))
    stray = ~rows.applies[metric, org]
    if stray.any():
        warn_ids(
            score_ids[metric[stray]],
            "supplied score(s) ignored: the metric does not apply to the organisation's peer group",
            warnings,
            count=int(stray.sum()),
        )
        keys, score = keys[~stray], score[~stray]
    pos = pd.Index(keys).get_indexer(rows.key)
    hit = pos >= 0
    rows.supplied[hit] = score[pos[hit]]


def _score_rank(
    rows: _Rows, catalogue: _Catalogue, scores: _Scores, held: HeldPools | None = None
) -> None:
    """Rank-based scoring with bookends: all rank metrics and pools at once (against the
    ``held`` pools of a published run, when given)."""
    sel = np.flatnonzero((rows.method == "rank") & rows.is_scored & ~np.isnan(rows.value))
    if not sel.size:
        return
    metric = rows.metric[sel]
    key, meets, below = oriented(catalogue, metric, rows.value[sel])
    standard, floor = catalogue.standards[metric], catalogue.floors[metric]
    ranked = ~meets & ~below
    lowest = np.where(np.isnan(standard), 1.0, 2.0)
    highest = np.where(np.isnan(floor), 4.0, 3.0)

    if held is None:
        rank, size = group_min_rank(rows.pool_key[sel][ranked], key[ranked])
    else:
        rank, size = rank_in_held_pools(
            held, rows.pool_key[sel][ranked], key[ranked], held.own[sel][ranked]
        )
    lo, hi = lowest[ranked], highest[ranked]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(size > 1, lo + (hi - lo) * (rank - 1) / (size - 1), lo)
    idx = sel[ranked]
    scores.score[idx], scores.rank[idx], scores.pool_size[idx] = score, rank, size
    scores.low[idx], scores.high[idx] = lo, hi
    scores.status[idx] = "scored"

    for mask, bookend, label in ((meets, 1.0, "meets_standard"), (below, 4.0, "below_floor")):
        idx = sel[mask]
        scores.score[idx] = scores.low[idx] = scores.high[idx] = bookend
        scores.status[idx] = label


def _score_bands(rows: _Rows, catalogue: _Catalogue, scores: _Scores) -> None:
    """Bands: higher-better: >= c1 -> 1, >= c2 -> 2, >= c3 -> 3, else 4 (lower mirrors)."""
    sel = np.flatnonzero((rows.method == "bands") & rows.is_scored & ~np.isnan(rows.value))
    if not sel.size:
        return
    metric = rows.metric[sel]
    sign = np.where(catalogue.higher_better[metric], 1.0, -1.0)
    cut_points = catalogue.band_cut_points[metric]
    passed = ((rows.value[sel] * sign)[:, None] >= cut_points * sign[:, None]).sum(axis=1)
    scores.score[sel] = 4.0 - passed
    scores.status[sel] = "scored"


def _score_ratings(
    rows: _Rows,
    catalogue: _Catalogue,
    scores: _Scores,
    cutoff: np.datetime64,
    warnings: list[str],
) -> None:
    """Ratings: scale look-up (case-insensitive), only if awarded on or after ``cutoff``."""
    for mi, m in enumerate(catalogue.metrics):
        if m.method != "rating" or not m.scored:
            continue
        idx = np.flatnonzero((rows.metric == mi) & (rows.method == "rating") & rows.is_scored)
        if not idx.size:
            continue
        scale = {str(k).casefold(): float(v) for k, v in m.params["scale"].items()}
        labels = rows.text[idx]
        has_text = np.array([lbl is not None for lbl in labels], dtype=bool)
        mapped = np.array(
            [scale.get(lbl.casefold(), np.nan) if lbl is not None else np.nan for lbl in labels],
            dtype=float,
        )
        awarded = rows.date[idx]
        dated = ~np.isnat(awarded)
        known = ~np.isnan(mapped)
        in_window = dated & (awarded >= cutoff)

        ok = known & in_window
        scores.score[idx[ok]] = mapped[ok]
        scores.status[idx[ok]] = "scored"
        scores.status[idx[known & dated & ~in_window]] = "out_of_window"
        invalid = (has_text & ~known) | (known & ~dated) | (~has_text & ~np.isnan(rows.value[idx]))
        scores.status[idx[invalid]] = "invalid"
        if invalid.any():
            warnings.append(
                f"{m.score_id} ({m.name}): {int(invalid.sum())} rating(s) not scored: the "
                f"text must be one of {', '.join(m.params['scale'])} and the date awarded "
                "must be given"
            )


def _apply_supplied(
    rows: _Rows,
    catalogue: _Catalogue,
    org_codes: np.ndarray,
    scores: _Scores,
    warnings: list[str],
) -> np.ndarray:
    """Supplied scores win over computed ones and are never recomputed. A 0 is NHS
    England's way of showing "no score": treated as missing, never averaged.

    Returns which rows took a supplied score.
    """
    supplied = rows.supplied
    taken = ~np.isnan(supplied) & (supplied != 0) & rows.is_scored
    bad = taken & ((supplied < 1) | (supplied > 4))
    if bad.any():
        orgs = org_codes[rows.org[bad]][:10]
        metrics = catalogue.score_ids[rows.metric[bad]][:10]
        sample = ", ".join(f"{o} {m}" for o, m in zip(orgs, metrics, strict=True))
        warnings.append(f"{int(bad.sum())} supplied score(s) outside 1-4 ignored (e.g. {sample})")
        taken &= ~bad
    scores.score[taken] = supplied[taken]
    scores.status[taken] = "supplied"
    scores.rank[taken] = np.nan
    scores.pool_size[taken] = 0
    scores.low[taken] = np.nan
    scores.high[taken] = np.nan
    return taken


def _score_combined(
    rows: _Rows,
    catalogue: _Catalogue,
    scores: _Scores,
    has_supplied: np.ndarray,
    n_orgs: int,
    rounding: str,
) -> None:
    """Combined finance: clamp(variance + (+step if plan > threshold else -step), 1, 4).

    Uses the plan and variance scores whether computed or supplied; a supplied combined
    score wins; when either input is missing the combined score is missing.
    """
    if not ((rows.method == "combined") & rows.is_scored).any():
        return
    metrics = catalogue.metrics
    matrix = np.full((n_orgs, len(metrics)), np.nan)
    matrix[rows.org, rows.metric] = scores.score
    index = {m.score_id: i for i, m in enumerate(metrics)}
    for mi, m in enumerate(metrics):
        if m.method != "combined" or not m.scored:
            continue
        idx = np.flatnonzero((rows.metric == mi) & rows.is_scored & ~has_supplied)
        if not idx.size:
            continue
        org = rows.org[idx]
        plan = matrix[org, index[m.params["plan"]]]
        variance = matrix[org, index[m.params["variance"]]]
        step = float(m.params.get("step", 1.0))
        threshold = float(m.params.get("plan_threshold", 1.0))
        combined = np.clip(variance + np.where(plan > threshold + 1e-9, step, -step), 1.0, 4.0)
        ok = ~np.isnan(plan) & ~np.isnan(variance)
        scores.score[idx[ok]] = round2(combined[ok], rounding)
        scores.status[idx[ok]] = "scored"


def _warn_empty_pools(rows: _Rows, catalogue: _Catalogue, warnings: list[str]) -> None:
    """An empty pool scores nobody: say so when someone in it is left without a score."""
    sel = (rows.method == "rank") & rows.is_scored
    if not sel.any():
        return
    key = rows.pool_key[sel]
    n_pools = rows.n_pools
    size = n_pools * len(catalogue.metrics)
    in_pool = np.bincount(key, minlength=size)
    valued = np.bincount(key, weights=~np.isnan(rows.value[sel]), minlength=size)
    unscored = np.bincount(key, weights=np.isnan(rows.supplied[sel]), minlength=size)
    for k in np.flatnonzero((in_pool > 0) & (valued == 0) & (unscored > 0)):
        mi, p = divmod(int(k), n_pools)
        m = catalogue.metrics[mi]
        national = p == len(rows.peer_groups)
        where = "the national pool" if national else f"peer group {rows.peer_groups[p]}"
        warnings.append(
            f"{m.score_id} ({m.name}): no organisation in {where} has a "
            f"value; nobody scored ({int(unscored[k])} organisation(s) left without a score)"
        )


def _pools(
    rows: _Rows,
    catalogue: _Catalogue,
    values: pd.DataFrame | None,
    org_pos: pd.Index,
    peer: np.ndarray,
    warnings: list[str],
) -> pd.DataFrame:
    """One row per rank-scored metric and pool: organisations ranked (with a value) and
    the organisations the pool could hold in the period.

    A national pool could hold every organisation the metric applies to, every outside
    reporter, and every organisation of a peer group the national metrics reach whose data
    for the period is not loaded at all (its providers may report the metric). A national
    pool holding fewer than that is *partial*: its scores are not NHS England's.
    """
    sel = (rows.method == "rank") & rows.is_scored
    if not sel.any():
        return pd.DataFrame(columns=POOL_COLUMNS)
    loaded = np.zeros(len(org_pos), dtype=bool)
    if values is not None and len(values) and "org_code" in values.columns:
        o = org_pos.get_indexer(clean_codes(values["org_code"]))
        loaded[o[o >= 0]] = True
    national_groups = {
        g
        for m, n in zip(catalogue.metrics, _national_rank(catalogue), strict=True)
        if n
        for g in m.peer_groups
    }
    not_loaded = sorted(
        g for g in national_groups if (peer == g).any() and not loaded[peer == g].any()
    )
    key, has_value = rows.pool_key[sel], ~np.isnan(rows.value[sel])
    national = len(rows.peer_groups)
    out = []
    for k in np.unique(key):
        mi, p = divmod(int(k), national + 1)
        m = catalogue.metrics[mi]
        in_pool = key == k
        ranked = int(has_value[in_pool].sum())
        applies = int(in_pool.sum())
        missing: list[str] = []
        if p == national:
            missing = [g for g in not_loaded if g not in m.peer_groups]
            applies += int(np.isin(peer, missing).sum())
        out.append(
            {
                "metric_id": m.score_id,
                "pool": "national" if p == national else rows.peer_groups[p],
                "ranked": ranked,
                "applies": applies,
                "partial": bool(p == national and ranked < applies),
                "not_loaded": [g for g in not_loaded if p == national],
            }
        )
    pools = pd.DataFrame(out, columns=POOL_COLUMNS)
    partial = pools[pools["partial"]]
    if len(partial):
        shown = ", ".join(
            f"{r.metric_id} ({r.ranked} of {r.applies})" for r in partial.itertuples()
        )
        why = f"; no data loaded for {', '.join(not_loaded)}" if not_loaded else ""
        warnings.append(
            f"{len(partial)} nationally ranked metric(s) scored on a partial pool, so their "
            f"scores may differ from NHS England's: {shown}{why}"
        )
    return pools


def _metric_scores_frame(
    rows: _Rows,
    catalogue: _Catalogue,
    scores: _Scores,
    org_codes: np.ndarray,
    exact: np.ndarray,
    computed: np.ndarray,
) -> pd.DataFrame:
    """The ``metric_scores`` frame (columns :data:`METRIC_SCORE_COLUMNS`)."""
    metric = rows.metric
    scored = np.isin(scores.status, SCORED_STATUSES)
    counts = (
        ~rows.outside
        | np.array([m.counts_outside_peer_groups for m in catalogue.metrics], dtype=bool)[metric]
    )
    return pd.DataFrame(
        {
            "org_code": org_codes[rows.org],
            "metric_id": catalogue.score_ids[metric],
            "value_id": catalogue.value_ids[metric],
            "value": rows.value,
            "text": pd.Series(rows.text, dtype=object),
            "score": scores.score,
            "exact_score": exact,
            "computed_score": computed,
            "rank": scores.rank,
            "pool_size": scores.pool_size,
            "method": rows.method,
            "low": scores.low,
            "high": scores.high,
            "domain": np.array(catalogue.domains, dtype=object)[catalogue.domain_index[metric]],
            "weight": catalogue.weights[metric],
            "included": scored & catalogue.in_average[metric] & counts,
            "outside": rows.outside,
            "status": scores.status,
        }
    )

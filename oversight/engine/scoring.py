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
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .rounding import round2
from .spec import MethodologySpec

__all__ = [
    "METRIC_SCORE_COLUMNS",
    "SCORED_STATUSES",
    "STATUSES",
    "ScoredMetrics",
    "group_min_rank",
    "normalise_organisations",
    "score_metrics",
]

METRIC_SCORE_COLUMNS = [
    "org_code",
    "metric_id",
    "value_id",
    "value",
    "text",
    "score",
    "rank",
    "pool_size",
    "method",
    "low",
    "high",
    "domain",
    "weight",
    "included",
    "status",
]
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
    """The ``metric_scores`` frame plus the integer codes the later steps group by."""

    frame: pd.DataFrame
    org_index: np.ndarray  # row -> position of its organisation in the sorted org list
    domain_index: np.ndarray  # row -> position of its domain in ``domains``
    domains: list[str]


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _clean_codes(series: pd.Series | np.ndarray) -> np.ndarray:
    """Codes as stripped text (object array); factorised so each distinct code is
    stripped once."""
    arr = np.asarray(series, dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    cleaned = np.array([str(u).strip() for u in uniques], dtype=object)
    out = np.full(len(arr), "", dtype=object)
    ok = codes >= 0
    out[ok] = cleaned[codes[ok]]
    return out


def _clean_text(raw: np.ndarray) -> np.ndarray:
    """Stripped text, None for missing or blank (only non-missing cells are visited)."""
    out = np.full(len(raw), None, dtype=object)
    for i in np.flatnonzero(pd.notna(raw)):
        t = raw[i]
        if isinstance(t, str) and t.strip():
            out[i] = t.strip()
    return out


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


def _warn_ids(ids: Iterable[str], message: str, warnings: list[str], count=None) -> None:
    ids = sorted(set(ids))
    if not ids:
        return
    shown = ", ".join(ids[:15]) + (f" and {len(ids) - 15} more" if len(ids) > 15 else "")
    prefix = f"{count} " if count is not None else ""
    warnings.append(f"{prefix}{message}: {shown}")


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------


def normalise_organisations(organisations: pd.DataFrame) -> pd.DataFrame:
    """org_code, peer_group as stripped text, one row per organisation, sorted by code."""
    missing = {"org_code", "peer_group"} - set(organisations.columns)
    if missing:
        raise ValueError(f"organisations: missing column(s) {', '.join(sorted(missing))}")
    orgs = pd.DataFrame(
        {
            "org_code": _clean_codes(organisations["org_code"]),
            "peer_group": _clean_codes(organisations["peer_group"]),
        }
    )
    orgs = orgs.drop_duplicates()
    clash = orgs.duplicated("org_code", keep=False)
    if clash.any():
        codes = sorted(set(orgs.loc[clash, "org_code"]))
        raise ValueError(
            "organisations: listed in more than one peer group: " + ", ".join(codes[:20])
        )
    return orgs.sort_values("org_code", kind="stable").reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name in frame.columns:
        return frame[name].to_numpy(dtype=object)
    return np.full(n, None, dtype=object)


def _lookup(
    frame: pd.DataFrame | None,
    id_column: str,
    org_pos: pd.Index,
    id_pos: pd.Index,
    what: str,
    warnings: list[str],
) -> tuple[pd.DataFrame, np.ndarray]:
    """Map input rows to (organisation, metric) integer keys; drop and report the rest.

    Returns the kept rows and their keys ``org * len(id_pos) + metric``.
    """
    if frame is None or len(frame) == 0:
        return pd.DataFrame(), np.zeros(0, dtype=np.int64)
    missing = {"org_code", id_column} - set(frame.columns)
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(sorted(missing))}")
    org_codes = _clean_codes(frame["org_code"])
    ids = _clean_codes(frame[id_column])
    o = org_pos.get_indexer(org_codes)
    m = id_pos.get_indexer(ids)
    unknown_metric = m < 0
    if what == "supplied_scores":
        # Summary rows (OF4xxx domain scores/segments, OF5xxx segments and flags) are
        # outputs of a run, not inputs: ignore them silently.
        summary = np.array([str(i).upper().startswith(("OF4", "OF5")) for i in ids])
        report = unknown_metric & ~summary
    else:
        report = unknown_metric
    _warn_ids(
        ids[report], f"{what}: rows for metric id(s) not in the methodology ignored", warnings
    )
    _warn_ids(
        org_codes[(o < 0) & ~unknown_metric],
        f"{what}: rows for organisation(s) not in the run ignored",
        warnings,
    )
    keep = (o >= 0) & ~unknown_metric
    kept = frame.iloc[np.flatnonzero(keep)]
    keys = o[keep].astype(np.int64) * len(id_pos) + m[keep]
    return kept, keys


def _dedupe(keys: np.ndarray, sort_columns: list[np.ndarray], what: str, warnings: list[str]):
    """Row positions to keep: one per key, the last after sorting by ``sort_columns``.

    ``sort_columns`` are numeric arrays, most significant first; NaN sorts first (a dated
    row beats an undated one, a value beats no value). The result does not depend on input
    row order unless two rows agree on every sort column, when they are interchangeable.
    """
    if len(np.unique(keys)) == len(keys):
        return np.arange(len(keys))
    columns = [np.where(np.isnan(c), -np.inf, c) for c in sort_columns]
    order = np.lexsort([*reversed(columns), keys]) if len(keys) else np.zeros(0, int)
    k = keys[order]
    last = np.ones(len(k), dtype=bool)
    last[:-1] = k[1:] != k[:-1]
    dropped = int((~last).sum())
    if dropped:
        warnings.append(
            f"{dropped} duplicate {what} row(s) for the same organisation and metric: kept "
            "the one with the latest reporting date (then the highest value, then the last "
            "text in alphabetical order)"
        )
    return order[last]


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------


def score_metrics(
    methodology: MethodologySpec,
    orgs: pd.DataFrame,
    values: pd.DataFrame | None,
    supplied: pd.DataFrame | None,
    period_end: dt.date,
    warnings: list[str],
) -> ScoredMetrics:
    """Score every applicable metric for every organisation of ``orgs`` (normalised).

    Returns the ``metric_scores`` frame (columns :data:`METRIC_SCORE_COLUMNS`, one row per
    organisation and metric applying to its peer group, sorted by org_code and metric_id).
    """
    metrics = sorted(methodology.metrics, key=lambda m: m.score_id)
    n_m = len(metrics)
    org_codes = orgs["org_code"].to_numpy(dtype=object)
    peer = orgs["peer_group"].to_numpy(dtype=object)
    n_o = len(org_codes)
    groups = sorted(set(peer) | {g for m in metrics for g in m.peer_groups})
    peer_idx = pd.Index(groups).get_indexer(peer)
    national = len(groups)

    # Metric-level attributes.
    score_ids = np.array([m.score_id for m in metrics], dtype=object)
    value_ids = np.array([m.value_id for m in metrics], dtype=object)
    method_m = np.array([m.method for m in metrics], dtype=object)
    higher_m = np.array([m.direction == "higher" for m in metrics])
    national_m = np.array([m.pool == "national" for m in metrics])
    scored_m = np.array([m.scored for m in metrics])
    in_avg_m = np.array([m.included_in_average for m in metrics])
    weight_m = np.array([float(m.weight) for m in metrics])
    standard_m = np.array([m.params.get("standard", np.nan) for m in metrics], dtype=float)
    floor_m = np.array([m.params.get("floor", np.nan) for m in metrics], dtype=float)
    cuts_m = np.array(
        [m.params.get("cut_points") or [np.nan] * 3 for m in metrics], dtype=float
    ).reshape(n_m, 3)
    domains = list(methodology.domains)
    domain_m = pd.Index(domains).get_indexer([m.domain for m in metrics])
    applies = np.array([np.isin(peer, list(m.peer_groups)) for m in metrics]).reshape(n_m, n_o)

    # Rows: organisation-major, metrics in score_id order.
    row_org, row_met = np.nonzero(applies.T)
    n = len(row_org)
    method = method_m[row_met]
    is_scored = scored_m[row_met]

    # Values, keyed by (organisation, metric).
    org_pos = pd.Index(org_codes)
    vals, vkeys = _lookup(
        values,
        "metric_id",
        org_pos,
        pd.Index([m.input_id for m in metrics]),
        "values",
        warnings,
    )
    value = np.full(n, np.nan)
    text = np.full(n, None, dtype=object)
    date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if len(vkeys):
        k = len(vkeys)
        v_value = pd.to_numeric(pd.Series(_column(vals, "value", k)), errors="coerce").to_numpy(
            dtype=np.float64
        )
        v_text = _clean_text(_column(vals, "text", k))
        v_date = pd.to_datetime(
            pd.Series(_column(vals, "reporting_date", k)), errors="coerce"
        ).to_numpy(dtype="datetime64[D]")
        date_num = np.where(np.isnat(v_date), np.nan, v_date.astype(np.int64))
        text_rank = pd.factorize(v_text, sort=True, use_na_sentinel=True)[0].astype(float)
        keep = _dedupe(vkeys, [date_num, v_value, text_rank], "value", warnings)
        pos = pd.Index(vkeys[keep]).get_indexer(row_org.astype(np.int64) * n_m + row_met)
        hit = pos >= 0
        src = keep[pos[hit]]
        value[hit] = v_value[src]
        text[hit] = v_text[src]
        date[hit] = v_date[src]

    # Supplied scores, keyed by (organisation, metric).
    sups, skeys = _lookup(
        supplied, "metric_id", org_pos, pd.Index(score_ids), "supplied_scores", warnings
    )
    sup = np.full(n, np.nan)
    if len(skeys):
        if "score" not in sups.columns:
            raise ValueError("supplied_scores: missing column(s) score")
        s_score = pd.to_numeric(sups["score"], errors="coerce").to_numpy(dtype=np.float64)
        keep = _dedupe(skeys, [s_score], "supplied score", warnings)
        skeys, s_score = skeys[keep], s_score[keep]
        s_org, s_met = np.divmod(skeys, n_m)
        stray = ~applies[s_met, s_org]
        if stray.any():
            _warn_ids(
                score_ids[s_met[stray]],
                "supplied score(s) ignored: the metric does not apply to the "
                "organisation's peer group",
                warnings,
                count=int(stray.sum()),
            )
        pos = pd.Index(skeys).get_indexer(row_org.astype(np.int64) * n_m + row_met)
        hit = pos >= 0
        sup[hit] = s_score[pos[hit]]

    score = np.full(n, np.nan)
    rank = np.full(n, np.nan)
    pool_size = np.zeros(n, dtype=np.int64)
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    status = np.full(n, "missing", dtype=object)
    pool = np.where(national_m[row_met], national, peer_idx[row_org])

    _score_rank(
        method,
        is_scored,
        value,
        higher_m[row_met],
        standard_m[row_met],
        floor_m[row_met],
        row_met * (national + 1) + pool,
        score,
        rank,
        pool_size,
        low,
        high,
        status,
    )
    _score_bands(method, is_scored, value, higher_m[row_met], cuts_m[row_met], score, status)
    _score_ratings(
        methodology,
        metrics,
        row_met,
        method,
        is_scored,
        value,
        text,
        date,
        period_end,
        score,
        status,
        warnings,
    )
    _warn_empty_pools(
        metrics, groups, method, is_scored, value, sup, row_met, pool, national, warnings
    )

    # Supplied scores win over computed ones and are never recomputed. A 0 is NHS England's
    # way of showing "no score": treated as missing, never averaged.
    has_sup = ~np.isnan(sup) & (sup != 0) & is_scored
    bad = has_sup & ((sup < 1) | (sup > 4))
    if bad.any():
        sample = ", ".join(
            f"{o} {m}"
            for o, m in zip(org_codes[row_org[bad]][:10], score_ids[row_met[bad]][:10], strict=True)
        )
        warnings.append(f"{int(bad.sum())} supplied score(s) outside 1-4 ignored (e.g. {sample})")
        has_sup &= ~bad
    score[has_sup] = sup[has_sup]
    status[has_sup] = "supplied"
    rank[has_sup] = np.nan
    pool_size[has_sup] = 0
    low[has_sup] = np.nan
    high[has_sup] = np.nan

    score = round2(score, methodology.rounding)
    _score_combined(
        metrics,
        n_o,
        n_m,
        row_org,
        row_met,
        method,
        is_scored,
        has_sup,
        score,
        status,
        methodology.rounding,
    )

    status[~is_scored] = "contextual"
    score[~is_scored] = np.nan
    scored = np.isin(status, SCORED_STATUSES)

    frame = pd.DataFrame(
        {
            "org_code": org_codes[row_org],
            "metric_id": score_ids[row_met],
            "value_id": value_ids[row_met],
            "value": value,
            "text": pd.Series(text, dtype=object),
            "score": score,
            "rank": rank,
            "pool_size": pool_size,
            "method": method,
            "low": low,
            "high": high,
            "domain": np.array(domains, dtype=object)[domain_m[row_met]],
            "weight": weight_m[row_met],
            "included": scored & in_avg_m[row_met],
            "status": status,
        }
    )
    return ScoredMetrics(frame, row_org, domain_m[row_met], domains)


def _score_rank(
    method,
    is_scored,
    value,
    higher,
    standard,
    floor,
    pool_key,
    score,
    rank,
    pool_size,
    low,
    high,
    status,
):
    """Rank-based scoring with bookends: all rank metrics and pools at once."""
    sel = np.flatnonzero((method == "rank") & is_scored & ~np.isnan(value))
    if not sel.size:
        return
    # Oriented so that smaller is better (negation is exact).
    h = higher[sel]
    key = np.where(h, -value[sel], value[sel])
    std, flo = standard[sel], floor[sel]
    meets = ~np.isnan(std) & (key <= np.where(h, -std, std))
    below = ~np.isnan(flo) & (key > np.where(h, -flo, flo))
    ranked = ~meets & ~below
    lo = np.where(np.isnan(std), 1.0, 2.0)
    hi = np.where(np.isnan(flo), 4.0, 3.0)

    r, size = group_min_rank(pool_key[sel][ranked], key[ranked])
    lo_r, hi_r = lo[ranked], hi[ranked]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(size > 1, lo_r + (hi_r - lo_r) * (r - 1) / (size - 1), lo_r)
    idx = sel[ranked]
    score[idx], rank[idx], pool_size[idx] = s, r, size
    low[idx], high[idx] = lo_r, hi_r
    status[idx] = "scored"

    for mask, bookend, label in ((meets, 1.0, "meets_standard"), (below, 4.0, "below_floor")):
        idx = sel[mask]
        score[idx] = low[idx] = high[idx] = bookend
        status[idx] = label


def _score_bands(method, is_scored, value, higher, cuts, score, status):
    """Bands: higher-better: >= c1 -> 1, >= c2 -> 2, >= c3 -> 3, else 4 (lower mirrors)."""
    sel = np.flatnonzero((method == "bands") & is_scored & ~np.isnan(value))
    if not sel.size:
        return
    sign = np.where(higher[sel], 1.0, -1.0)
    passed = ((value[sel] * sign)[:, None] >= cuts[sel] * sign[:, None]).sum(axis=1)
    score[sel] = 4.0 - passed
    status[sel] = "scored"


def _score_ratings(
    methodology,
    metrics,
    row_met,
    method,
    is_scored,
    value,
    text,
    date,
    period_end,
    score,
    status,
    warnings,
):
    """Ratings: scale look-up (case-insensitive), only inside the look-back window."""
    cutoff = np.datetime64(period_end, "D") - np.timedelta64(methodology.rating_lookback_days, "D")
    for mi, m in enumerate(metrics):
        if m.method != "rating" or not m.scored:
            continue
        idx = np.flatnonzero((row_met == mi) & (method == "rating") & is_scored)
        if not idx.size:
            continue
        scale = {str(k).casefold(): float(v) for k, v in m.params["scale"].items()}
        labels = text[idx]
        has_text = np.array([lbl is not None for lbl in labels], dtype=bool)
        mapped = np.array(
            [scale.get(lbl.casefold(), np.nan) if lbl is not None else np.nan for lbl in labels],
            dtype=float,
        )
        d = date[idx]
        dated = ~np.isnat(d)
        known = ~np.isnan(mapped)
        in_window = dated & (d >= cutoff)

        ok = known & in_window
        score[idx[ok]] = mapped[ok]
        status[idx[ok]] = "scored"
        status[idx[known & dated & ~in_window]] = "out_of_window"
        invalid = (has_text & ~known) | (known & ~dated) | (~has_text & ~np.isnan(value[idx]))
        status[idx[invalid]] = "invalid"
        if invalid.any():
            warnings.append(
                f"{m.score_id} ({m.name}): {int(invalid.sum())} rating(s) not scored: the "
                f"text must be one of {', '.join(m.params['scale'])} and the date awarded "
                "must be given"
            )


def _score_combined(
    metrics, n_o, n_m, row_org, row_met, method, is_scored, has_sup, score, status, rounding
):
    """Combined finance: clamp(variance + (+step if plan > threshold else -step), 1, 4).

    Uses the plan and variance scores whether computed or supplied; a supplied combined
    score wins; when either input is missing the combined score is missing.
    """
    if not ((method == "combined") & is_scored).any():
        return
    matrix = np.full((n_o, n_m), np.nan)
    matrix[row_org, row_met] = score
    index = {m.score_id: i for i, m in enumerate(metrics)}
    for mi, m in enumerate(metrics):
        if m.method != "combined" or not m.scored:
            continue
        idx = np.flatnonzero((row_met == mi) & is_scored & ~has_sup)
        if not idx.size:
            continue
        p = matrix[row_org[idx], index[m.params["plan"]]]
        v = matrix[row_org[idx], index[m.params["variance"]]]
        step = float(m.params.get("step", 1.0))
        threshold = float(m.params.get("plan_threshold", 1.0))
        combined = np.clip(v + np.where(p > threshold + 1e-9, step, -step), 1.0, 4.0)
        ok = ~np.isnan(p) & ~np.isnan(v)
        score[idx[ok]] = round2(combined[ok], rounding)
        status[idx[ok]] = "scored"


def _warn_empty_pools(
    metrics, groups, method, is_scored, value, sup, row_met, pool, national, warnings
):
    """An empty pool scores nobody: say so when someone in it is left without a score."""
    sel = (method == "rank") & is_scored
    if not sel.any():
        return
    key = row_met[sel] * (national + 1) + pool[sel]
    size = (national + 1) * len(metrics)
    rows = np.bincount(key, minlength=size)
    valued = np.bincount(key, weights=~np.isnan(value[sel]), minlength=size)
    unscored = np.bincount(key, weights=np.isnan(sup[sel]), minlength=size)
    for k in np.flatnonzero((rows > 0) & (valued == 0) & (unscored > 0)):
        mi, p = divmod(int(k), national + 1)
        where = "the national pool" if p == national else f"peer group {groups[p]}"
        warnings.append(
            f"{metrics[mi].score_id} ({metrics[mi].name}): no organisation in {where} has a "
            f"value; nobody scored ({int(unscored[k])} organisation(s) left without a score)"
        )

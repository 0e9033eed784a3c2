"""Rank scores against a published run's pools held still (see
:func:`.scoring.score_metrics`): each organisation is placed among the reference values of
the *other* organisations of its pool, so one whose value is unchanged keeps its rank."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .input_tables import clean_codes

if TYPE_CHECKING:
    from .scoring import _Catalogue, _Rows


@dataclass
class HeldPools:
    """The ranked reference values of each pool (sorted, oriented: smaller is better) and,
    per row of the long table, the row's own reference value (NaN: none, or not ranked)."""

    sorted_keys: dict[int, np.ndarray]
    own: np.ndarray


def oriented(catalogue: _Catalogue, metric: np.ndarray, value: np.ndarray):
    """(key, ranked): values oriented so that smaller is better (negation is exact), and
    whether each is ranked (neither meets the standard nor falls below the floor)."""
    higher = catalogue.higher_better[metric]
    key = np.where(higher, -value, value)
    standard, floor = catalogue.standards[metric], catalogue.floors[metric]
    meets = ~np.isnan(standard) & (key <= np.where(higher, -standard, standard))
    below = ~np.isnan(floor) & (key > np.where(higher, -floor, floor))
    return key, meets, below


def held_pools(
    rows: _Rows,
    catalogue: _Catalogue,
    reference: pd.DataFrame | None,
    org_pos: pd.Index,
    peer: np.ndarray,
) -> HeldPools | None:
    """The pools of ``reference`` (see :func:`score_metrics`), laid out like ``rows``."""
    if reference is None:
        return None
    n_metrics = len(catalogue.metrics)
    m = pd.Index([x.input_id for x in catalogue.metrics]).get_indexer(
        clean_codes(reference["metric_id"])
    )
    o = org_pos.get_indexer(clean_codes(reference["org_code"]))
    value = pd.to_numeric(reference["value"], errors="coerce").to_numpy(dtype=np.float64)
    m_safe = np.where(m >= 0, m, 0)
    national = len(rows.peer_groups)
    peer_index = pd.Index(rows.peer_groups).get_indexer(peer)
    pool = np.where(catalogue.national_pool[m_safe], national, np.where(o >= 0, peer_index[o], -1))
    usable = (
        (m >= 0)
        & ~np.isnan(value)
        & (catalogue.methods[m_safe] == "rank")
        & catalogue.scored[m_safe]
        & (pool >= 0)
    )
    key, meets, below = oriented(catalogue, m_safe, value)
    ranked = usable & ~meets & ~below
    pool_key = m_safe * (national + 1) + pool
    sorted_keys = {
        int(p): np.sort(key[ranked & (pool_key == p)]) for p in np.unique(pool_key[ranked])
    }
    own = np.full(len(rows.key), np.nan)
    mine = ranked & (o >= 0)
    pos = pd.Index(o[mine].astype(np.int64) * n_metrics + m[mine]).get_indexer(rows.key)
    hit = pos >= 0
    own[hit] = key[mine][pos[hit]]
    return HeldPools(sorted_keys, own)


def rank_in_held_pools(
    held: HeldPools, pool_key: np.ndarray, key: np.ndarray, own: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rank, pool size) of each ``key`` among the held values of its pool, its own held
    value (``own``, NaN when none) taken out and the key itself put in."""
    rank = np.empty(len(key), dtype=np.int64)
    size = np.empty(len(key), dtype=np.int64)
    has_own = ~np.isnan(own)
    for p in np.unique(pool_key):
        at_p = pool_key == p
        values = held.sorted_keys.get(int(p), np.zeros(0))
        better = np.searchsorted(values, key[at_p], side="left")
        better -= has_own[at_p] & (own[at_p] < key[at_p])
        rank[at_p] = better + 1
        size[at_p] = len(values) - has_own[at_p] + 1
    return rank, size

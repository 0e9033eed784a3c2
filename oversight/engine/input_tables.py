"""The engine's input tables: organisation codes and metric ids cleaned, input rows mapped
to integer (organisation, metric) keys, and duplicates resolved the same way whatever the
row order. Used by :mod:`.scoring`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "clean_codes",
    "clean_text",
    "column",
    "dedupe",
    "lookup",
    "normalise_organisations",
    "warn_ids",
]


def clean_codes(series: pd.Series | np.ndarray) -> np.ndarray:
    """Codes as stripped text (object array); factorised so each distinct code is
    stripped once."""
    arr = np.asarray(series, dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    cleaned = np.array([str(u).strip() for u in uniques], dtype=object)
    out = np.full(len(arr), "", dtype=object)
    ok = codes >= 0
    out[ok] = cleaned[codes[ok]]
    return out


def clean_text(raw: np.ndarray) -> np.ndarray:
    """Stripped text, None for missing or blank (only non-missing cells are visited)."""
    out = np.full(len(raw), None, dtype=object)
    for i in np.flatnonzero(pd.notna(raw)):
        t = raw[i]
        if isinstance(t, str) and t.strip():
            out[i] = t.strip()
    return out


def warn_ids(ids: Iterable[str], message: str, warnings: list[str], count=None) -> None:
    ids = sorted(set(ids))
    if not ids:
        return
    shown = ", ".join(ids[:15]) + (f" and {len(ids) - 15} more" if len(ids) > 15 else "")
    prefix = f"{count} " if count is not None else ""
    warnings.append(f"{prefix}{message}: {shown}")


def normalise_organisations(organisations: pd.DataFrame) -> pd.DataFrame:
    """org_code, peer_group as stripped text, one row per organisation, sorted by code."""
    missing = {"org_code", "peer_group"} - set(organisations.columns)
    if missing:
        raise ValueError(f"organisations: missing column(s) {', '.join(sorted(missing))}")
    orgs = pd.DataFrame(
        {
            "org_code": clean_codes(organisations["org_code"]),
            "peer_group": clean_codes(organisations["peer_group"]),
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


def column(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name in frame.columns:
        return frame[name].to_numpy(dtype=object)
    return np.full(n, None, dtype=object)


def lookup(
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
    org_codes = clean_codes(frame["org_code"])
    ids = clean_codes(frame[id_column])
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
    warn_ids(ids[report], f"{what}: rows for metric id(s) not in the methodology ignored", warnings)
    warn_ids(
        org_codes[(o < 0) & ~unknown_metric],
        f"{what}: rows for organisation(s) not in the run ignored",
        warnings,
    )
    keep = (o >= 0) & ~unknown_metric
    kept = frame.iloc[np.flatnonzero(keep)]
    keys = o[keep].astype(np.int64) * len(id_pos) + m[keep]
    return kept, keys


def dedupe(keys: np.ndarray, sort_columns: list[np.ndarray], what: str, warnings: list[str]):
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

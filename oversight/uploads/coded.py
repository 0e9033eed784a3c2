"""Columns as codes into small tables, and the problems found in them.

A metric file repeats a few hundred codes, ids, periods and values on every row. Each
column is held as a code per row into a table of its distinct values (:class:`Coded`), so
a check runs once per table entry and is looked up for every row with one integer
``take``. Pure NumPy and pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from .readers import ROW

ERROR_COLUMNS = [ROW, "column", "value", "message"]


class Coded:
    """A column as codes into a small table (a file repeats its codes, ids and periods on
    every row): a check runs once per table entry and is then looked up for every row
    with one integer ``take``, never one Python call per row. The table may hold a value
    more than once."""

    __slots__ = ("codes", "table")

    def __init__(self, codes: np.ndarray, table: np.ndarray):
        self.codes = codes
        self.table = table

    @classmethod
    def of(cls, values: pd.Series) -> Coded:
        if isinstance(values.dtype, pd.CategoricalDtype):
            # Already coded; code -1 (a missing cell) takes the last entry, NaN.
            table = objects([*values.cat.categories, np.nan])
            # As intp, so every lookup indexes without converting the codes first.
            return cls(values.cat.codes.to_numpy().astype(np.intp), table)
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
        return cls(codes, np.asarray(uniques, dtype=object))

    @classmethod
    def constant(cls, value: Any, length: int) -> Coded:
        return cls(np.zeros(length, dtype=np.intp), objects([value]))

    def per_entry(self, func: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
        """``func`` of each table entry (not of each row)."""
        if dtype is object:
            return objects([func(v) for v in self.table])
        return np.fromiter((func(v) for v in self.table), dtype=dtype, count=len(self.table))

    def with_table(self, table: np.ndarray) -> Coded:
        return Coded(self.codes, table)

    def map(self, func: Callable[[Any], Any]) -> Coded:
        """``func`` of every row's value, as a column with distinct table entries."""
        codes, uniques = pd.factorize(self.per_entry(func), use_na_sentinel=False)
        return Coded(codes.take(self.codes), np.asarray(uniques, dtype=object))

    def test(self, predicate: Callable[[Any], bool]) -> np.ndarray:
        return self.per_entry(predicate, dtype=bool).take(self.codes)

    def eq(self, value: Any) -> np.ndarray:
        return self.test(lambda v: v == value)

    def isin(self, values: Iterable[Any]) -> np.ndarray:
        values = set(values)
        return self.test(lambda v: v in values)

    def values(self, rows: Any = None) -> np.ndarray:
        """The value of every row, or of ``rows`` (a mask or positions), as objects."""
        return self.table.take(self.codes if rows is None else self.codes[rows])

    def text(self, rows: Any) -> np.ndarray:
        """``values(rows)`` as text (for the problem report)."""
        return self.per_entry(str).take(self.codes[rows])

    def categorical(self, rows: Any) -> pd.Categorical:
        """The values of ``rows`` as a categorical (a missing value, None or NaN, as NaN)."""
        missing = np.array([v is None or v != v for v in self.table], dtype=bool)
        codes, uniques = pd.factorize(objects(list(self.table[~missing])))
        entry = np.full(len(self.table), -1, dtype=np.intp)
        entry[~missing] = codes
        return pd.Categorical.from_codes(entry.take(self.codes[rows]), objects(list(uniques)))

    def positions(self, index: pd.Index) -> np.ndarray:
        """Each row's position in ``index`` (unique labels), -1 where it is not there."""
        return index.get_indexer(pd.Index(self.table, dtype=object)).take(self.codes)


def objects(values: list) -> np.ndarray:
    """``values`` as a one-dimensional array of objects (tuples and all stay whole)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def at(values: Any, positions: np.ndarray, fill: Any) -> np.ndarray:
    """``values[positions]``, with ``fill`` where the position is -1 (not found)."""
    values = np.asarray(values)
    if values.dtype == object:
        dtype = object
    else:
        dtype = np.result_type(values.dtype, np.asarray(fill).dtype)
    padded = np.empty(len(values) + 1, dtype=dtype)
    padded[:-1] = values
    padded[-1] = fill  # position -1 is the last entry
    return padded.take(positions)


def combine(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A code for each row's pair of non-negative codes ``(a, b)`` (the same pair, the
    same code, from 0), and each code's ``a`` and ``b``."""
    width = int(b.max()) + 1 if len(b) else 1
    key = a.astype(np.int64) * width + b
    size = (int(a.max()) + 1 if len(a) else 1) * width
    if size <= max(4 * len(key), 1 << 16):
        # Few possible pairs: mark those present, without hashing.
        present = np.zeros(size, dtype=bool)
        present[key] = True
        pairs = np.flatnonzero(present)
        codes = (np.cumsum(present) - 1).take(key)
    else:
        codes, pairs = pd.factorize(key)
    return codes, pairs // width, pairs % width


class Errors:
    """The errors found so far, a block of rows per check, listed by :meth:`frame`."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str, values: Coded, message: Any) -> None:
        """An error for each row under ``mask``: ``message`` is one text for all, or one
        per row under the mask (in row order)."""
        if not mask.any():
            return
        self.parts.append(
            pd.DataFrame(
                {
                    ROW: self.rows[mask],
                    "column": column,
                    "value": values.text(mask),
                    "message": message if isinstance(message, str) else objects(list(message)),
                }
            )
        )

    def frame(self, header: list[str]) -> pd.DataFrame:
        """Every error, by row and, within a row, in the order of the file's columns."""
        if not self.parts:
            return pd.DataFrame(columns=ERROR_COLUMNS)
        errors = pd.concat(self.parts, ignore_index=True)
        place = {name: i for i, name in enumerate(header)}
        position = errors["column"].map(place).fillna(len(place))
        order = np.lexsort((position.to_numpy(), errors[ROW].to_numpy()))
        return errors.take(order).reset_index(drop=True)

"""Rounding to 2 decimals on the *decimal* value, with a methodology-chosen tie rule.

Scores and averages are published to 2 dp. Floating point cannot hold most 2-dp numbers
exactly (the double nearest 2.885 is 2.88499999999999979...), so rounding the binary value
makes exact decimal ties go either way at random. We round the decimal value instead:
scale to hundredths, snap to 6 decimals to remove binary noise (anything within 1e-6 of a
hundredth of a tie *is* a tie), then break ties by the methodology's rule:

* ``half_up`` (default): 2.885 -> 2.89, 1.125 -> 1.13, like Excel's ``ROUND``. This is
  what NHS England's published files show: every score and average of the mental health
  and community trusts of 2025/26 (Q1-Q4) is reproduced by half-up rounding of the exact
  value, and the shipped methodologies set it.
* ``half_even``: 2.885 -> 2.88, 1.525 -> 1.52, what Python, NumPy, R and IEEE 754 default
  to. Kept as a methodology setting (data, not code).

All values handled are scores and averages in [0, 4], so "up" means "away from zero".
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_ROUNDING",
    "EPS_HUNDREDTHS",
    "ROUNDING_MODES",
    "divide_round",
    "hundredths",
    "round2",
    "round_hundredths",
]

ROUNDING_MODES = ("half_even", "half_up")
DEFAULT_ROUNDING = "half_up"

#: Tolerance (in hundredths) used when snapping and comparing 2-dp numbers.
EPS_HUNDREDTHS = 1e-6


def _check(mode: str) -> None:
    if mode not in ROUNDING_MODES:
        raise ValueError(f"rounding must be one of {', '.join(ROUNDING_MODES)}, got {mode!r}")


def round_hundredths(x, mode: str = DEFAULT_ROUNDING):
    """Round a value already expressed in hundredths to a whole number of hundredths.

    Scalars and arrays; NaN stays NaN; returns floats.
    """
    _check(mode)
    arr = np.round(np.asarray(x, dtype=np.float64), 6)
    out = np.rint(arr) if mode == "half_even" else np.floor(arr + 0.5)
    return out if out.ndim else float(out)


def round2(x, mode: str = DEFAULT_ROUNDING):
    """Round to 2 decimals on the decimal value (``round2(2.885) == 2.89``; half_even 2.88)."""
    out = round_hundredths(np.asarray(x, dtype=np.float64) * 100.0, mode) / 100.0
    return out if np.ndim(out) else float(out)


def hundredths(x):
    """A 2-dp number (or array) as a whole number of hundredths (floats, NaN preserved)."""
    return round_hundredths(np.asarray(x, dtype=np.float64) * 100.0)


def divide_round(num: np.ndarray, den, mode: str = DEFAULT_ROUNDING) -> np.ndarray:
    """``num / den`` rounded to an integer with the tie rule, in exact integer arithmetic.

    ``num`` and ``den`` are integer arrays (``den > 0``); used by the bootstrap, whose sums
    of scores in hundredths are exact integers.
    """
    _check(mode)
    q, r = np.divmod(num, den)
    twice = 2 * r
    up = twice > den
    if mode == "half_even":
        up |= (twice == den) & (q % 2 == 1)
    else:
        up |= twice == den
    return q + up

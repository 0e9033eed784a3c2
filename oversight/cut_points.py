"""Cut points and fixed thresholds, kept exactly as given.

NHS England's quartile boundaries fall between hundredths (e.g. 2.325), so a cut point is
read as a decimal (never through a float), stored to :data:`PLACES` decimal places, and
refused, with a message naming it, when it carries more precision than that. Shown, it
has at least two decimal places and at most four, without trailing zeros beyond the
second: 2.325 shows as 2.325, 2.05 as 2.05, 2 as 2.00.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from core.errors import ApplicationError

__all__ = [
    "HIGHEST",
    "LOWEST",
    "PLACES",
    "CutPointError",
    "exact",
    "format_cut_point",
    "format_cut_points",
    "parse_cut_point",
    "parse_cut_points",
]

#: Decimal places kept for cut points and thresholds (the database columns hold 4).
PLACES = 4
QUANTUM = Decimal(1).scaleb(-PLACES)
LOWEST = Decimal(1)
HIGHEST = Decimal(4)


class CutPointError(ApplicationError, ValueError):
    """Cut points or thresholds that cannot be kept as given."""


def _text(value: object) -> str:
    # A float's repr is the shortest text that reads back as the same float: 2.325, not
    # 2.32499999999999995559107901499.
    return repr(value) if isinstance(value, float) else str(value).strip()


def parse_cut_point(value: object) -> Decimal:
    """One cut point as an exact decimal; refused (CutPointError) when it is not a finite
    number or has more than :data:`PLACES` decimal places."""
    text = _text(value)
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise CutPointError(
            f"{text or '(blank)'} is not a number; give numbers like 2.325."
        ) from None
    if not number.is_finite():
        raise CutPointError(f"{text} is not a number; give numbers like 2.325.")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PLACES:
        raise CutPointError(
            f"{text} has more than {PLACES} decimal places; give at most {PLACES} "
            "(values are kept exactly as given, never rounded)."
        )
    return number


def parse_cut_points(values: Iterable[object], what: str = "Cut points") -> tuple[Decimal, ...]:
    """Three exact decimals t1 < t2 < t3 within 1 to 4, else CutPointError naming the value
    at fault. ``what`` names them in the messages ("Cut points", "Thresholds")."""
    given = list(values)
    if len(given) != 3:
        raise CutPointError(f"{what}: expected three numbers T1 T2 T3; got {len(given)}.")
    numbers = tuple(parse_cut_point(v) for v in given)
    for text, number in zip(given, numbers, strict=True):
        if not LOWEST <= number <= HIGHEST:
            raise CutPointError(f"{what} must lie within 1 to 4; {_text(text)} does not.")
    if not numbers[0] < numbers[1] < numbers[2]:
        shown = ", ".join(_text(v) for v in given)
        raise CutPointError(f"{what} must rise strictly (T1 < T2 < T3); got {shown}.")
    return numbers


def exact(value: object) -> Decimal | None:
    """A stored or applied cut point as a decimal of :data:`PLACES` places (None stays
    None); a float is read through its shortest text, so binary noise is dropped."""
    if value is None:
        return None
    return Decimal(_text(value)).quantize(QUANTUM)


def format_cut_point(value: object) -> str:
    """2.325 -> "2.325", 2.05 -> "2.05", 2 -> "2.00", 2.3375 -> "2.3375"; None -> ""."""
    number = exact(value)
    if number is None:
        return ""
    text = f"{number:.{PLACES}f}"
    whole, _, places = text.partition(".")
    places = places.rstrip("0").ljust(2, "0")
    return f"{whole}.{places}"


def format_cut_points(values: Iterable[object] | None) -> str:
    """Three cut points as "2.05, 2.325, 2.62" ("" when there are none)."""
    return ", ".join(format_cut_point(v) for v in values) if values else ""

"""Earned autonomy: is an organisation eligible for a freedom, criterion by criterion.

Pure Python (no Django): a freedom's criteria are data (``FreedomSpec.criteria``), the
organisation's situation is :class:`Facts`, and :func:`evaluate` returns every criterion
with its value, what was required and whether it passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CRITERIA = {
    "max_adjusted_segment",
    "consecutive_periods",
    "max_final_segment",
    "not_in_deficit",
    "not_in_programme",
    "cqc_overall_in",
    "max_capability_overall",
    "max_icb_segment",
    "icb_unsegmented_passes",
    "holds",
    "min_system_maturity",
    "max_own_segment",
}
REVOKE_AT_ONCE = {"programme", "financial_override"}
MATURITY = ("emerging", "developing", "maturing", "thriving")


class FreedomError(ValueError):
    pass


@dataclass(frozen=True)
class FreedomSpec:
    slug: str
    name: str
    applies_to: str  # "provider" or "icb"
    grant: str  # "automatic", "confirmation" or "computed"
    criteria: Mapping[str, Any] = field(default_factory=dict)
    revoke_at_once_on: tuple[str, ...] = ("programme", "financial_override")

    def __post_init__(self) -> None:
        unknown = set(self.criteria) - CRITERIA
        if unknown:
            raise FreedomError(f"{self.slug}: unknown criteria {', '.join(sorted(unknown))}")
        if self.applies_to not in ("provider", "icb"):
            raise FreedomError(f"{self.slug}: applies_to must be provider or icb")
        if self.grant not in ("automatic", "confirmation", "computed"):
            raise FreedomError(f"{self.slug}: grant must be automatic, confirmation or computed")
        bad = set(self.revoke_at_once_on) - REVOKE_AT_ONCE
        if bad:
            raise FreedomError(f"{self.slug}: revoke_at_once_on takes {sorted(REVOKE_AT_ONCE)}")


@dataclass(frozen=True)
class Facts:
    """What is known of one organisation after a run. Segments run latest first; ``None``
    where the organisation was not segmented in that period."""

    code: str
    kind: str  # "provider" or "icb"
    adjusted_segments: Sequence[int | None] = ()
    final_segment: int | None = None
    in_programme: bool = False
    financial_override: bool = False
    cqc_overall: str | None = None
    capability_overall: int | None = None
    icb_segment: int | None = None
    holds: frozenset[str] = frozenset()
    system_maturity: str | None = None


@dataclass(frozen=True)
class Criterion:
    name: str
    value: Any
    required: Any
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "required": self.required,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Evaluation:
    eligible: bool
    criteria: tuple[Criterion, ...]
    revoke_at_once: str = ""  # the reason a holder loses it now, not after a second run

    @property
    def failing(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.passed]


def evaluate(spec: FreedomSpec, facts: Facts) -> Evaluation:
    """Every criterion of ``spec`` for ``facts``; eligible when all pass."""
    out = [criterion for check in _CHECKS if (criterion := check(spec.criteria, facts)) is not None]
    revoke = ""
    if "programme" in spec.revoke_at_once_on and facts.in_programme:
        revoke = "entered the Provider Improvement Programme"
    elif "financial_override" in spec.revoke_at_once_on and facts.financial_override:
        revoke = "financial override (in deficit or receiving deficit support)"
    return Evaluation(all(x.passed for x in out), tuple(out), revoke)


# One check per criterion: the Criterion when the freedom sets it, else None.


def _adjusted_segment(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "max_adjusted_segment" not in c:
        return None
    periods = int(c.get("consecutive_periods", 1))
    recent = list(facts.adjusted_segments[:periods])
    ok = len(recent) == periods and all(
        s is not None and s <= c["max_adjusted_segment"] for s in recent
    )
    return Criterion(
        f"adjusted segment in each of the last {periods} period(s)",
        recent,
        f"≤ {c['max_adjusted_segment']}",
        ok,
    )


def _final_segment(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "max_final_segment" not in c:
        return None
    s = facts.final_segment
    return Criterion(
        "segment",
        s,
        f"≤ {c['max_final_segment']}",
        s is not None and s <= c["max_final_segment"],
    )


def _own_segment(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "max_own_segment" not in c:
        return None
    s = facts.icb_segment
    return Criterion(
        "ICB segment",
        s,
        f"≤ {c['max_own_segment']}",
        s is not None and s <= c["max_own_segment"],
    )


def _not_in_deficit(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if not c.get("not_in_deficit"):
        return None
    return Criterion(
        "in deficit (financial override)",
        facts.financial_override,
        False,
        not facts.financial_override,
    )


def _not_in_programme(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if not c.get("not_in_programme"):
        return None
    return Criterion(
        "in the Provider Improvement Programme",
        facts.in_programme,
        False,
        not facts.in_programme,
    )


def _cqc_overall(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "cqc_overall_in" not in c:
        return None
    allowed = list(c["cqc_overall_in"])
    return Criterion(
        "CQC overall rating",
        facts.cqc_overall,
        " or ".join(allowed),
        facts.cqc_overall in allowed,
    )


def _capability(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "max_capability_overall" not in c:
        return None
    level = facts.capability_overall
    return Criterion(
        "capability (overall, region's view)",
        level,
        f"≤ {c['max_capability_overall']}",
        level is not None and level <= c["max_capability_overall"],
    )


def _icb_segment(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "max_icb_segment" not in c:
        return None
    s = facts.icb_segment
    unsegmented_ok = bool(c.get("icb_unsegmented_passes", False))
    return Criterion(
        "host ICB's segment",
        s,
        f"≤ {c['max_icb_segment']}" + (" or not segmented" if unsegmented_ok else ""),
        (s is None and unsegmented_ok) or (s is not None and s <= c["max_icb_segment"]),
    )


def _holds(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "holds" not in c:
        return None
    held = c["holds"] in facts.holds
    return Criterion(f"holds {c['holds']}", held, True, held)


def _system_maturity(c: Mapping[str, Any], facts: Facts) -> Criterion | None:
    if "min_system_maturity" not in c:
        return None
    need = c["min_system_maturity"]
    have = facts.system_maturity
    ok = have in MATURITY and MATURITY.index(have) >= MATURITY.index(need)
    return Criterion("system maturity", have, f"{need} or above", ok)


#: In the order the criteria are listed.
_CHECKS = (
    _adjusted_segment,
    _final_segment,
    _own_segment,
    _not_in_deficit,
    _not_in_programme,
    _cqc_overall,
    _capability,
    _icb_segment,
    _holds,
    _system_maturity,
)

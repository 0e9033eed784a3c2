"""Methodologies and metric definitions as validated, immutable data.

A methodology (``nof-2025-26``, ``nof-2026-27``) is a YAML/JSON document; this module turns
it into :class:`MethodologySpec` / :class:`MetricSpec` objects, refusing bad data with a
message that names the field or metric at fault (every problem found, not just the first).

Pure Python: no Django, no pandas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import yaml

from .metric_spec import (
    DIRECTIONS,
    METHODS,
    METRIC_FIELDS,
    POOLS,
    MetricSpec,
    is_int,
    parse_metrics,
    parse_number,
)
from .rounding import DEFAULT_ROUNDING, ROUNDING_MODES

__all__ = [
    "DIRECTIONS",
    "METHODOLOGIES_DIR",
    "METHODS",
    "METRIC_FIELDS",
    "POOLS",
    "MethodologyError",
    "MethodologyNotReady",
    "MethodologySpec",
    "MetricSpec",
    "builtin_methodology_path",
    "load_methodology_file",
]

SEGMENTATION_METHODS = ("quartiles", "fixed")
#: Decimal places a fixed threshold may carry (what the database keeps exactly).
THRESHOLD_PLACES = 4


def _places(number: float) -> int:
    """Decimal places of ``number`` as written (its shortest text): 2.325 -> 3."""
    exponent = Decimal(repr(float(number))).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


QUARTILE_POOLS = ("national", "peer_group")

#: Where the methodology files shipped with the product live.
METHODOLOGIES_DIR = Path(__file__).resolve().parent.parent / "methodologies"


class MethodologyError(ValueError):
    """A methodology document is invalid. ``errors`` lists every problem found."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors or [message]


class MethodologyNotReady(MethodologyError):
    """The methodology cannot segment yet (fixed thresholds unset and no pinned cut points)."""


@dataclass(frozen=True)
class MethodologySpec:
    """A versioned rule set; every period is assessed under exactly one."""

    slug: str
    name: str
    segmentation_method: str
    thresholds: tuple[float, float, float] | None
    quartile_pool: str
    min_metric_count: int
    segmented_peer_groups: tuple[str, ...]
    override_cap: int
    derive_override_from: str | None
    rating_lookback_days: int
    replicates: int
    metrics: tuple[MetricSpec, ...]
    domains: tuple[str, ...]
    # Descriptive fields carried by the methodology file (optional, default-valued).
    version: int = 1
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    peer_groups: tuple[str, ...] = ()
    description: str = ""
    rounding: str = DEFAULT_ROUNDING  # tie rule for 2-dp rounding: "half_even" | "half_up"

    # -- look-ups -------------------------------------------------------------------------
    def metric(self, score_id: str) -> MetricSpec:
        for m in self.metrics:
            if m.score_id == score_id:
                return m
        raise KeyError(score_id)

    def metrics_for(self, peer_group: str) -> tuple[MetricSpec, ...]:
        return tuple(m for m in self.metrics if m.applies_to(peer_group))

    # -- (de)serialisation ----------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MethodologySpec:
        """Validate a methodology document (the YAML format) and build the spec.

        Raises :class:`MethodologyError` listing every problem, each naming its field or
        metric.
        """
        return _Parser(data).parse()

    def to_dict(self) -> dict[str, Any]:
        """The methodology document; ``from_dict(spec.to_dict()) == spec``."""
        return {
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "rounding": self.rounding,
            "segmentation": {
                "method": self.segmentation_method,
                "quartile_pool": self.quartile_pool,
                "thresholds": list(self.thresholds) if self.thresholds is not None else None,
                "min_metric_count": self.min_metric_count,
                "segmented_peer_groups": list(self.segmented_peer_groups),
                "override_cap": self.override_cap,
                "derive_override_from": self.derive_override_from,
                "rating_lookback_days": self.rating_lookback_days,
                "replicates": self.replicates,
            },
            "domains": list(self.domains),
            "peer_groups": list(self.peer_groups),
            "metrics": [m.to_dict() for m in self.metrics],
        }


def load_methodology_file(path: str | Path) -> MethodologySpec:
    """Read a methodology YAML (or JSON) file and validate it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MethodologyError(f"Cannot read methodology file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MethodologyError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise MethodologyError(f"{path}: expected a mapping at the top level")
    try:
        return MethodologySpec.from_dict(data)
    except MethodologyError as exc:
        raise MethodologyError(f"{path}: {exc}", exc.errors) from exc


def builtin_methodology_path(slug: str) -> Path:
    """Path of a methodology file shipped in ``oversight/methodologies/``."""
    return METHODOLOGIES_DIR / f"{slug}.yaml"


# ---------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------

_TOP_KEYS = {
    "slug",
    "name",
    "description",
    "version",
    "effective_from",
    "effective_to",
    "segmentation",
    "domains",
    "peer_groups",
    "metrics",
    "rounding",
}
_SEG_KEYS = {
    "method",
    "quartile_pool",
    "thresholds",
    "min_metric_count",
    "segmented_peer_groups",
    "override_cap",
    "derive_override_from",
    "rating_lookback_days",
    "replicates",
}
_SEG_DEFAULTS = {
    "method": "quartiles",
    "quartile_pool": "national",
    "thresholds": None,
    "min_metric_count": 1,
    "segmented_peer_groups": None,
    "override_cap": 3,
    "derive_override_from": None,
    "rating_lookback_days": 730,
    "replicates": 1000,
}


class _Parser:
    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.errors: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)

    def parse(self) -> MethodologySpec:
        data = self.data
        if not isinstance(data, Mapping):
            raise MethodologyError("methodology: expected a mapping")
        unknown = sorted(set(map(str, data)) - _TOP_KEYS)
        if unknown:
            self.error(f"methodology: unknown field(s) {', '.join(unknown)}")

        slug = self._string(data.get("slug"), "slug")
        name = self._string(data.get("name"), "name")
        description = data.get("description") or ""
        if not isinstance(description, str):
            self.error("description: must be text")
            description = ""
        version = data.get("version", 1)
        if not is_int(version) or version < 1:
            self.error(f"version: must be a positive integer, got {version!r}")
            version = 1
        effective_from = self._date(data.get("effective_from"), "effective_from")
        effective_to = self._date(data.get("effective_to"), "effective_to")
        if effective_from and effective_to and effective_to < effective_from:
            self.error("effective_to: is before effective_from")

        rounding = data.get("rounding") or DEFAULT_ROUNDING
        if rounding not in ROUNDING_MODES:
            self.error(f"rounding: must be one of {', '.join(ROUNDING_MODES)}, got {rounding!r}")
            rounding = DEFAULT_ROUNDING
        domains = self._string_list(data.get("domains"), "domains", required=True)
        peer_groups = self._string_list(data.get("peer_groups"), "peer_groups", required=False)
        metrics = parse_metrics(data.get("metrics"), set(domains), set(peer_groups), self.error)
        if not peer_groups:
            seen: dict[str, None] = {}
            for m in metrics:
                seen.update(dict.fromkeys(m.peer_groups))
            peer_groups = tuple(seen)

        seg = self._segmentation(data.get("segmentation"), metrics, peer_groups)

        if self.errors:
            label = f"methodology {slug!r}" if slug else "methodology"
            raise MethodologyError(
                f"Invalid {label}:\n  - " + "\n  - ".join(self.errors), list(self.errors)
            )
        return MethodologySpec(
            slug=slug,
            name=name,
            description=description,
            version=version,
            effective_from=effective_from,
            effective_to=effective_to,
            domains=domains,
            peer_groups=peer_groups,
            metrics=metrics,
            rounding=rounding,
            **seg,
        )

    # -- pieces ---------------------------------------------------------------------------
    def _string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.error(f"{where}: required text, got {value!r}")
            return ""
        return value.strip()

    def _date(self, value: Any, where: str) -> dt.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(f"{where}: expected a date like 2025-04-01, got {value!r}")
        return None

    def _string_list(self, value: Any, where: str, *, required: bool) -> tuple[str, ...]:
        if value is None:
            if required:
                self.error(f"{where}: required list")
            return ()
        if isinstance(value, str) or not isinstance(value, list | tuple):
            self.error(f"{where}: expected a list, got {value!r}")
            return ()
        out: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item.strip():
                self.error(f"{where}: every item must be non-empty text, got {item!r}")
                continue
            if item.strip() in out:
                self.error(f"{where}: {item!r} is listed twice")
                continue
            out.append(item.strip())
        if required and not out:
            self.error(f"{where}: must not be empty")
        return tuple(out)

    def _segmentation(
        self, value: Any, metrics: tuple[MetricSpec, ...], peer_groups: tuple[str, ...]
    ) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            self.error(f"segmentation: expected a mapping, got {value!r}")
            value = {}
        unknown = sorted(set(map(str, value)) - _SEG_KEYS)
        if unknown:
            self.error(f"segmentation: unknown field(s) {', '.join(unknown)}")
        seg = {**_SEG_DEFAULTS, **{k: v for k, v in value.items() if v is not None}}
        if "thresholds" in value:
            seg["thresholds"] = value["thresholds"]

        method = seg["method"]
        if method not in SEGMENTATION_METHODS:
            self.error(
                f"segmentation.method: must be one of {', '.join(SEGMENTATION_METHODS)}, "
                f"got {method!r}"
            )
        pool = seg["quartile_pool"]
        if pool not in QUARTILE_POOLS:
            self.error(
                f"segmentation.quartile_pool: must be one of {', '.join(QUARTILE_POOLS)}, "
                f"got {pool!r}"
            )
        thresholds = self._thresholds(seg["thresholds"])
        min_count = self._seg_integer(seg, "min_metric_count", 1)
        segmented = self._segmented_peer_groups(seg["segmented_peer_groups"], peer_groups)
        cap = self._seg_integer(seg, "override_cap", 1, 4)
        derive = self._derive_override_from(seg["derive_override_from"] or None, metrics)
        lookback = self._seg_integer(seg, "rating_lookback_days", 0)
        replicates = self._seg_integer(seg, "replicates", 0)

        return {
            "segmentation_method": method,
            "thresholds": thresholds,
            "quartile_pool": pool,
            "min_metric_count": min_count,
            "segmented_peer_groups": segmented,
            "override_cap": cap,
            "derive_override_from": derive,
            "rating_lookback_days": lookback,
            "replicates": replicates,
        }

    def _thresholds(self, thresholds: Any) -> tuple[float, float, float] | None:
        if thresholds is None:
            return None
        parsed = (
            [parse_number(t) for t in thresholds] if isinstance(thresholds, list | tuple) else []
        )
        nums = [n for n in parsed if n is not None]
        if len(parsed) != 3 or len(nums) != 3:
            self.error(
                "segmentation.thresholds: expected three numbers [t1, t2, t3] or null, "
                f"got {thresholds!r}"
            )
        elif not (1 <= nums[0] <= nums[1] <= nums[2] <= 4):
            self.error(
                "segmentation.thresholds: must satisfy 1 <= t1 <= t2 <= t3 <= 4, "
                f"got {thresholds!r}"
            )
        elif any(_places(n) > THRESHOLD_PLACES for n in nums):
            # Kept exactly as given: what cannot be stored exactly is refused, not rounded.
            self.error(
                f"segmentation.thresholds: at most {THRESHOLD_PLACES} decimal places, "
                f"got {thresholds!r}"
            )
        else:
            return (nums[0], nums[1], nums[2])
        return None

    def _seg_integer(
        self, seg: Mapping[str, Any], key: str, lowest: int, highest: int | None = None
    ) -> int:
        """``seg[key]`` when a whole number in range, else its default (with an error)."""
        value = seg[key]
        if is_int(value) and lowest <= value and (highest is None or value <= highest):
            return value
        expected = f">= {lowest}" if highest is None else f"{lowest}-{highest}"
        self.error(f"segmentation.{key}: must be an integer {expected}, got {value!r}")
        return cast(int, _SEG_DEFAULTS[key])

    def _segmented_peer_groups(
        self, segmented: Any, peer_groups: tuple[str, ...]
    ) -> tuple[str, ...]:
        if segmented is None:
            return tuple(p for p in peer_groups if p != "icb")
        groups = self._string_list(segmented, "segmentation.segmented_peer_groups", required=False)
        missing = [p for p in groups if peer_groups and p not in peer_groups]
        if missing:
            self.error(
                "segmentation.segmented_peer_groups: not in peer_groups: " + ", ".join(missing)
            )
        return groups

    def _derive_override_from(self, derive: Any, metrics: tuple[MetricSpec, ...]) -> str | None:
        if derive is None:
            return None
        if not isinstance(derive, str) or not derive.strip():
            self.error(f"segmentation.derive_override_from: expected a metric id, got {derive!r}")
            return None
        derive = derive.strip()
        known = {m.value_id for m in metrics} | {m.score_id for m in metrics}
        if metrics and derive not in known:
            self.error(
                f"segmentation.derive_override_from: {derive} is not a metric "
                "value_id or score_id of this methodology"
            )
        return derive

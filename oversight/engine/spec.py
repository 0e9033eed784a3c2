"""Methodologies and metric definitions as validated, immutable data.

A methodology (``nof-2025-26``, ``nof-2026-27``) is a YAML/JSON document; this module turns
it into :class:`MethodologySpec` / :class:`MetricSpec` objects, refusing bad data with a
message that names the field or metric at fault (every problem found, not just the first).

Pure Python: no Django, no pandas.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from .rounding import DEFAULT_ROUNDING, ROUNDING_MODES

__all__ = [
    "DIRECTIONS",
    "METHODOLOGIES_DIR",
    "METHODS",
    "POOLS",
    "MethodologyError",
    "MethodologyNotReady",
    "MethodologySpec",
    "MetricSpec",
    "builtin_methodology_path",
    "load_methodology_file",
]

METHODS = ("rank", "bands", "combined", "rating", "supplied", "contextual")
DIRECTIONS = ("higher", "lower")
POOLS = ("peer_group", "national")
SEGMENTATION_METHODS = ("quartiles", "fixed")
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
class MetricSpec:
    """One metric of a methodology's catalogue, keyed by the id its score is published under."""

    score_id: str
    value_id: str | None
    name: str
    domain: str
    sub_domain: str = ""
    units: str = ""
    direction: str | None = None
    method: str = "rank"
    params: Mapping[str, Any] = field(default_factory=dict)
    pool: str = "peer_group"
    peer_groups: tuple[str, ...] = ()
    weight: float = 1.0
    included_in_average: bool = True
    contextual: bool = False
    valid_range: tuple[float | None, float | None] | None = None

    def __hash__(self) -> int:  # params is a dict: hash the identifying fields
        return hash((self.score_id, self.value_id, self.method, self.weight))

    @property
    def input_id(self) -> str:
        """The ``metric_id`` under which this metric's value rows arrive.

        The value id when there is one; otherwise the score id (a CQC rating such as OF1067
        arrives as a text value under its own id).
        """
        return self.value_id or self.score_id

    @property
    def scored(self) -> bool:
        """False for contextual metrics, which are stored and shown but never scored."""
        return not self.contextual and self.method != "contextual"

    def applies_to(self, peer_group: str) -> bool:
        return peer_group in self.peer_groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "score_id": self.score_id,
            "value_id": self.value_id,
            "name": self.name,
            "domain": self.domain,
            "sub_domain": self.sub_domain,
            "units": self.units,
            "direction": self.direction,
            "method": self.method,
            "params": _plain(self.params),
            "pool": self.pool,
            "peer_groups": list(self.peer_groups),
            "weight": self.weight,
            "included_in_average": self.included_in_average,
            "contextual": self.contextual,
            "valid_range": list(self.valid_range) if self.valid_range else None,
        }


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
# A metric definition's fields, in order: the one list the database row, the API and the
# methodology file follow (a new setting is a new MetricSpec field, nothing else).
METRIC_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(MetricSpec))
_METRIC_KEYS = frozenset(METRIC_FIELDS)
_PARAM_KEYS = {
    "rank": {"standard", "floor"},
    "bands": {"cut_points"},
    "combined": {"plan", "variance", "plan_threshold", "step"},
    "rating": {"scale"},
    "supplied": set(),
    "contextual": set(),
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


def _plain(value: Any) -> Any:
    """Deep-copy mappings/sequences into plain dicts and lists (YAML/JSON friendly)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _parse_number(value: Any) -> float | None:
    """A finite number, or a fraction string like ``"1/3"``; None when neither."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            return None
        return number if math.isfinite(number) else None
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
        if not _is_int(version) or version < 1:
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
        metrics = self._metrics(data.get("metrics"), set(domains), set(peer_groups))
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
        nums = (
            [_parse_number(t) for t in thresholds] if isinstance(thresholds, list | tuple) else []
        )
        if len(nums) != 3 or any(n is None for n in nums):
            self.error(
                "segmentation.thresholds: expected three numbers [t1, t2, t3] or null, "
                f"got {thresholds!r}"
            )
        elif not (1 <= nums[0] <= nums[1] <= nums[2] <= 4):
            self.error(
                "segmentation.thresholds: must satisfy 1 <= t1 <= t2 <= t3 <= 4, "
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
        if _is_int(value) and lowest <= value and (highest is None or value <= highest):
            return value
        expected = f">= {lowest}" if highest is None else f"{lowest}-{highest}"
        self.error(f"segmentation.{key}: must be an integer {expected}, got {value!r}")
        return _SEG_DEFAULTS[key]

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

    def _metrics(
        self, value: Any, domains: set[str], peer_groups: set[str]
    ) -> tuple[MetricSpec, ...]:
        if not isinstance(value, list | tuple) or not value:
            self.error("metrics: required, a non-empty list")
            return ()
        metrics: list[MetricSpec] = []
        for i, item in enumerate(value):
            metric = self._metric(item, i, domains, peer_groups)
            if metric is not None:
                metrics.append(metric)

        by_score: dict[str, MetricSpec] = {}
        by_input: dict[str, str] = {}
        for m in metrics:
            if m.score_id in by_score:
                self.error(f"metric {m.score_id}: duplicate score_id")
                continue
            by_score[m.score_id] = m
            if m.input_id in by_input:
                self.error(
                    f"metric {m.score_id}: value id {m.input_id} is already used by "
                    f"metric {by_input[m.input_id]}"
                )
            by_input[m.input_id] = m.score_id
        for m in metrics:
            if m.value_id and m.value_id in by_score and m.value_id != m.score_id:
                self.error(
                    f"metric {m.score_id}: value_id {m.value_id} is another metric's score_id"
                )
            if m.method == "combined":
                for role in ("plan", "variance"):
                    ref = m.params.get(role)
                    if ref not in by_score:
                        self.error(
                            f"metric {m.score_id}: params.{role} {ref!r} is not a score_id "
                            "of this methodology"
                        )
                    elif ref == m.score_id:
                        self.error(f"metric {m.score_id}: params.{role} refers to itself")
                    elif by_score[ref].method == "combined":
                        self.error(f"metric {m.score_id}: params.{role} {ref} is itself combined")
        return tuple(metrics)

    def _metric(
        self, item: Any, index: int, domains: set[str], peer_groups: set[str]
    ) -> MetricSpec | None:
        if not isinstance(item, Mapping):
            self.error(f"metrics[{index}]: expected a mapping, got {item!r}")
            return None
        score_id = item.get("score_id")
        if not isinstance(score_id, str) or not score_id.strip():
            self.error(f"metrics[{index}]: score_id is required")
            return None
        score_id = score_id.strip()
        fail = _MetricProblems(self, f"metric {score_id}")

        unknown = sorted(set(map(str, item)) - _METRIC_KEYS)
        if unknown:
            fail(f"unknown field(s) {', '.join(unknown)}")
        value_id = _metric_value_id(item, fail)
        name, domain, sub_domain, units = _metric_labels(item, domains, fail)
        how = _metric_method(item, value_id, fail)
        if how is None:
            return None
        method, contextual, direction = how

        pool = item.get("pool", "peer_group")
        if pool not in POOLS:
            fail(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        groups = _metric_peer_groups(item.get("peer_groups"), peer_groups, fail)
        weight = _parse_number(item.get("weight", 1))
        if weight is None or weight <= 0:
            fail(
                f"weight must be a positive number or fraction like '1/3', got "
                f"{item.get('weight')!r}"
            )
            weight = 1.0
        included = item.get("included_in_average", True)
        if not isinstance(included, bool):
            fail(f"included_in_average must be true or false, got {included!r}")
            included = True

        params = item.get("params") or {}
        if not isinstance(params, Mapping):
            fail(f"params must be a mapping, got {params!r}")
            params = {}
        params = self._params(params, method, direction, fail)
        valid_range = _valid_range(item.get("valid_range"), fail)

        if fail.found:
            return None
        return MetricSpec(
            score_id=score_id,
            value_id=value_id,
            name=name,
            domain=domain,
            sub_domain=sub_domain,
            units=units,
            direction=direction,
            method=method,
            params=params,
            pool=pool,
            peer_groups=groups,
            weight=weight,
            included_in_average=included,
            contextual=contextual,
            valid_range=valid_range,
        )

    def _params(self, params: Mapping[str, Any], method: str, direction, fail) -> dict:
        unknown = sorted(set(map(str, params)) - _PARAM_KEYS[method])
        if unknown:
            fail(f"params for method {method} do not take {', '.join(unknown)}")
        out: dict[str, Any] = {}
        if method == "rank":
            for key in ("standard", "floor"):
                if params.get(key) is not None:
                    number = _parse_number(params[key])
                    if number is None:
                        fail(f"params.{key} must be a number, got {params[key]!r}")
                    else:
                        out[key] = number
            if "standard" in out and "floor" in out:
                fail("params may set a standard or a floor, not both")
        elif method == "bands":
            cuts = params.get("cut_points")
            nums = [_parse_number(c) for c in cuts] if isinstance(cuts, list | tuple) else []
            if len(nums) != 3 or any(n is None for n in nums):
                fail(f"method bands needs params.cut_points: [c1, c2, c3], got {cuts!r}")
            else:
                ordered = (
                    nums[0] >= nums[1] >= nums[2]
                    if direction == "higher"
                    else nums[0] <= nums[1] <= nums[2]
                )
                if not ordered:
                    fail(
                        "params.cut_points must run from the best band to the worst "
                        f"({'descending' if direction == 'higher' else 'ascending'} for "
                        f"direction {direction}), got {cuts!r}"
                    )
                out["cut_points"] = nums
        elif method == "combined":
            for role in ("plan", "variance"):
                ref = params.get(role)
                if not isinstance(ref, str) or not ref.strip():
                    fail(f"method combined needs params.{role} (a score_id)")
                else:
                    out[role] = ref.strip()
            for key, default in (("plan_threshold", 1.0), ("step", 1.0)):
                number = _parse_number(params.get(key, default))
                if number is None:
                    fail(f"params.{key} must be a number, got {params.get(key)!r}")
                else:
                    out[key] = number
        elif method == "rating":
            scale = params.get("scale")
            if not isinstance(scale, Mapping) or not scale:
                fail("method rating needs params.scale, e.g. {Outstanding: 1, Good: 2, ...}")
            else:
                parsed = {}
                for label, score in scale.items():
                    number = _parse_number(score)
                    if not isinstance(label, str) or number is None or not 1 <= number <= 4:
                        fail(f"params.scale: {label!r}: {score!r} must map text to 1-4")
                    else:
                        parsed[label.strip()] = number
                out["scale"] = parsed
        return out


class _MetricProblems:
    """Records a problem of one metric, named after it; remembers whether there was any."""

    def __init__(self, parser: _Parser, where: str):
        self.parser = parser
        self.where = where
        self.found = False

    def __call__(self, message: str) -> None:
        self.found = True
        self.parser.error(f"{self.where}: {message}")


def _metric_value_id(item: Mapping[str, Any], fail: _MetricProblems) -> str | None:
    value_id = item.get("value_id") or None  # "" (a blank form field) means none
    if value_id is not None and (not isinstance(value_id, str) or not value_id.strip()):
        fail(f"value_id must be text or null, got {value_id!r}")
        value_id = None
    return value_id.strip() if isinstance(value_id, str) else None


def _metric_labels(
    item: Mapping[str, Any], domains: set[str], fail: _MetricProblems
) -> tuple[str, Any, Any, Any]:
    """Name (stripped), domain, sub-domain and units."""
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        fail("name is required")
        name = ""
    domain = item.get("domain")
    if not isinstance(domain, str) or domain not in domains:
        fail(f"domain {domain!r} is not one of the methodology's domains")
    sub_domain = item.get("sub_domain") or ""
    units = item.get("units") or ""
    if not isinstance(sub_domain, str) or not isinstance(units, str):
        fail("sub_domain and units must be text")
    return name.strip(), domain, sub_domain, units


def _metric_method(
    item: Mapping[str, Any], value_id: str | None, fail: _MetricProblems
) -> tuple[str, bool, str | None] | None:
    """Method, contextual and direction, checked together; None for an unknown method."""
    method = item.get("method", "rank")
    if method not in METHODS:
        fail(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
        return None
    contextual = item.get("contextual", method == "contextual")
    if not isinstance(contextual, bool):
        fail(f"contextual must be true or false, got {contextual!r}")
        contextual = False
    if method == "contextual" and not contextual:
        fail("method contextual needs contextual: true")

    direction = item.get("direction") or None
    if direction is not None and direction not in DIRECTIONS:
        fail(f"direction must be higher, lower or null, got {direction!r}")
    if method in ("rank", "bands") and direction is None and not contextual:
        fail(f"method {method} needs a direction (higher or lower)")
    if method in ("rank", "bands") and value_id is None:
        fail(f"method {method} needs a value_id")
    return method, contextual, direction


def _metric_peer_groups(raw: Any, peer_groups: set[str], fail: _MetricProblems) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        fail("peer_groups: required, a non-empty list")
        return ()
    groups = tuple(str(g).strip() for g in raw)
    if len(set(groups)) != len(groups):
        fail("peer_groups lists a peer group twice")
    bad = [g for g in groups if peer_groups and g not in peer_groups]
    if bad:
        fail(f"peer_groups not in the methodology's peer_groups: {', '.join(bad)}")
    return groups


def _valid_range(raw: Any, fail: _MetricProblems) -> tuple[float | None, float | None] | None:
    if raw is None:
        return None
    bounds = (
        [None if b is None else _parse_number(b) for b in raw]
        if isinstance(raw, list | tuple) and len(raw) == 2
        else None
    )
    if bounds is None or any(b is None and r is not None for b, r in zip(bounds, raw, strict=True)):
        fail(f"valid_range must be [lowest, highest] (null for open), got {raw!r}")
    elif bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        fail(f"valid_range runs backwards: {raw!r}")
    else:
        return (bounds[0], bounds[1])
    return None

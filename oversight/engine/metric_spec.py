"""One metric of a methodology: its definition (:class:`MetricSpec`) and the checks that turn
a methodology document's ``metrics`` list into definitions, every problem named after its
metric.

Pure Python: no Django, no pandas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any

__all__ = [
    "DIRECTIONS",
    "METHODS",
    "METRIC_FIELDS",
    "POOLS",
    "MetricSpec",
    "is_int",
    "is_number",
    "parse_metrics",
    "parse_number",
    "plain",
]

METHODS = ("rank", "bands", "combined", "rating", "supplied", "contextual")
DIRECTIONS = ("higher", "lower")
POOLS = ("peer_group", "national")


def plain(value: Any) -> Any:
    """Deep-copy mappings/sequences into plain dicts and lists (YAML/JSON friendly)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def parse_number(value: Any) -> float | None:
    """A finite number, or a fraction string like ``"1/3"``; None when neither."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            return None
        return number if math.isfinite(number) else None
    return None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    # A nationally pooled value from a provider outside ``peer_groups`` (an acute trust
    # reporting a community metric) is always ranked in the pool; this says whether its
    # score also counts in that provider's own average.
    counts_outside_peer_groups: bool = False
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
            "params": plain(self.params),
            "pool": self.pool,
            "peer_groups": list(self.peer_groups),
            "weight": self.weight,
            "included_in_average": self.included_in_average,
            "counts_outside_peer_groups": self.counts_outside_peer_groups,
            "contextual": self.contextual,
            "valid_range": list(self.valid_range) if self.valid_range else None,
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


def parse_metrics(
    value: Any, domains: set[str], peer_groups: set[str], error: Callable[[str], None]
) -> tuple[MetricSpec, ...]:
    """The metrics of a methodology document; each problem is passed to ``error``."""
    if not isinstance(value, list | tuple) or not value:
        error("metrics: required, a non-empty list")
        return ()
    metrics: list[MetricSpec] = []
    for i, item in enumerate(value):
        metric = _metric(item, i, domains, peer_groups, error)
        if metric is not None:
            metrics.append(metric)

    by_score: dict[str, MetricSpec] = {}
    by_input: dict[str, str] = {}
    for m in metrics:
        if m.score_id in by_score:
            error(f"metric {m.score_id}: duplicate score_id")
            continue
        by_score[m.score_id] = m
        if m.input_id in by_input:
            error(
                f"metric {m.score_id}: value id {m.input_id} is already used by "
                f"metric {by_input[m.input_id]}"
            )
        by_input[m.input_id] = m.score_id
    for m in metrics:
        if m.value_id and m.value_id in by_score and m.value_id != m.score_id:
            error(f"metric {m.score_id}: value_id {m.value_id} is another metric's score_id")
        if m.method == "combined":
            for role in ("plan", "variance"):
                ref = m.params.get(role)
                if ref not in by_score:
                    error(
                        f"metric {m.score_id}: params.{role} {ref!r} is not a score_id "
                        "of this methodology"
                    )
                elif ref == m.score_id:
                    error(f"metric {m.score_id}: params.{role} refers to itself")
                elif by_score[ref].method == "combined":
                    error(f"metric {m.score_id}: params.{role} {ref} is itself combined")
    return tuple(metrics)


def _metric(
    item: Any, index: int, domains: set[str], peer_groups: set[str], error: Callable[[str], None]
) -> MetricSpec | None:
    if not isinstance(item, Mapping):
        error(f"metrics[{index}]: expected a mapping, got {item!r}")
        return None
    score_id = item.get("score_id")
    if not isinstance(score_id, str) or not score_id.strip():
        error(f"metrics[{index}]: score_id is required")
        return None
    score_id = score_id.strip()
    fail = MetricProblems(error, f"metric {score_id}")

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
    weight = parse_number(item.get("weight", 1))
    if weight is None or weight <= 0:
        fail(f"weight must be a positive number or fraction like '1/3', got {item.get('weight')!r}")
        weight = 1.0
    included = item.get("included_in_average", True)
    if not isinstance(included, bool):
        fail(f"included_in_average must be true or false, got {included!r}")
        included = True
    outside = item.get("counts_outside_peer_groups", False)
    if not isinstance(outside, bool):
        fail(f"counts_outside_peer_groups must be true or false, got {outside!r}")
        outside = False
    if outside and pool != "national":
        fail("counts_outside_peer_groups needs pool: national (only a national pool ranks them)")

    params = item.get("params") or {}
    if not isinstance(params, Mapping):
        fail(f"params must be a mapping, got {params!r}")
        params = {}
    params = _params(params, method, direction, fail)
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
        counts_outside_peer_groups=outside,
        contextual=contextual,
        valid_range=valid_range,
    )


def _params(
    params: Mapping[str, Any], method: str, direction: str | None, fail: MetricProblems
) -> dict[str, Any]:
    """The method's parameters, checked; a method with none takes none."""
    unknown = sorted(set(map(str, params)) - _PARAM_KEYS[method])
    if unknown:
        fail(f"params for method {method} do not take {', '.join(unknown)}")
    check = _PARAM_CHECKS.get(method)
    return check(params, direction, fail) if check else {}


def _rank_params(
    params: Mapping[str, Any], direction: str | None, fail: MetricProblems
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("standard", "floor"):
        if params.get(key) is not None:
            number = parse_number(params[key])
            if number is None:
                fail(f"params.{key} must be a number, got {params[key]!r}")
            else:
                out[key] = number
    if "standard" in out and "floor" in out:
        fail("params may set a standard or a floor, not both")
    return out


def _bands_params(
    params: Mapping[str, Any], direction: str | None, fail: MetricProblems
) -> dict[str, Any]:
    cuts = params.get("cut_points")
    parsed = [parse_number(c) for c in cuts] if isinstance(cuts, list | tuple) else []
    nums = [n for n in parsed if n is not None]
    if len(parsed) != 3 or len(nums) != 3:
        fail(f"method bands needs params.cut_points: [c1, c2, c3], got {cuts!r}")
        return {}
    ordered = (
        nums[0] >= nums[1] >= nums[2] if direction == "higher" else nums[0] <= nums[1] <= nums[2]
    )
    if not ordered:
        fail(
            "params.cut_points must run from the best band to the worst "
            f"({'descending' if direction == 'higher' else 'ascending'} for "
            f"direction {direction}), got {cuts!r}"
        )
    return {"cut_points": nums}


def _combined_params(
    params: Mapping[str, Any], direction: str | None, fail: MetricProblems
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role in ("plan", "variance"):
        ref = params.get(role)
        if not isinstance(ref, str) or not ref.strip():
            fail(f"method combined needs params.{role} (a score_id)")
        else:
            out[role] = ref.strip()
    for key, default in (("plan_threshold", 1.0), ("step", 1.0)):
        number = parse_number(params.get(key, default))
        if number is None:
            fail(f"params.{key} must be a number, got {params.get(key)!r}")
        else:
            out[key] = number
    return out


def _rating_params(
    params: Mapping[str, Any], direction: str | None, fail: MetricProblems
) -> dict[str, Any]:
    scale = params.get("scale")
    if not isinstance(scale, Mapping) or not scale:
        fail("method rating needs params.scale, e.g. {Outstanding: 1, Good: 2, ...}")
        return {}
    parsed: dict[str, float] = {}
    for label, score in scale.items():
        number = parse_number(score)
        if not isinstance(label, str) or number is None or not 1 <= number <= 4:
            fail(f"params.scale: {label!r}: {score!r} must map text to 1-4")
        else:
            parsed[label.strip()] = number
    return {"scale": parsed}


_PARAM_CHECKS: dict[
    str, Callable[[Mapping[str, Any], str | None, MetricProblems], dict[str, Any]]
] = {
    "rank": _rank_params,
    "bands": _bands_params,
    "combined": _combined_params,
    "rating": _rating_params,
}


class MetricProblems:
    """Records a problem of one metric, named after it; remembers whether there was any."""

    def __init__(self, error: Callable[[str], None], where: str):
        self.error = error
        self.where = where
        self.found = False

    def __call__(self, message: str) -> None:
        self.found = True
        self.error(f"{self.where}: {message}")


def _metric_value_id(item: Mapping[str, Any], fail: MetricProblems) -> str | None:
    value_id = item.get("value_id") or None  # "" (a blank form field) means none
    if value_id is not None and (not isinstance(value_id, str) or not value_id.strip()):
        fail(f"value_id must be text or null, got {value_id!r}")
        value_id = None
    return value_id.strip() if isinstance(value_id, str) else None


def _metric_labels(
    item: Mapping[str, Any], domains: set[str], fail: MetricProblems
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
    item: Mapping[str, Any], value_id: str | None, fail: MetricProblems
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


def _metric_peer_groups(raw: Any, peer_groups: set[str], fail: MetricProblems) -> tuple[str, ...]:
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


def _valid_range(raw: Any, fail: MetricProblems) -> tuple[float | None, float | None] | None:
    if raw is None:
        return None
    bounds = (
        [None if b is None else parse_number(b) for b in raw]
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

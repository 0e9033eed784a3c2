"""New metrics read from an NHS England data file: the definitions of the metric ids a
methodology's catalogue does not know, taken from the file's own columns.

A new year's file carries metrics the catalogue has not met yet. Each is added as a
*supplied score* (NHS England publishes its score, ``OF1xxx``; the score is used as it is
and never recomputed); a value id in the file (``OF0xxx``, the same three digits) is
recorded as the metric's value id, stored but not scored. The description, domain,
sub-domain and units come from the rows, and the peer groups from the ``Trust_type`` of
the rows carrying the score. Anything missing or contradictory is a problem naming the
file's row and column. Pure pandas: :mod:`.metric_additions` installs what this returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..metric_ids import (
    CQC_OVERALL_ID,
    OVERRIDE_FLAG_ID,
    PROGRAMME_ID,
    PUBLISHED_DOMAIN_RE,
    PUBLISHED_IDS,
)
from .checks import Reference, _period_slug
from .problems import Problem
from .readers import ROW

SCORE_ID_RE = re.compile(r"^OF1\d{3}$")
VALUE_ID_RE = re.compile(r"^OF0\d{3}$")
# NHS England's Trust_type, folded to lower case, and the peer group it is compared in.
TRUST_TYPE_PEER_GROUPS = {
    "acute trust": "acute",
    "acute": "acute",
    "mental health and community trust": "mental-health-and-community",
    "mental health and community": "mental-health-and-community",
    "ambulance trust": "ambulance",
    "ambulance": "ambulance",
    "integrated care board": "icb",
    "icb": "icb",
}
NOT_METRICS = frozenset({OVERRIDE_FLAG_ID, PROGRAMME_ID, CQC_OVERALL_ID, *PUBLISHED_IDS})
# The file's columns a definition is taken from: (definition field, column, required).
LABELS = (
    ("name", "Metric_description", True),
    ("domain", "Domain", True),
    ("sub_domain", "Sub-domain", False),
    ("units", "Units", False),
)


def peer_group_of(trust_type: str) -> str | None:
    """The peer group of NHS England's ``Trust_type`` (any case, singular or plural)."""
    folded = " ".join(trust_type.lower().split())
    return TRUST_TYPE_PEER_GROUPS.get(folded) or TRUST_TYPE_PEER_GROUPS.get(folded[:-1])


@dataclass
class NewMetrics:
    """The definitions (methodology-file entries) to add and the problems that stop them."""

    methodology: str
    definitions: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def score_ids(self) -> list[str]:
        return [d["score_id"] for d in self.definitions]


def new_metrics(
    raw: pd.DataFrame,
    reference: Reference,
    methodology: str,
    *,
    domains: list[str],
    peer_groups: list[str],
    filename: str = "",
) -> NewMetrics:
    """The metric ids of ``raw`` (an NHS England data file's text cells) that
    ``methodology``'s catalogue does not know, in the rows of its periods, as definitions."""
    result = NewMetrics(methodology)

    def problem(message: str, row: int | None = None, column: str = "", value: str = "") -> None:
        result.problems.append(Problem(message, row=row, column=column, value=value, file=filename))

    missing = [c for _, c, _ in LABELS if c not in raw.columns] + [
        c for c in ("Quarter", "Metric_ID", "Trust_type") if c not in raw.columns
    ]
    if missing:
        problem(f"To add metrics the file needs NHS England's columns {', '.join(missing)}.", row=1)
        return result
    cells = raw.astype(str).apply(lambda column: column.str.strip())
    cells["Metric_ID"] = cells["Metric_ID"].str.upper()
    periods = reference.periods
    slug = cells["Quarter"].map(_period_slug)
    ours = slug.map(periods["methodology"].to_dict()).eq(methodology)
    if not ours.any():
        labels = ", ".join(periods.loc[periods["methodology"].eq(methodology), "label"]) or "none"
        problem(
            f"No row of the file is for a period assessed under {methodology} ({labels}).",
            column="Quarter",
        )
        return result
    cells = cells[ours]
    known = set(
        reference.metrics.loc[reference.metrics["methodology"].eq(methodology), "metric_id"]
    )
    domain_re = re.compile(PUBLISHED_DOMAIN_RE)
    unknown = sorted(
        m
        for m in cells["Metric_ID"].unique()
        if m and m not in known and m not in NOT_METRICS and not domain_re.match(m)
    )
    values = {m for m in unknown if VALUE_ID_RE.match(m)}
    for metric in unknown:
        first = cells[cells["Metric_ID"].eq(metric)]
        where = (int(first[ROW].iloc[0]), "Metric_ID", metric)
        if VALUE_ID_RE.match(metric):
            score = "OF1" + metric[3:]
            if score not in unknown and score not in known:
                problem(
                    f"{metric} is a value id, but the file has no score {score} for it: a new "
                    "metric is added as a supplied score, so its OF1xxx score rows are needed.",
                    *where,
                )
            continue
        if not SCORE_ID_RE.match(metric):
            problem(
                f"{metric} is not an NHS England metric id: expected OF10xx (a score) or "
                "OF00xx (its value).",
                *where,
            )
            continue
        value_id = "OF0" + metric[3:]
        definition = _definition(
            metric,
            first,
            cells[cells["Metric_ID"].eq(value_id)] if value_id in values else None,
            domains,
            peer_groups,
            problem,
        )
        if definition is not None:
            definition["value_id"] = value_id if value_id in values else None
            result.definitions.append(definition)
    return result


def _definition(
    score_id: str,
    rows: pd.DataFrame,
    value_rows: pd.DataFrame | None,
    domains: list[str],
    peer_groups: list[str],
    problem: Any,
) -> dict[str, Any] | None:
    """The definition of ``score_id`` from its rows (its value's rows fill in a blank
    description, sub-domain or units), or ``None`` after naming each problem."""
    found: dict[str, str] = {}
    ok = True
    for name, column, required in LABELS:
        texts = [t for t in pd.unique(rows[column]) if t and t.lower() != "nan"]
        if not texts and value_rows is not None and name != "units":
            texts = [t for t in pd.unique(value_rows[column]) if t and t.lower() != "nan"]
        if len(texts) > 1:
            second = rows[rows[column].ne(texts[0]) & rows[column].ne("")]
            problem(
                f"{score_id} has more than one {column} in the file ('{texts[0]}' and "
                f"'{texts[1]}'); a metric has one.",
                int(second[ROW].iloc[0]),
                column,
                texts[1],
            )
            ok = False
            continue
        if not texts and required:
            problem(
                f"{score_id} has no {column}: a new metric needs its {column.lower()} to be added.",
                int(rows[ROW].iloc[0]),
                column,
                "",
            )
            ok = False
            continue
        found[name] = texts[0] if texts else ""
    if found.get("domain") and found["domain"] not in domains:
        at = rows[rows["Domain"].eq(found["domain"])]
        problem(
            f"{score_id}'s domain '{found['domain']}' is not one of the methodology's "
            f"domains: {', '.join(domains)}.",
            int(at[ROW].iloc[0]),
            "Domain",
            found["domain"],
        )
        ok = False
    groups = []
    for trust_type, at in rows.groupby("Trust_type", sort=False):
        group = peer_group_of(trust_type)
        if group is None or group not in peer_groups:
            expected = sorted(
                k.capitalize() for k, v in TRUST_TYPE_PEER_GROUPS.items() if v in peer_groups
            )
            problem(
                f"{score_id}: Trust_type '{trust_type}' is not a peer group of the "
                f"methodology; expected one of {', '.join(expected)}.",
                int(at[ROW].iloc[0]),
                "Trust_type",
                trust_type,
            )
            ok = False
            continue
        if group not in groups:
            groups.append(group)
    if not ok:
        return None
    return {
        "score_id": score_id,
        "name": found["name"],
        "domain": found["domain"],
        "sub_domain": found.get("sub_domain", ""),
        "units": found.get("units", ""),
        "method": "supplied",
        "peer_groups": [g for g in peer_groups if g in groups],
    }

"""Reads for uploads, for the reference data files are checked against and for the
comparison with NHS England's published results."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.db.models import QuerySet

from systems.authorization import is_national, visible_organisations
from systems.models import Organisation

from ..metric_ids import (
    CQC_OVERALL_ID,
    PUBLISHED_AVERAGE_HIGH_ID,
    PUBLISHED_AVERAGE_LOW_ID,
    PUBLISHED_DEFICIT_ID,
    PUBLISHED_RANK_HIGH_ID,
    PUBLISHED_RANK_ID,
    PUBLISHED_RANK_LOW_ID,
)
from ..models import (
    InputKind,
    MetricDefinition,
    MetricUpload,
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
)
from .checks import KIND_RATING, KIND_SCORE, KIND_VALUE, Reference

CQC_RATINGS = ("Outstanding", "Good", "Requires improvement", "Inadequate")

COMPARED = [
    # (field, label, published id)
    ("average_score", "Average score", "OF5002"),
    ("unadjusted_segment", "Unadjusted segment", "OF5003"),
    ("adjusted_segment", "Adjusted segment", "OF5000"),
    ("final_segment", "Final segment", "OF5005"),
    ("league_rank", "League-table rank", PUBLISHED_RANK_ID),
    ("financial_override", "Financial override (in deficit)", PUBLISHED_DEFICIT_ID),
]
# Shown beside ours, not compared (each side's bootstrap draws its own replicates):
# (name, label, low field, high field); the published ids of the fields below.
RANGES = [
    ("average_range", "Likely range of average score", "average_range_low", "average_range_high"),
    ("rank_range", "Likely range of rank", "rank_range_low", "rank_range_high"),
]
RANGE_IDS = {
    PUBLISHED_AVERAGE_LOW_ID: "average_range_low",
    PUBLISHED_AVERAGE_HIGH_ID: "average_range_high",
    PUBLISHED_RANK_LOW_ID: "rank_range_low",
    PUBLISHED_RANK_HIGH_ID: "rank_range_high",
}


def uploads_for(user: Any) -> QuerySet[MetricUpload]:
    """Uploads the user may see: all of them for national users, their own otherwise."""
    uploads = MetricUpload.objects.select_related("uploaded_by").order_by("-created_at", "-id")
    if is_national(user):
        return uploads
    if not getattr(user, "pk", None) or getattr(user, "api_token", None) is not None:
        return uploads.filter(uploaded_by_label=getattr(user, "username", ""), uploaded_by=None)
    return uploads.filter(uploaded_by=user)


def may_see_upload(user: Any, upload: MetricUpload) -> bool:
    """Whether ``user`` may open ``upload``'s page."""
    return uploads_for(user).filter(pk=upload.pk).exists()


def latest_period_with_published(periods: list[ReportingPeriod]) -> ReportingPeriod | None:
    with_published = set(
        MetricValue.objects.current()
        .filter(kind=InputKind.PUBLISHED)
        .values_list("period_id", flat=True)
        .distinct()
    )
    return next((p for p in periods if p.pk in with_published), periods[0] if periods else None)


@dataclass
class ComparedRow:
    code: str
    name: str
    peer_group: str
    ours: dict[str, Any]
    theirs: dict[str, Any]
    differences: list[str] = field(default_factory=list)

    @property
    def cells(self) -> list[tuple[str, Any, Any, bool]]:
        """(label, ours, published, differs) per compared value, averages to 2 dp, then
        the likely ranges (shown, not compared)."""
        return [
            (
                label,
                _shown(name, self.ours.get(name)),
                _shown(name, self.theirs.get(name)),
                name in self.differences,
            )
            for name, label, _ in COMPARED
        ] + [
            (label, _range(self.ours, low, high), _range(self.theirs, low, high), False)
            for _, label, low, high in RANGES
        ]


def _shown(name: str, value: Any) -> Any:
    if value is not None and name == "average_score":
        return f"{value:.2f}"
    if value is not None and name == "financial_override":
        return "Yes" if value else "No"
    return value


def _range(values: dict[str, Any], low: str, high: str) -> str | None:
    """A likely range written as NHS England writes it, 'a to b'."""
    a, b = values.get(low), values.get(high)
    if a is None or b is None:
        return None
    if low.startswith("rank"):
        return f"{int(a)} to {int(b)}"
    return f"{a:.2f} to {b:.2f}"


@dataclass
class Reconciliation:
    period: ReportingPeriod
    run_id: int | None
    rows: list[ComparedRow]

    @property
    def compared(self) -> list[ComparedRow]:
        return [r for r in self.rows if r.theirs]

    @property
    def differing(self) -> list[ComparedRow]:
        return [r for r in self.rows if r.differences]

    @property
    def has_published(self) -> bool:
        return any(r.theirs for r in self.rows)

    def as_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = ["org_code", "org_name", "peer_group"]
        for name, _, _ in COMPARED:
            header += [f"ours_{name}", f"published_{name}"]
        for name, _, _, _ in RANGES:
            header += [f"ours_{name}", f"published_{name}"]
        writer.writerow([*header, "differences"])
        for row in self.rows:
            line = [row.code, row.name, row.peer_group]
            for name, _, _ in COMPARED:
                line += [_blank(row.ours.get(name)), _blank(row.theirs.get(name))]
            for _, _, low, high in RANGES:
                line += [_blank(_range(row.ours, low, high)), _blank(_range(row.theirs, low, high))]
            writer.writerow([*line, "; ".join(row.differences)])
        return buffer.getvalue()


def _blank(value: Any) -> Any:
    return "" if value is None else value


def reconciliation(
    period: ReportingPeriod, user: Any = None, run_id: int | None = None
) -> Reconciliation:
    """Our results (the period's published run, or run ``run_id``) beside NHS England's
    published results, organisation by organisation; a difference is any compared value
    that is not equal (averages to 2 dp) or present on one side only."""
    published_ids = [pid for _, _, pid in COMPARED] + list(RANGE_IDS)
    theirs: dict[int, dict[str, Any]] = {}
    names: dict[int, tuple[str, str, str]] = {}
    for value in (
        MetricValue.objects.current()
        .filter(period=period, kind=InputKind.PUBLISHED, metric_id__in=published_ids)
        .select_related("organisation")
    ):
        org = value.organisation
        names[org.pk] = (org.code, org.name, org.peer_group)
        if value.metric_id in RANGE_IDS:
            theirs.setdefault(org.pk, {})[RANGE_IDS[value.metric_id]] = value.value
            continue
        field_name = next(n for n, _, pid in COMPARED if pid == value.metric_id)
        number = value.value or None  # NHS England writes 0 for "none"
        if field_name == "financial_override":
            number = None if value.value is None else bool(value.value)
        elif number is not None and field_name != "average_score":
            number = int(number)
        theirs.setdefault(org.pk, {})[field_name] = number
    ours: dict[int, dict[str, Any]] = {}
    run_id = run_id or period.current_run_id
    if run_id:
        for a in OrganisationAssessment.objects.filter(run_id=run_id).select_related(
            "organisation"
        ):
            if not a.segmented and a.organisation_id not in theirs:
                continue
            names[a.organisation_id] = (a.organisation.code, a.organisation.name, a.peer_group)
            ours[a.organisation_id] = {
                "average_score": a.average_score,
                "unadjusted_segment": a.unadjusted_segment,
                "adjusted_segment": a.adjusted_segment,
                "final_segment": a.final_segment,
                "league_rank": a.league_rank,
                "financial_override": a.financial_override,
                "average_range_low": a.average_range_low,
                "average_range_high": a.average_range_high,
                "rank_range_low": a.rank_range_low,
                "rank_range_high": a.rank_range_high,
            }
    rows = []
    for org_id, (code, name, peer_group) in names.items():
        mine, published = ours.get(org_id, {}), theirs.get(org_id, {})
        differences = []
        if published:
            for field_name, _, _ in COMPARED:
                if field_name not in published:
                    continue
                a, b = mine.get(field_name), published.get(field_name)
                if field_name == "average_score" and a is not None and b is not None:
                    same = round(a, 2) == round(b, 2)
                else:
                    same = a == b
                if not same:
                    differences.append(field_name)
        rows.append(ComparedRow(code, name, peer_group, mine, published, differences))
    if user is not None and not is_national(user):
        visible = set(visible_organisations(user).values_list("code", flat=True))
        rows = [r for r in rows if r.code in visible]
    rows.sort(key=lambda r: (not r.differences, r.peer_group, r.code))
    return Reconciliation(period=period, run_id=run_id, rows=rows)


# --- Reference data for the file checks -----------------------------------------------------


def _national_reach(definitions: list[MetricDefinition]) -> dict[int, tuple[str, ...]]:
    """The peer groups a nationally pooled metric's *value* is accepted from, by definition
    id: it is ranked among every provider reporting it, so any provider may send it (the
    peer groups the methodology's national metrics reach)."""
    national = [d for d in definitions if d.method == "rank" and d.pool == "national"]
    reach: dict[str, set[str]] = {}
    for d in national:
        reach.setdefault(d.methodology.slug, set()).update(d.peer_groups)
    return {
        d.pk: (*d.peer_groups, *sorted(reach[d.methodology.slug] - set(d.peer_groups)))
        for d in national
    }


def reference_data() -> Reference:
    """Organisations, periods and every methodology's catalogue, as plain tables."""
    org_fields = ["code", "id", "name", "peer_group", "region__short_name", "kind"]
    orgs = pd.DataFrame(
        list(Organisation.objects.values_list(*org_fields, "open_date", "close_date")),
        columns=["code", "id", "name", "peer_group", "region", "kind", "open_date", "close_date"],
    ).set_index("code")
    periods = pd.DataFrame(
        list(
            ReportingPeriod.objects.values_list(
                "slug", "id", "label", "start_date", "end_date", "methodology__slug"
            )
        ),
        columns=["slug", "id", "label", "start_date", "end_date", "methodology"],
    ).set_index("slug")
    metrics = []
    definitions = list(MetricDefinition.objects.select_related("methodology"))
    reach = _national_reach(definitions)  # a national value is accepted from any provider
    for m in definitions:
        common = {
            "methodology": m.methodology.slug,
            "peer_groups": reach.get(m.pk, tuple(m.peer_groups)),
            "valid_min": m.valid_min,
            "valid_max": m.valid_max,
            "ratings": (),
        }
        if m.method == "rating":
            scale = (m.params or {}).get("scale", {})
            labels = tuple(sorted(scale, key=lambda label: scale[label]))
            metrics.append(
                {**common, "metric_id": m.score_id, "kind": KIND_RATING, "ratings": labels}
            )
            continue
        if m.value_id:
            metrics.append({**common, "metric_id": m.value_id, "kind": KIND_VALUE})
        if m.method != "contextual":
            metrics.append(
                {
                    **common,
                    "peer_groups": tuple(m.peer_groups),
                    "metric_id": m.score_id,
                    "kind": KIND_SCORE,
                    "valid_min": None,
                    "valid_max": None,
                }
            )
    for slug in {m["methodology"] for m in metrics} | set(
        MetricDefinition.objects.values_list("methodology__slug", flat=True)
    ):
        metrics.append(
            {
                "methodology": slug,
                "metric_id": CQC_OVERALL_ID,
                "kind": KIND_RATING,
                "peer_groups": ("acute", "mental-health-and-community", "ambulance"),
                "valid_min": None,
                "valid_max": None,
                "ratings": CQC_RATINGS,
            }
        )
    columns = [
        "methodology",
        "metric_id",
        "kind",
        "peer_groups",
        "valid_min",
        "valid_max",
        "ratings",
    ]
    frame = pd.DataFrame(metrics, columns=columns).drop_duplicates(["methodology", "metric_id"])
    return Reference(organisations=orgs, periods=periods, metrics=frame)

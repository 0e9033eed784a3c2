"""Reads for uploads and for the comparison with NHS England's published results."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from systems.authorization import is_national, visible_organisations

from ..metric_ids import PUBLISHED_RANK_ID
from ..models import (
    InputKind,
    MetricUpload,
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
)

COMPARED = [
    # (field, label, published id)
    ("average_score", "Average score", "OF5002"),
    ("unadjusted_segment", "Unadjusted segment", "OF5003"),
    ("adjusted_segment", "Adjusted segment", "OF5000"),
    ("final_segment", "Final segment", "OF5005"),
    ("league_rank", "League-table rank", PUBLISHED_RANK_ID),
]


def uploads_for(user: Any) -> QuerySet[MetricUpload]:
    """Uploads the user may see: all of them for national users, their own otherwise."""
    uploads = MetricUpload.objects.select_related("uploaded_by").order_by("-created_at", "-id")
    if is_national(user):
        return uploads
    if not getattr(user, "pk", None) or getattr(user, "api_token", None) is not None:
        return uploads.filter(uploaded_by_label=getattr(user, "username", ""), uploaded_by=None)
    return uploads.filter(uploaded_by=user)


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
        """(label, ours, published, differs) per compared value, averages to 2 dp."""
        return [
            (
                label,
                _shown(name, self.ours.get(name)),
                _shown(name, self.theirs.get(name)),
                name in self.differences,
            )
            for name, label, _ in COMPARED
        ]


def _shown(name: str, value: Any) -> Any:
    if value is not None and name == "average_score":
        return f"{value:.2f}"
    return value


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
        writer.writerow([*header, "differences"])
        for row in self.rows:
            line = [row.code, row.name, row.peer_group]
            for name, _, _ in COMPARED:
                line += [_blank(row.ours.get(name)), _blank(row.theirs.get(name))]
            writer.writerow([*line, "; ".join(row.differences)])
        return buffer.getvalue()


def _blank(value: Any) -> Any:
    return "" if value is None else value


def reconciliation(period: ReportingPeriod, user: Any = None) -> Reconciliation:
    """Our current run beside NHS England's published results, organisation by
    organisation; a difference is any compared value that is not equal (averages to
    2 dp) or present on one side only."""
    published_ids = [pid for _, _, pid in COMPARED]
    theirs: dict[int, dict[str, Any]] = {}
    names: dict[int, tuple[str, str, str]] = {}
    for value in (
        MetricValue.objects.current()
        .filter(period=period, kind=InputKind.PUBLISHED, metric_id__in=published_ids)
        .select_related("organisation")
    ):
        org = value.organisation
        names[org.pk] = (org.code, org.name, org.peer_group)
        field_name = next(n for n, _, pid in COMPARED if pid == value.metric_id)
        number = value.value or None  # NHS England writes 0 for "none"
        if number is not None and field_name != "average_score":
            number = int(number)
        theirs.setdefault(org.pk, {})[field_name] = number
    ours: dict[int, dict[str, Any]] = {}
    run_id = period.current_run_id
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

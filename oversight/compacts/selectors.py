"""Reading compacts: a system's compact with each commitment's latest standing and its
history quarter by quarter; the region's compacts; what needs the region's attention
(commitments off track, compacts not agreed by 31 March)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F, Prefetch, QuerySet

from ..models import ReportingPeriod, RunStatus, SegmentationRun
from .models import (
    TRACKED,
    Commitment,
    CommitmentEvaluation,
    CommitmentStatus,
    Compact,
    TrackStatus,
)


def compacts_of(icb_ids: Iterable[int], financial_year: str | None = None) -> QuerySet[Compact]:
    qs = Compact.objects.filter(icb_id__in=list(icb_ids)).select_related("icb", "icb__region")
    if financial_year:
        qs = qs.filter(financial_year=financial_year)
    return qs


def published_evaluations(commitment_ids: Iterable[int]) -> dict[int, list[CommitmentEvaluation]]:
    """Each commitment's evaluations against its periods' published runs, oldest first (an
    evaluation against a run later replaced as the published one is kept, not shown)."""
    found: dict[int, list[CommitmentEvaluation]] = {}
    for e in (
        CommitmentEvaluation.objects.filter(
            commitment_id__in=list(commitment_ids), period__current_run=F("run")
        )
        .select_related("period")
        .order_by("commitment_id", "period__start_date")
    ):
        found.setdefault(e.commitment_id, []).append(e)
    return found


@dataclass
class CommitmentView:
    commitment: Commitment
    history: list[CommitmentEvaluation] = field(default_factory=list)

    @property
    def latest(self) -> CommitmentEvaluation | None:
        return self.history[-1] if self.history else None


def commitments_with_history(compact: Compact) -> list[CommitmentView]:
    commitments = list(
        compact.commitments.select_related("organisation").order_by(
            "status", "organisation__name", "pk"
        )
    )
    history = published_evaluations(c.pk for c in commitments)
    return [CommitmentView(c, history.get(c.pk, [])) for c in commitments]


@dataclass(frozen=True)
class OffTrack:
    commitment: Commitment
    evaluation: CommitmentEvaluation


def provisional_run(financial_year: str) -> SegmentationRun | None:
    """The newest completed run of the year not (yet) published, when it is newer than
    its period's published run: what a preview is made from."""
    period = (
        ReportingPeriod.objects.filter(financial_year=financial_year, latest_run__isnull=False)
        .select_related("latest_run", "current_run")
        .order_by("-start_date")
        .first()
    )
    if period is None or period.latest_run is None:
        return None
    run = period.latest_run
    if run.status != RunStatus.COMPLETED or run.pk == period.current_run_id:
        return None
    run.period = period
    return run


@dataclass
class CompactsOverview:
    """Compacts of some systems in one pass: the year's, each with its counts; the
    commitments off track after the latest published run; the drafts not agreed in time
    (any year)."""

    summaries: list[tuple[Compact, dict[str, int]]]
    off_track: list[OffTrack]
    late: list[Compact]


def compacts_overview(
    icb_ids: Iterable[int], financial_year: str, today: datetime.date
) -> CompactsOverview:
    """What the region page and the compacts list show, in at most four queries (one when
    there is no compact)."""
    compacts = list(
        compacts_of(icb_ids).prefetch_related(
            Prefetch(
                "commitments",
                queryset=Commitment.objects.select_related("organisation").order_by("pk"),
            ),
            "support",
        )
    )
    tracked = [
        c
        for compact in compacts
        if compact.status in TRACKED
        for c in compact.commitments.all()
        if c.status == CommitmentStatus.ACCEPTED and c.metric_id
    ]
    year = [c for c in compacts if c.financial_year == financial_year]
    history = published_evaluations(
        [c.pk for c in tracked] + [c.pk for compact in year for c in compact.commitments.all()]
    )
    off = []
    for c in tracked:
        rows = history.get(c.pk)
        if rows and rows[-1].status == TrackStatus.OFF_TRACK:
            off.append(OffTrack(c, rows[-1]))
    return CompactsOverview(
        [(compact, _counts(compact, history)) for compact in year],
        off,
        [c for c in compacts if c.is_late(today)],
    )


def _counts(compact: Compact, history: dict[int, list[CommitmentEvaluation]]) -> dict[str, int]:
    counts = {
        "commitments": 0,
        "proposed": 0,
        TrackStatus.ON_TRACK: 0,
        TrackStatus.OFF_TRACK: 0,
        TrackStatus.NOT_MEASURABLE: 0,
        "support_open": sum(
            1 for s in compact.support.all() if s.status not in ("provided", "declined")
        ),
    }
    for c in compact.commitments.all():
        if c.status == CommitmentStatus.PROPOSED:
            counts["proposed"] += 1
        if c.status != CommitmentStatus.ACCEPTED:
            continue
        counts["commitments"] += 1
        rows = history.get(c.pk)
        if rows:
            counts[rows[-1].status] += 1
    return counts

"""The tables of the compact pages (each sortable and downloadable as CSV and Excel)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from django.urls import reverse

from core.figures import trend_line
from core.tables import Column, Table

from .models import Compact, TrackStatus
from .selectors import CommitmentView
from .tracking import Judgement

TRACK_LABELS = dict(TrackStatus.choices)


def compact_url(compact: Compact) -> str:
    return reverse("compacts:compact", args=[compact.icb.code, compact.year_slug])


def _trajectory(points: Mapping[str, float]) -> str:
    return ", ".join(f"{q} {v:g}" for q, v in points.items())


def commitments_table(
    views: list[CommitmentView], preview: Mapping[int, Judgement], preview_label: str
) -> Table:
    columns = [
        Column("organisation", "Organisation", link="organisation_url"),
        Column("title", "Commitment"),
        Column("metric", "Metric"),
        Column("target", "Target"),
        Column("trajectory", "Trajectory"),
        Column("due", "Due"),
        Column("accountable", "Accountable"),
        Column("status", "Status"),
        Column("track", "Latest", figure="trend"),
        Column("why", "Why"),
        Column("period", "As of", download_only=True),
    ]
    if preview:
        columns.append(Column("preview", preview_label))
    rows = []
    for v in views:
        c, latest = v.commitment, v.latest
        values = [e.value for e in v.history]
        expected = [e.expected for e in v.history]
        judged = preview.get(c.pk)
        rows.append(
            {
                "organisation": c.organisation.name,
                "organisation_url": reverse("dashboards:organisation", args=[c.organisation.code]),
                "title": c.title,
                "metric": c.metric_id or "Not tied to a metric",
                "target": (
                    f"{'At least' if c.direction == 'at_least' else 'At most'} {c.target:g}"
                    if c.target is not None
                    else ""
                ),
                "trajectory": _trajectory(c.trajectory or {}),
                "due": c.due_on,
                "accountable": f"{c.accountable_name}, {c.accountable_role}",
                "status": c.get_status_display(),
                "track": TRACK_LABELS[latest.status] if latest else "",
                "trend": trend_line(values, expected) if len(values) > 1 else "",
                "why": latest.reason if latest else ("" if c.metric_id else "Tracked by people"),
                "period": latest.period.label if latest else "",
                "preview": f"{TRACK_LABELS[judged.status]}: {judged.reason}" if judged else "",
            }
        )
    return Table(
        "commitments",
        "Commitments, with how each stood after the latest published run",
        columns,
        rows,
        empty="No commitment recorded yet.",
    )


def history_table(views: list[CommitmentView]) -> Table:
    rows = [
        {
            "title": v.commitment.title,
            "organisation": v.commitment.organisation.code,
            "period": e.period.label,
            "run": e.run_id,
            "value": e.value,
            "expected": e.expected,
            "status": TRACK_LABELS[e.status],
            "why": e.reason,
        }
        for v in views
        for e in v.history
    ]
    return Table(
        "history",
        "Quarter by quarter: each commitment against each published run",
        [
            Column("title", "Commitment"),
            Column("organisation", "Organisation"),
            Column("period", "Period"),
            Column("run", "Run", numeric=True),
            Column("value", "Value", numeric=True),
            Column("expected", "Expected", numeric=True),
            Column("status", "Standing"),
            Column("why", "Why"),
        ],
        rows,
        empty="No published run of the year has been tracked yet.",
    )


def support_table(compact: Compact) -> Table:
    rows = [
        {
            "description": s.description,
            "owner": s.owner,
            "status": s.get_status_display(),
            "why": s.status_reason,
            "updated": s.updated_at.date(),
        }
        for s in compact.support.all()
    ]
    return Table(
        "support",
        "Support requested from NHS England",
        [
            Column("description", "Support"),
            Column("owner", "Owner"),
            Column("status", "Status"),
            Column("why", "Latest note"),
            Column("updated", "Updated"),
        ],
        rows,
        empty="No support requested.",
    )


def compacts_table(
    summaries: Sequence[tuple[Compact, Mapping[str, int]]],
    maturity: Mapping[int, str],
    today: datetime.date,
    caption: str,
) -> Table:
    rows = []
    for compact, counts in summaries:
        late = compact.is_late(today)
        rows.append(
            {
                "system": compact.icb.name,
                "url": compact_url(compact),
                "year": compact.financial_year,
                "status": compact.get_status_display()
                + (f" (not agreed by {compact.agree_by:%d %B %Y})" if late else ""),
                "commitments": counts["commitments"],
                "proposed": counts["proposed"],
                "on_track": counts[TrackStatus.ON_TRACK],
                "off_track": counts[TrackStatus.OFF_TRACK],
                "not_measurable": counts[TrackStatus.NOT_MEASURABLE],
                "support": counts["support_open"],
                "maturity": (maturity.get(compact.icb_id) or "Not assessed").capitalize(),
            }
        )
    return Table(
        "compacts",
        caption,
        [
            Column("system", "System (ICB)", link="url"),
            Column("year", "Year"),
            Column("status", "Status"),
            Column("commitments", "Commitments", numeric=True),
            Column("proposed", "Proposed", numeric=True),
            Column("on_track", "On track", numeric=True),
            Column("off_track", "Off track", numeric=True),
            Column("not_measurable", "Not measurable", numeric=True),
            Column("support", "Support open", numeric=True),
            Column("maturity", "System maturity"),
        ],
        rows,
        empty="No compact recorded for this year.",
    )

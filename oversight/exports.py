"""CSV exports with stable, documented columns (used by people and by scripts)."""

from __future__ import annotations

import csv
from typing import IO

from systems.models import PeerGroup

from . import selectors
from .cut_points import format_cut_point
from .models import ReportingPeriod

ASSESSMENT_COLUMNS = [
    "org_code",
    "org_name",
    "peer_group",
    "metric_count",
    "average_score",
    "unadjusted_segment",
    "financial_override",
    "adjusted_segment",
    "final_segment",
]

#: After the domain columns (appended, so earlier columns keep their places): the cut
#: points applied to the organisation's peer group, to their exact precision, and where
#: they came from (pinned, fixed or computed).
CUT_POINT_COLUMNS = ["cut_point_1", "cut_point_2", "cut_point_3", "cut_points_source"]

NHSE_LEAGUE_COLUMNS = [
    "Quarter",
    "Region",
    "Trust_type",
    "Trust_subtype",
    "Trust_code",
    "Trust_name",
    "Average_score",
    "Likely_range_of_average_score",
    "Segment",
    "Trust_in_financial_deficit",
    "Rank",
    "Likely_range_of_rank",
]

#: NHS England's wording for each peer group in its published files.
NHSE_TRUST_TYPE = {
    PeerGroup.ACUTE: "Acute trust",
    PeerGroup.MENTAL_HEALTH_AND_COMMUNITY: "Mental health and community trust",
    PeerGroup.AMBULANCE: "Ambulance trust",
    PeerGroup.ICB: "Integrated care board",
}


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


#: After the domain scores: the organisation's scores ranked on a partial national pool
#: ("OF1082 61/205;OF1005 61/205"), blank when none.
PARTIAL_POOL_COLUMN = "partial_pool_scores"


def write_assessments(period: ReportingPeriod, out: IO[str]) -> int:
    """One row per organisation of the period's current run; returns the row count."""
    run = selectors.current_run(period)
    domains = list(run.methodology.domains)
    partial = selectors.partial_pool_scores(run)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ASSESSMENT_COLUMNS
        + [selectors.domain_column(d) for d in domains]
        + CUT_POINT_COLUMNS
        + [PARTIAL_POOL_COLUMN]
    )
    count = 0
    for a in selectors.assessments(run).order_by("organisation__code"):
        applied = selectors.cut_points_for(run, a.peer_group)
        cut_points = [format_cut_point(t) for t in applied[0]] if applied else ["", "", ""]
        writer.writerow(
            [
                a.organisation.code,
                a.organisation.name,
                a.peer_group,
                a.metric_count,
                _fmt(a.average_score),
                _opt(a.unadjusted_segment),
                int(a.financial_override),
                _opt(a.adjusted_segment),
                _opt(a.final_segment),
            ]
            + [_fmt(a.domain_scores.get(d)) for d in domains]
            + cut_points
            + [applied[1] if applied else ""]
            + [";".join(partial.get(a.organisation_id, []))]
        )
        count += 1
    return count


def write_league_table_nhse(period: ReportingPeriod, peer_group: str, out: IO[str]) -> int:
    """NHS England's league-table columns: ranges as 'a to b', deficit as Yes/No."""
    run = selectors.current_run(period)
    rows = list(selectors.league_table(run, peer_group))
    trusts = selectors.trust_details([a.organisation_id for a in rows])
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NHSE_LEAGUE_COLUMNS)
    for a in rows:
        trust = trusts.get(a.organisation_id)
        writer.writerow(
            [
                period.label,
                a.organisation.region.short_name,
                NHSE_TRUST_TYPE.get(a.peer_group, a.peer_group),
                trust.subtype if trust else "",
                a.organisation.code,
                a.organisation.name,
                _fmt(a.average_score),
                _range(_fmt(a.average_range_low), _fmt(a.average_range_high)),
                _opt(a.adjusted_segment),
                "Yes" if a.financial_override else "No",
                _opt(a.league_rank),
                _range(_opt(a.rank_range_low), _opt(a.rank_range_high)),
            ]
        )
    return len(rows)


def _range(low: str, high: str) -> str:
    return f"{low} to {high}" if low and high else ""

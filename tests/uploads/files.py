"""Metric files for tests, written as NHS England and Excel write them.

Values are synthetic (``oversight.demo``) for real trust codes; nothing here is a real
published figure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from openpyxl import Workbook

from oversight.demo import demo_rows
from oversight.models import InputKind, MetricDefinition, ReportingPeriod
from oversight.uploads.validation import NHSE_COLUMNS, TEMPLATE_COLUMNS
from systems.models import Organisation

RATING_SCORES = {"Outstanding": 1, "Good": 2, "Requires improvement": 3, "Inadequate": 4}


def csv_bytes(
    header: list[str],
    rows: Iterable[list],
    *,
    bom: bool = True,
    sep: str = ",",
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def nhse_line(
    period: str,
    org: Organisation,
    metric_id: str,
    value,
    *,
    name: str | None = None,
    reporting: str = "2025",
    rank: str = "",
) -> list:
    line = dict.fromkeys(NHSE_COLUMNS, "")
    line.update(
        {
            "Quarter": period,
            "Region": org.region.short_name,
            "Trust_type": org.get_peer_group_display(),
            "Trust_code": org.code,
            "Trust_name": org.name if name is None else name,
            "Metric_ID": metric_id,
            "Reporting_date": reporting,
            "Units": "score" if metric_id.startswith("OF1") else "",
            "Value": value,
            "Rank": rank,
        }
    )
    return [line[c] for c in NHSE_COLUMNS]


def nhse_rows_for(period: ReportingPeriod, *, limit_per_group: int | None = None) -> list[list]:
    """A quarter of synthetic inputs for the real trusts open in ``period``, as NHS
    England's data-file lines (ratings as their scores, the override flag as OF5004)."""
    orgs = Organisation.objects.select_related("region").in_bulk()
    scored = set(
        MetricDefinition.objects.filter(methodology=period.methodology).values_list(
            "score_id", flat=True
        )
    )
    rows = demo_rows(period)
    if limit_per_group:
        kept: dict[str, set[int]] = {}
        for row in rows:
            group = orgs[row.organisation_id].peer_group
            members = kept.setdefault(group, set())
            if row.organisation_id in members or len(members) < limit_per_group:
                members.add(row.organisation_id)
        allowed = set().union(*kept.values())
        rows = [r for r in rows if r.organisation_id in allowed]
    lines = []
    for row in rows:
        org = orgs[row.organisation_id]
        if row.text:
            value = RATING_SCORES[row.text]
        elif row.kind == InputKind.OVERRIDE_FLAG:
            value = int(row.value)
        else:
            value = row.value
        assert row.metric_id in scored or row.kind != InputKind.SCORE
        lines.append(nhse_line(period.label, org, row.metric_id, value))
    return lines


def nhse_file(lines: list[list], **kwargs) -> bytes:
    return csv_bytes(NHSE_COLUMNS, lines, **kwargs)


def template_file(rows: list[list], header: list[str] | None = None, **kwargs) -> bytes:
    return csv_bytes(header or TEMPLATE_COLUMNS[:4], rows, **kwargs)


def xlsx_file(sheets: dict[str, list[list]], *, merge: str = "", formula_at: str = "") -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    first = workbook[next(iter(sheets))]
    if merge:
        first.merge_cells(merge)
    if formula_at:
        first[formula_at] = "=1+1"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

"""The metric catalogue as analysts read it: every metric a methodology scores or keeps,
with its ids, units, direction, valid range, peer groups and how it is scored; and the
upload template as an Excel workbook whose second sheet lists the valid metric ids."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from systems.models import PeerGroup

from ..models import Methodology, MetricDefinition, ReportingPeriod
from .validation import TEMPLATE_COLUMNS

GROUPS = dict(PeerGroup.choices)
CONTEXT = "Shown for context; never scored."


@dataclass(frozen=True)
class CatalogueRow:
    score_id: str
    value_id: str
    name: str
    domain: str
    sub_domain: str
    units: str
    direction: str
    valid_range: str
    peer_groups: str
    scoring: str
    in_average: str


def methodology_for(slug: str) -> Methodology | None:
    """The methodology named ``slug``, or (blank) that of the latest period begun."""
    if slug:
        return Methodology.objects.filter(slug=slug).first()
    begun = ReportingPeriod.objects.filter(start_date__lte=datetime.date.today())
    period = begun.order_by("-start_date").first()
    return period.methodology if period else Methodology.objects.order_by("-slug").first()


def catalogue_rows(methodology: Methodology) -> list[CatalogueRow]:
    """Every metric of ``methodology``, in the catalogue's order."""
    return [_row(m) for m in methodology.metrics.order_by("position", "score_id")]


def _row(m: MetricDefinition) -> CatalogueRow:
    return CatalogueRow(
        score_id=m.score_id,
        value_id=m.value_id,
        name=m.name,
        domain=m.domain,
        sub_domain=m.sub_domain,
        units=m.units or "",
        direction="Higher is better" if m.direction == "higher" else "Lower is better",
        valid_range=_range(m.valid_min, m.valid_max),
        peer_groups=", ".join(GROUPS.get(g, g) for g in m.peer_groups) or "",
        scoring=scoring_text(m),
        in_average="No" if m.contextual or not m.included_in_average else "Yes",
    )


def _number(x: float) -> str:
    return f"{x:g}"


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "Any number"
    if low is None:
        return f"Up to {_number(high)}"  # type: ignore[arg-type]
    if high is None:
        return f"{_number(low)} or more"
    return f"{_number(low)} to {_number(high)}"


def scoring_text(m: MetricDefinition) -> str:
    """How a metric is scored, in a sentence."""
    params: dict[str, Any] = m.params or {}
    if m.contextual or m.method == "contextual":
        return CONTEXT
    if m.method == "rank":
        pool = (
            "every provider reporting it, whatever its type"
            if m.pool == "national"
            else "its peer group"
        )
        text = f"Ranked among {pool}: 1.00 (best) to 4.00 (worst)."
        if "standard" in params:
            text += f" Meeting the standard ({_number(params['standard'])}) scores 1.00."
        if "floor" in params:
            text += (
                f" Below the floor ({_number(params['floor'])}) scores 4.00; the rest are "
                "ranked from 1.00 to 3.00."
            )
        return text
    if m.method == "bands":
        cuts = ", ".join(_number(c) for c in params.get("cut_points", []))
        return f"Banded by fixed cut points ({cuts}) into scores 1 to 4."
    if m.method == "rating":
        return "A CQC rating turned into a score (Outstanding 1 to Inadequate 4), if recent."
    if m.method == "combined":
        return f"Combined from {params.get('variance', '')} and {params.get('plan', '')}."
    return "Supplied by NHS England as a score from 1 to 4."


def template_workbook(methodology: Methodology | None) -> bytes:
    """The upload template as .xlsx: the columns with one example row, then a sheet
    listing the metric ids an upload may carry (values and supplied scores)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Metrics"
    sheet.append(TEMPLATE_COLUMNS)
    sheet.append(["RHA", "OF0082", "Q2 2025/26", 4.8, "2025-06-30", "Sickness absence for June"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    ids = book.create_sheet("Metric ids")
    ids.append(["metric_id", "kind", "name", "units", "peer groups"])
    for cell in ids[1]:
        cell.font = Font(bold=True)
    rows = catalogue_rows(methodology) if methodology else []
    for row in rows:
        if row.value_id:
            ids.append([row.value_id, "value", row.name, row.units, row.peer_groups])
        if row.in_average == "Yes" or row.scoring != CONTEXT:
            ids.append([row.score_id, "score (national team)", row.name, "score", row.peer_groups])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

"""Writes for methodologies, periods and cut points (segmentation runs are in
``oversight.runs``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from core.dates import quarter_dates
from core.errors import require_reason
from systems import audit
from systems.actors import Actor, SystemActor, person_of

from .cut_points import CutPointError, exact, format_cut_point, parse_cut_points
from .engine import (
    MethodologyError,
    MethodologySpec,
    load_methodology_file,
)
from .engine.spec import METHODOLOGIES_DIR
from .models import (
    Methodology,
    MetricDefinition,
    ReportingPeriod,
    SegmentationMethod,
    period_slug,
)

logger = logging.getLogger(__name__)

PERIODS_FILE = METHODOLOGIES_DIR / "periods.yaml"


# --- Methodologies and periods -----------------------------------------------------------


@dataclass
class MethodologyLoadSummary:
    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_newer: list[str] = field(default_factory=list)
    periods_created: list[str] = field(default_factory=list)


def _methodology_fields(spec: MethodologySpec) -> dict[str, Any]:
    thresholds = spec.thresholds or (None, None, None)
    return {
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "effective_from": spec.effective_from,
        "effective_to": spec.effective_to,
        "segmentation_method": spec.segmentation_method,
        "quartile_pool": spec.quartile_pool,
        "threshold_1": exact(thresholds[0]),
        "threshold_2": exact(thresholds[1]),
        "threshold_3": exact(thresholds[2]),
        "min_metric_count": spec.min_metric_count,
        "segmented_peer_groups": list(spec.segmented_peer_groups),
        "peer_groups": list(spec.peer_groups),
        "domains": list(spec.domains),
        "override_cap": spec.override_cap,
        "derive_override_from": spec.derive_override_from or "",
        "rating_lookback_days": spec.rating_lookback_days,
        "replicates": spec.replicates,
        "rounding": spec.rounding,
    }


def _metric_rows(methodology: Methodology, spec: MethodologySpec) -> list[MetricDefinition]:
    return [
        MetricDefinition.from_spec(m, methodology=methodology, position=position)
        for position, m in enumerate(spec.metrics)
    ]


def _install(
    spec: MethodologySpec, source: str, actor: Actor, existing: Methodology | None
) -> None:
    before = existing.as_document() if existing else None
    if existing is None:
        methodology = Methodology.objects.create(
            slug=spec.slug, source_file=source, **_methodology_fields(spec)
        )
    else:
        methodology = existing
        for name, value in _methodology_fields(spec).items():
            setattr(methodology, name, value)
        methodology.source_file = source
        methodology.save()
        methodology.metrics.all().delete()
    MetricDefinition.objects.bulk_create(_metric_rows(methodology, spec))
    audit.record(
        actor=actor,
        action="methodology.loaded" if existing is None else "methodology.replaced",
        obj=methodology,
        before=before,
        after={"version": spec.version, "metrics": len(spec.metrics), "source": source},
        reason=f"Loaded from {source}",
    )


@transaction.atomic
def load_methodologies(
    *,
    directory: Path = METHODOLOGIES_DIR,
    actor: Actor = SystemActor("load_methodologies"),
    force: bool = False,
) -> MethodologyLoadSummary:
    """Install the methodology files and the reporting periods.

    A methodology already in the database is replaced only by a file with a higher
    ``version`` (or with ``force``), so edits national users make between releases stay.
    Every file is validated before anything is written.
    """
    summary = MethodologyLoadSummary()
    specs = []
    problems: list[str] = []
    for path in sorted(directory.glob("nof-*.yaml")):
        try:
            specs.append((load_methodology_file(path), path.name))
        except MethodologyError as exc:
            problems.extend(f"{path.name}: {e}" for e in exc.errors)
    if problems:
        raise MethodologyError("; ".join(problems), problems)

    for spec, source in specs:
        existing = Methodology.objects.filter(slug=spec.slug).first()
        if existing is None:
            _install(spec, source, actor, None)
            summary.created.append(spec.slug)
        elif existing.version > spec.version and not force:
            summary.kept_newer.append(spec.slug)
        elif (existing.version == spec.version and not force) or (
            existing.fingerprint() == _fingerprint_of(spec, existing)
        ):
            summary.unchanged.append(spec.slug)
        else:
            _install(spec, source, actor, existing)
            summary.replaced.append(spec.slug)

    summary.periods_created = ensure_periods(actor=actor, path=directory / "periods.yaml")
    return summary


def _fingerprint_of(spec: MethodologySpec, existing: Methodology) -> str:
    probe = Methodology(slug=spec.slug, **_methodology_fields(spec))
    return probe.fingerprint(_metric_rows(probe, spec))


def ensure_periods(*, actor: Actor, path: Path = PERIODS_FILE) -> list[str]:
    """Create the reporting periods listed in ``periods.yaml`` that do not exist yet."""
    document = yaml.safe_load(path.read_text()) or {}
    created = []
    methodologies = {m.slug: m for m in Methodology.objects.all()}
    for entry in document.get("periods", []):
        slug = period_slug(entry["label"])
        if ReportingPeriod.objects.filter(slug=slug).exists():
            continue
        year, short, quarter = slug.split("-")
        start, end = quarter_dates(int(year), int(quarter[1]))
        try:
            methodology = methodologies[entry["methodology"]]
        except KeyError as exc:
            raise MethodologyError(
                f"{path.name}: period {entry['label']} names methodology "
                f"{entry['methodology']!r}, which is not loaded"
            ) from exc
        period = ReportingPeriod.objects.create(
            slug=slug,
            label=entry["label"],
            financial_year=f"{year}/{short}",
            quarter=int(quarter[1]),
            start_date=start,
            end_date=end,
            methodology=methodology,
        )
        audit.record(
            actor=actor,
            action="period.created",
            obj=period,
            after={"methodology": methodology.slug},
        )
        created.append(period.label)
    return created


# --- Cut points and thresholds ----------------------------------------------------------
#
# Both are read with ``parse_cut_points`` (exact decimals, at most four places, refused
# with a message naming the value otherwise) and written with an audit event saying who,
# when, what and why. A refusal changes nothing.


@transaction.atomic
def pin_cut_points(
    *,
    period: ReportingPeriod,
    cut_points: Sequence[object],
    reason: str,
    actor: Actor,
) -> ReportingPeriod:
    """Pin explicit cut points for a period; they win over computed or fixed ones.

    ``cut_points``: three numbers as text ("2.325"), decimals or numbers, kept exactly.
    """
    t1, t2, t3 = parse_cut_points(cut_points, "Cut points")
    reason = require_reason(reason, "A reason is required to pin cut points.", CutPointError)
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    before = _pin_state(period)
    period.pinned_t1, period.pinned_t2, period.pinned_t3 = t1, t2, t3
    period.pinned_by = person_of(actor)
    period.pinned_by_label = audit.actor_label(actor)
    period.pinned_at = timezone.now()
    period.pin_reason = reason
    period.save()
    audit.record(
        actor=actor,
        action="cut_points.pinned",
        obj=period,
        before=before,
        after=_pin_state(period),
        reason=period.pin_reason,
    )
    return period


@transaction.atomic
def clear_cut_points(*, period: ReportingPeriod, reason: str, actor: Actor) -> ReportingPeriod:
    require_reason(reason, "A reason is required to clear pinned cut points.", CutPointError)
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    before = _pin_state(period)
    period.pinned_t1 = period.pinned_t2 = period.pinned_t3 = None
    period.pinned_by = None
    period.pinned_by_label = ""
    period.pinned_at = None
    period.pin_reason = ""
    period.save()
    audit.record(
        actor=actor,
        action="cut_points.cleared",
        obj=period,
        before=before,
        after=_pin_state(period),
        reason=reason.strip(),
    )
    return period


def _pin_state(period: ReportingPeriod) -> dict[str, Any]:
    return {
        "cut_points": _exact_texts(period.pinned_t1, period.pinned_t2, period.pinned_t3),
        "by": period.pinned_by_label,
        "reason": period.pin_reason,
    }


def _exact_texts(*values: Decimal | None) -> list[str] | None:
    """Cut points for the audit log, as text so they read back exactly (["2.325", ...])."""
    if values[0] is None:
        return None
    return [format_cut_point(v) for v in values]


def check_thresholds(
    methodology: Methodology, thresholds: Sequence[object] | None, *, method: str | None = None
) -> tuple[Decimal, ...] | None:
    """The thresholds ``set_thresholds`` would store (None to unset), else CutPointError.

    ``method``: the segmentation method they will serve (default: the methodology's own),
    for a form that changes both at once.
    """
    if (method or methodology.segmentation_method) != SegmentationMethod.FIXED:
        raise CutPointError(
            f"{methodology.slug} segments by quartiles; fixed thresholds apply only to a "
            "methodology that segments by fixed thresholds. Pin cut points for a period "
            "instead.",
            field="thresholds",
        )
    if thresholds is None:
        return None
    try:
        return parse_cut_points(thresholds, "Thresholds")
    except CutPointError as exc:
        raise CutPointError(str(exc), field="thresholds") from None


@transaction.atomic
def set_thresholds(
    *,
    methodology: Methodology,
    thresholds: Sequence[object] | None,
    reason: str,
    actor: Actor,
) -> Methodology:
    """Set (or, with None, unset) a fixed-threshold methodology's thresholds T1 T2 T3,
    kept exactly as given; they apply from the next segmentation run of its periods."""
    values = check_thresholds(methodology, thresholds)
    reason = require_reason(reason, "A reason is required to set thresholds.", CutPointError)
    methodology = Methodology.objects.select_for_update().get(pk=methodology.pk)
    before = _threshold_state(methodology)
    t1, t2, t3 = values if values is not None else (None, None, None)
    methodology.threshold_1, methodology.threshold_2, methodology.threshold_3 = t1, t2, t3
    methodology.save(update_fields=["threshold_1", "threshold_2", "threshold_3", "updated_at"])
    audit.record(
        actor=actor,
        action="methodology.thresholds_set" if values else "methodology.thresholds_unset",
        obj=methodology,
        before=before,
        after=_threshold_state(methodology),
        reason=reason,
    )
    return methodology


def _threshold_state(methodology: Methodology) -> dict[str, Any]:
    return {
        "thresholds": _exact_texts(
            methodology.threshold_1, methodology.threshold_2, methodology.threshold_3
        )
    }

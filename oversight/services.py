"""Writes for methodologies, periods and segmentation runs."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.dates import quarter_dates
from core.errors import ApplicationError
from systems import audit
from systems.actors import Actor, person_of
from systems.models import Organisation, OrganisationKind, existed_on_q

from .bulk import insert_frame
from .engine import (
    EngineInputs,
    EngineResult,
    MethodologyError,
    MethodologyNotReady,
    MethodologySpec,
    load_methodology_file,
    run_engine,
)
from .engine.spec import METHODOLOGIES_DIR
from .metric_ids import NOT_ENGINE_INPUTS
from .models import (
    InputKind,
    Methodology,
    MetricDefinition,
    MetricScore,
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
    RunStatus,
    SegmentationRun,
    period_slug,
)
from .selectors import programme_members_on

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
        "threshold_1": None if thresholds[0] is None else Decimal(str(thresholds[0])),
        "threshold_2": None if thresholds[1] is None else Decimal(str(thresholds[1])),
        "threshold_3": None if thresholds[2] is None else Decimal(str(thresholds[2])),
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
        MetricDefinition(
            methodology=methodology,
            position=position,
            score_id=m.score_id,
            value_id=m.value_id or "",
            name=m.name,
            domain=m.domain,
            sub_domain=m.sub_domain,
            units=m.units,
            direction=m.direction or "",
            method=m.method,
            params=json.loads(json.dumps(m.to_dict()["params"])),
            pool=m.pool,
            peer_groups=list(m.peer_groups),
            weight=m.weight,
            included_in_average=m.included_in_average,
            contextual=m.contextual,
            valid_min=m.valid_range[0] if m.valid_range else None,
            valid_max=m.valid_range[1] if m.valid_range else None,
        )
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
    actor: Actor = "load_methodologies",
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


# --- Cut points --------------------------------------------------------------------------


class CutPointError(ApplicationError, ValueError):
    pass


@transaction.atomic
def pin_cut_points(
    *,
    period: ReportingPeriod,
    cut_points: tuple[float, float, float],
    reason: str,
    actor: Actor,
) -> ReportingPeriod:
    """Pin explicit cut points for a period; they win over computed or fixed ones."""
    t1, t2, t3 = (Decimal(str(round(float(t), 2))) for t in cut_points)
    if not reason.strip():
        raise CutPointError("A reason is required to pin cut points.")
    if not (Decimal(1) <= t1 < t2 < t3 <= Decimal(4)):
        raise CutPointError(
            f"Cut points must rise strictly within 1.00 to 4.00; got {t1}, {t2}, {t3}."
        )
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    before = _pin_state(period)
    period.pinned_t1, period.pinned_t2, period.pinned_t3 = t1, t2, t3
    period.pinned_by = person_of(actor)
    period.pinned_by_label = audit.actor_label(actor)
    period.pinned_at = timezone.now()
    period.pin_reason = reason.strip()
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
    if not reason.strip():
        raise CutPointError("A reason is required to clear pinned cut points.")
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
        "cut_points": list(period.pinned_cut_points) if period.pinned_cut_points else None,
        "by": period.pinned_by_label,
        "reason": period.pin_reason,
    }


# --- Segmentation runs -------------------------------------------------------------------


@dataclass
class PreparedRun:
    spec: MethodologySpec
    methodology_fingerprint: str
    inputs: EngineInputs
    inputs_fingerprint: str
    organisation_ids: dict[str, int]


def prepare_run(period: ReportingPeriod, *, replicates: int | None = None) -> PreparedRun:
    """Everything the engine needs for ``period``, read from the database."""
    methodology = period.methodology
    metric_rows = list(methodology.metrics.order_by("position"))
    spec = MethodologySpec.from_dict(methodology.as_document(metric_rows))
    if (
        spec.segmentation_method == "fixed"
        and spec.thresholds is None
        and not period.pinned_cut_points
    ):
        raise MethodologyNotReady(
            f"{spec.slug} has no fixed thresholds set and {period.label} has no pinned cut "
            f"points; set the methodology's thresholds or run "
            f'`manage.py pin_cut_points --period "{period.label}" T1 T2 T3 --reason …` first.'
        )

    rows = list(
        MetricValue.objects.current()
        .filter(period=period)
        .values_list("organisation_id", "metric_id", "kind", "value", "text", "reporting_date")
    )
    with_data = {r[0] for r in rows}
    # The trusts open at the end of the period, and any organisation with data for it
    # (one closed since still belongs to the periods it reported in).
    organisations = list(
        Organisation.objects.filter(
            (Q(kind=OrganisationKind.TRUST) & existed_on_q(period.end_date)) | Q(id__in=with_data)
        ).values_list("id", "code", "peer_group", "name")
    )
    code_of = {pk: code for pk, code, _, _ in organisations}
    orgs = pd.DataFrame(
        [(code, peer, name) for _, code, peer, name in organisations],
        columns=["org_code", "peer_group", "org_name"],
    ).sort_values("org_code", ignore_index=True)

    values = [
        (code_of[o], m, v, t or None, d)
        for o, m, k, v, t, d in rows
        if k == InputKind.VALUE and m not in NOT_ENGINE_INPUTS
    ]
    scores = [(code_of[o], m, v) for o, m, k, v, _, _ in rows if k == InputKind.SCORE]
    flags = {code_of[o]: bool(v) for o, _, k, v, _, _ in rows if k == InputKind.OVERRIDE_FLAG}
    # Members: the dated programme stays, plus NHS England's OF5007 flag for this period.
    programme = frozenset(programme_members_on(period.end_date).values_list("code", flat=True)) | {
        code_of[o] for o, _, k, v, _, _ in rows if k == InputKind.PROGRAMME and v
    }
    inputs = EngineInputs(
        organisations=orgs,
        values=pd.DataFrame(
            values, columns=["org_code", "metric_id", "value", "text", "reporting_date"]
        ),
        supplied_scores=pd.DataFrame(scores, columns=["org_code", "metric_id", "score"]),
        override_flags=flags,
        programme_members=programme,
        period_end=period.end_date,
        pinned_cut_points=period.pinned_cut_points,
        replicates=replicates,
    )
    methodology_fp = methodology.fingerprint(metric_rows)
    digest = hashlib.sha256()
    for part in (
        methodology_fp,
        json.dumps(sorted(map(_canonical, values))),
        json.dumps(sorted(map(_canonical, scores))),
        json.dumps(sorted(flags.items())),
        json.dumps(sorted(programme)),
        json.dumps(period.pinned_cut_points),
        json.dumps(orgs.values.tolist()),
        str(replicates if replicates is not None else spec.replicates),
    ):
        digest.update(part.encode())
        digest.update(b"\x00")
    inputs_fp = digest.hexdigest()
    # The seed follows from the inputs, so a re-run on unchanged inputs is identical.
    inputs.seed = int(inputs_fp[:8], 16)
    return PreparedRun(
        spec, methodology_fp, inputs, inputs_fp, {c: pk for pk, c in code_of.items()}
    )


def _canonical(row: tuple) -> list:
    return [x.isoformat() if isinstance(x, datetime.date) else x for x in row]


def run_segmentation(
    *,
    period: ReportingPeriod,
    actor: Actor,
    trigger: str = "command",
    replicates: int | None = None,
    only_if_changed: bool = False,
) -> SegmentationRun:
    """Segment ``period`` and make the new run current, atomically.

    The run row is committed first (status ``running``) so progress is visible; the results
    and the switch of the period's current run happen in one transaction. A failure marks
    the run ``failed`` with the reason and leaves the previous current run in place.
    With ``only_if_changed``, an unchanged period (same inputs fingerprint as its current
    run) returns the current run without segmenting again.
    """
    with period_lock(period.pk):
        _abandon_interrupted_runs(period)
        period.refresh_from_db(fields=["current_run"])
        return _run_segmentation(
            period=period,
            actor=actor,
            trigger=trigger,
            replicates=replicates,
            only_if_changed=only_if_changed,
        )


@contextmanager
def period_lock(period_id: int) -> Iterator[None]:
    """One segmentation of a period at a time, across processes (a PostgreSQL advisory
    lock, released when the holder ends; other databases run one process only)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [PERIOD_LOCK_SPACE, period_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [PERIOD_LOCK_SPACE, period_id])


PERIOD_LOCK_SPACE = 7301


def _abandon_interrupted_runs(period: ReportingPeriod) -> None:
    """Runs left ``running`` for this period lost their process (the lock is free):
    record them as failed so nobody waits for them."""
    interrupted = SegmentationRun.objects.filter(period=period, status=RunStatus.RUNNING)
    for run in interrupted:
        SegmentationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error="Interrupted: the process running it stopped before it finished.",
        )
        audit.record(
            actor="system",
            action="segmentation.interrupted",
            obj=run,
            before={"status": RunStatus.RUNNING},
            after={"status": RunStatus.FAILED},
            reason="Found unfinished when the period was segmented again",
        )


def _run_segmentation(
    *,
    period: ReportingPeriod,
    actor: Actor,
    trigger: str,
    replicates: int | None,
    only_if_changed: bool,
) -> SegmentationRun:
    started = time.perf_counter()
    prepared = prepare_run(period, replicates=replicates)
    timings = {"load_inputs_ms": _ms(started)}
    current = period.current_run
    if only_if_changed and current and current.inputs_fingerprint == prepared.inputs_fingerprint:
        return current

    run = SegmentationRun.objects.create(
        period=period,
        methodology=period.methodology,
        methodology_fingerprint=prepared.methodology_fingerprint,
        inputs_fingerprint=prepared.inputs_fingerprint,
        seed=prepared.inputs.seed,
        replicates=(
            prepared.inputs.replicates
            if prepared.inputs.replicates is not None
            else prepared.spec.replicates
        ),
        trigger=trigger,
        triggered_by=person_of(actor),
        triggered_by_label=audit.actor_label(actor),
        started_at=timezone.now(),
    )
    try:
        step = time.perf_counter()
        result = run_engine(prepared.spec, prepared.inputs)
        timings["engine_ms"] = _ms(step)
        step = time.perf_counter()
        with transaction.atomic():
            _store_results(run, result, prepared.organisation_ids)
            timings["store_ms"] = _ms(step)
            timings["total_ms"] = _ms(started)
            _complete(run, result, timings)
            previous = ReportingPeriod.objects.select_for_update().get(pk=period.pk).current_run_id
            ReportingPeriod.objects.filter(pk=period.pk).update(current_run=run)
            audit.record(
                actor=actor,
                action="segmentation.completed",
                obj=run,
                before={"current_run": previous},
                after={
                    "current_run": run.pk,
                    "segment_counts": run.segment_counts,
                    "cut_points": list(run.cut_points) if run.cut_points else None,
                    "inputs_fingerprint": run.inputs_fingerprint,
                },
                reason=f"Segmentation of {period.label} ({trigger})",
            )
            _apply_consequences(run, actor)
    except Exception as exc:
        logger.exception("segmentation run %s failed", run.pk)
        SegmentationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
            timings={**timings, "total_ms": _ms(started)},
        )
        raise
    period.current_run = run
    return run


def _apply_consequences(run: SegmentationRun, actor: Actor) -> None:
    """What follows from a run, in its transaction: the oversight response and freedoms,
    then the ICB segments it computed and the delegation conditions that follow them."""
    from delegation.services import apply_run as apply_delegation

    from .autonomy.services import apply_run

    apply_run(run=run, actor=actor)
    apply_delegation(run=run, actor=actor)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _store_results(run: SegmentationRun, result: EngineResult, org_ids: dict[str, int]) -> None:
    """Write every metric score and assessment of ``run`` (inside the caller's transaction)."""
    s = result.metric_scores
    insert_frame(
        MetricScore,
        pd.DataFrame(
            {
                "run_id": run.pk,
                "organisation_id": s["org_code"].map(org_ids).astype("int64"),
                "metric_id": s["metric_id"].astype(str),
                "value_id": s["value_id"].fillna("").astype(str),
                "value": pd.to_numeric(s["value"], errors="coerce"),
                "text": s["text"].fillna("").astype(str),
                "score": s["score"].astype("float64"),
                "rank": s["rank"].astype("float64"),
                "pool_size": s["pool_size"].fillna(0).astype("int64"),
                "method": s["method"].astype(str),
                "low": s["low"].astype("float64"),
                "high": s["high"].astype("float64"),
                "domain": s["domain"].astype(str),
                "weight": s["weight"].astype("float64"),
                "included": s["included"].astype(bool),
                "status": s["status"].astype(str),
            }
        ),
    )

    domains: dict[str, dict[str, float]] = {}
    d = result.domain_scores.dropna(subset=["score"])
    for code, domain, score in zip(d["org_code"], d["domain"], d["score"], strict=True):
        domains.setdefault(code, {})[domain] = float(score)
    a = result.assessments
    league = result.league_table.set_index("org_code")[
        ["rank", "rank_range_low", "rank_range_high"]
    ]
    placed = league.reindex(a["org_code"]).reset_index(drop=True)
    insert_frame(
        OrganisationAssessment,
        pd.DataFrame(
            {
                "run_id": run.pk,
                "organisation_id": a["org_code"].map(org_ids).astype("int64"),
                "peer_group": a["peer_group"].astype(str),
                "metric_count": a["metric_count"].astype("int64"),
                "average_score": a["average_score"].astype("float64"),
                "segmented": a["segmented"].astype(bool),
                "not_segmented_reason": a["not_segmented_reason"].fillna("").astype(str),
                "unadjusted_segment": a["unadjusted_segment"].astype("Int64"),
                "financial_override": a["financial_override"].astype(bool),
                "override_derived": a["override_derived"].astype(bool),
                "override_reason": a["override_reason"].fillna("").astype(str),
                "adjusted_segment": a["adjusted_segment"].astype("Int64"),
                "final_segment": a["final_segment"].astype("Int64"),
                "in_programme": a["in_programme"].astype(bool),
                "domain_scores": [domains.get(code, {}) for code in a["org_code"]],
                "average_range_low": a["avg_range_low"].astype("float64"),
                "average_range_high": a["avg_range_high"].astype("float64"),
                "league_rank": placed["rank"].astype("Int64"),
                "rank_range_low": placed["rank_range_low"].astype("Int64"),
                "rank_range_high": placed["rank_range_high"].astype("Int64"),
            }
        ),
    )


def _complete(run: SegmentationRun, result: EngineResult, timings: dict[str, float]) -> None:
    counts: dict[str, int] = {}
    for segment in result.assessments["final_segment"]:
        key = "not segmented" if pd.isna(segment) else str(int(segment))
        counts[key] = counts.get(key, 0) + 1
    cut = result.cut_points
    run.status = RunStatus.COMPLETED
    run.finished_at = timezone.now()
    run.timings = timings
    run.cut_point_1, run.cut_point_2, run.cut_point_3 = (
        (cut.t1, cut.t2, cut.t3) if cut else (None, None, None)
    )
    run.cut_points_source = cut.source if cut else ""
    run.cut_points_by_peer_group = {
        group: {"t1": c.t1, "t2": c.t2, "t3": c.t3, "source": c.source, "pool": c.pool}
        for group, c in result.cut_points_by_peer_group.items()
    }
    run.organisation_count = len(result.assessments)
    run.segment_counts = dict(sorted(counts.items()))
    run.warnings = list(result.warnings)
    run.save()

"""Segmentation runs and their publication.

:func:`run_segmentation` reads a period's inputs, runs the pure engine and stores the
results as a *provisional* run (the period's newest, ``latest_run``): it changes nobody's
official position. :func:`publish_run` makes a completed run the period's official results
(``current_run``), keeps its cut points for the period, and only then applies what follows
from it. Publication is the one thing that changes a period's official results.

A run is a workflow above both consequences of a segmentation (earned autonomy in
``oversight.autonomy`` and delegated specialised services in ``delegation``):
:func:`_apply_consequences` orders them. See ``docs/adr/0013`` and ``0016``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from core.errors import ApplicationError
from delegation.selectors import current_icb_segments
from delegation.services import apply_conditions, record_run_icb_segments
from systems import audit
from systems.actors import Actor, SystemActor, person_of
from systems.models import Organisation, OrganisationKind, existed_on_q

from .autonomy.response import respond_to_run
from .bulk import insert_frame
from .compacts.tracking import track_commitments
from .cut_points import PLACES, exact
from .engine import EngineInputs, EngineResult, MethodologyNotReady, MethodologySpec, run_engine
from .metric_ids import NOT_ENGINE_INPUTS
from .models import (
    InputKind,
    MetricScore,
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
    RunStatus,
    SegmentationRun,
)
from .selectors import programme_members_on

logger = logging.getLogger(__name__)


@dataclass
class PreparedRun:
    spec: MethodologySpec
    methodology_fingerprint: str
    inputs: EngineInputs
    inputs_fingerprint: str
    organisation_ids: dict[str, int]
    inputs_as_at: datetime.datetime | None = None


def prepare_run(
    period: ReportingPeriod,
    *,
    replicates: int | None = None,
    held_pools_of: SegmentationRun | None = None,
) -> PreparedRun:
    """Everything the engine needs for ``period``, read from the database; with
    ``held_pools_of`` (a published run), rank scores are worked against its pools."""
    methodology = period.methodology
    metric_rows = list(methodology.metrics.order_by("position"))
    spec = _ready_spec(period, metric_rows)
    current = MetricValue.objects.current().filter(period=period)
    rows = list(
        current.values_list(
            "organisation_id", "metric_id", "kind", "value", "text", "reporting_date"
        )
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
        pinned_cut_points=period.pinned_cut_points or period.frozen_cut_points,
        pinned_source="pinned" if period.pinned_cut_points else "frozen",
        held_pools=_held_pools(held_pools_of),
        replicates=replicates,
    )
    methodology_fp = methodology.fingerprint(metric_rows)
    inputs_fp = _fingerprint(
        methodology_fp,
        *(json.dumps(sorted(map(_canonical, rows))) for rows in (values, scores)),
        json.dumps(sorted(flags.items())),
        json.dumps(sorted(programme)),
        json.dumps([period.pinned_cut_points, period.frozen_cut_points]),
        json.dumps(orgs.values.tolist()),
        str(replicates if replicates is not None else spec.replicates),
        f"held pools of run {held_pools_of.pk}" if held_pools_of else "pools worked afresh",
    )
    # The seed follows from the inputs, so a re-run on unchanged inputs is identical.
    inputs.seed = int(inputs_fp[:8], 16)
    return PreparedRun(
        spec,
        methodology_fp,
        inputs,
        inputs_fp,
        {c: pk for pk, c in code_of.items()},
        current.aggregate(as_at=Max("recorded_at"))["as_at"],
    )


def _ready_spec(period: ReportingPeriod, metric_rows: list) -> MethodologySpec:
    """The period's methodology as the engine reads it, refused when it cannot segment."""
    spec = MethodologySpec.from_dict(period.methodology.as_document(metric_rows))
    if spec.segmentation_method == "fixed" and not (spec.thresholds or period.pinned_cut_points):
        raise MethodologyNotReady(
            f"{spec.slug} has no fixed thresholds set and {period.label} has no pinned cut "
            f"points; run `manage.py set_thresholds --methodology {spec.slug} T1 T2 T3 "
            f'--reason …` or `manage.py pin_cut_points --period "{period.label}" T1 T2 T3 '
            "--reason …` first."
        )
    return spec


def _held_pools(run: SegmentationRun | None) -> pd.DataFrame | None:
    """The values ``run`` ranked (org_code, metric_id: the value's id, value)."""
    if run is None:
        return None
    ranked = (
        MetricScore.objects.filter(run=run, method="rank", value__isnull=False)
        .exclude(value_id="")
        .values_list("organisation__code", "value_id", "value")
    )
    return pd.DataFrame(list(ranked), columns=["org_code", "metric_id", "value"])


def _fingerprint(*parts: str) -> str:
    """A digest of everything a run's results depend on."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _canonical(row: tuple) -> list:
    return [x.isoformat() if isinstance(x, datetime.date) else x for x in row]


def run_segmentation(
    *,
    period: ReportingPeriod,
    actor: Actor,
    trigger: str = "command",
    replicates: int | None = None,
    only_if_changed: bool = False,
    publish: bool = False,
    reason: str = "",
    fresh_pools: bool = False,
) -> SegmentationRun:
    """Segment ``period`` into a new provisional run (the period's newest), atomically.

    While the period has a published run, rank scores are worked against that run's pools
    held still (an organisation whose values did not change keeps its published scores)
    unless ``fresh_pools`` or ``publish`` asks for every pool to be worked afresh.

    The run row is committed first (status ``running``) so progress is visible; the results
    and the switch of the period's newest run happen in one transaction. A failure marks
    the run ``failed`` with the reason and leaves the period as it was. The period's
    official results change only when a run is published: with ``publish`` (the national
    team's command and the demo), the new run is published at once (see :func:`publish_run`).
    With ``only_if_changed``, an unchanged period (same inputs fingerprint as its newest
    run) returns that run without segmenting again.
    """
    with period_lock(period.pk):
        _abandon_interrupted_runs(period)
        period.refresh_from_db()
        run = _run_segmentation(
            period=period,
            actor=actor,
            trigger=trigger,
            replicates=replicates,
            only_if_changed=only_if_changed,
            held_pools_of=None if (publish or fresh_pools) else period.current_run,
        )
        if publish and run.state != "published":
            run = _publish(run, actor, reason)
            period.refresh_from_db()
    return run


class PublicationRefused(ApplicationError):
    """A run that cannot be published as asked (the message says why)."""


def publish_run(*, run: SegmentationRun, actor: Actor, reason: str = "") -> SegmentationRun:
    """Make ``run`` its period's official results, then apply what follows from them.

    Only a completed run can be published, only the newest published run stands, and
    replacing a published run needs a reason. The run's cut points are kept for the period
    (unless cut points are pinned), so later provisional runs use them. Audited.
    """
    with period_lock(run.period_id):
        return _publish(run, actor, reason)


def _publish(run: SegmentationRun, actor: Actor, reason: str) -> SegmentationRun:
    with transaction.atomic():
        period = ReportingPeriod.objects.select_for_update().get(pk=run.period_id)
        run = SegmentationRun.objects.select_related("period").get(pk=run.pk)
        previous = period.current_run
        _check_publishable(run, previous, reason)
        reason = reason.strip() or f"First publication of {period.label}"
        run.published_at = timezone.now()
        run.published_by = person_of(actor)
        run.published_by_label = audit.actor_label(actor)
        run.publication_reason = reason
        run.save(
            update_fields=[
                "published_at",
                "published_by",
                "published_by_label",
                "publication_reason",
            ]
        )
        period.current_run = run
        frozen = _freeze_cut_points(period, run)
        period.save()
        audit.record(
            actor=actor,
            action="run.published",
            obj=run,
            before={"published_run": previous.pk if previous else None},
            after={
                "published_run": run.pk,
                "segment_counts": run.segment_counts,
                "cut_points": [str(t) for t in run.cut_points] if run.cut_points else None,
                "cut_points_frozen": frozen,
            },
            reason=reason,
        )
        run.period = period
        _apply_consequences(run, actor, replaced=previous)
    return run


def _check_publishable(run: SegmentationRun, previous: SegmentationRun | None, reason: str) -> None:
    label = run.period.label
    if run.status != RunStatus.COMPLETED:
        raise PublicationRefused(
            f"Run {run.pk} is {run.status}, not completed: only a completed run can be published."
        )
    if previous is not None and previous.pk == run.pk:
        raise PublicationRefused(f"Run {run.pk} is already the published run of {label}.")
    if previous is not None and run.created_at < previous.created_at:
        raise PublicationRefused(
            f"Run {run.pk} is older than run {previous.pk}, published for {label}: publish a "
            "newer run instead."
        )
    if previous is not None and not reason.strip():
        when = timezone.localtime(previous.published_at).strftime("%d %b %Y %H:%M")
        raise PublicationRefused(
            f"{label} already has published results (run {previous.pk}, published {when} by "
            f"{previous.published_by_label}); give a reason to publish run {run.pk} instead."
        )


def _freeze_cut_points(period: ReportingPeriod, run: SegmentationRun) -> bool:
    """Keep a published run's computed cut points for its period (pinned ones win)."""
    if period.pinned_cut_points or run.cut_points_source != "computed" or not run.cut_points:
        return False
    period.frozen_t1, period.frozen_t2, period.frozen_t3 = (
        run.cut_point_1,
        run.cut_point_2,
        run.cut_point_3,
    )
    period.frozen_from_run = run
    return True


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


def sweep_interrupted_runs() -> list[int]:
    """Record as interrupted every run left ``running`` for longer than
    ``RUN_STUCK_AFTER_SECONDS`` whose period nobody is segmenting now (its lock is free)."""
    limit = timezone.now() - datetime.timedelta(seconds=settings.RUN_STUCK_AFTER_SECONDS)
    periods = (
        SegmentationRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=limit)
        .values_list("period_id", flat=True)
        .distinct()
    )
    swept: list[int] = []
    for period_id in sorted(set(periods)):
        if not _try_period_lock(period_id):
            continue
        try:
            stuck = SegmentationRun.objects.filter(period_id=period_id, status=RunStatus.RUNNING)
            swept += list(stuck.values_list("pk", flat=True))
            _abandon_interrupted_runs(ReportingPeriod.objects.get(pk=period_id))
        finally:
            _release_period_lock(period_id)
    return swept


def _try_period_lock(period_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [PERIOD_LOCK_SPACE, period_id])
        return bool(cursor.fetchone()[0])


def _release_period_lock(period_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [PERIOD_LOCK_SPACE, period_id])


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
            actor=SystemActor("system"),
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
    held_pools_of: SegmentationRun | None = None,
) -> SegmentationRun:
    started = time.perf_counter()
    prepared = prepare_run(period, replicates=replicates, held_pools_of=held_pools_of)
    timings = {"load_inputs_ms": _ms(started)}
    latest = period.latest_run
    if only_if_changed and latest and latest.inputs_fingerprint == prepared.inputs_fingerprint:
        return latest

    run = SegmentationRun.objects.create(
        period=period,
        methodology=period.methodology,
        methodology_fingerprint=prepared.methodology_fingerprint,
        inputs_fingerprint=prepared.inputs_fingerprint,
        inputs_as_at=prepared.inputs_as_at,
        seed=prepared.inputs.seed,
        replicates=(
            prepared.inputs.replicates
            if prepared.inputs.replicates is not None
            else prepared.spec.replicates
        ),
        trigger=trigger,
        ranked_against=held_pools_of,
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
            previous = ReportingPeriod.objects.select_for_update().get(pk=period.pk).latest_run_id
            ReportingPeriod.objects.filter(pk=period.pk).update(latest_run=run)
            audit.record(
                actor=actor,
                action="segmentation.completed",
                obj=run,
                before={"latest_run": previous},
                after={
                    "latest_run": run.pk,
                    "segment_counts": run.segment_counts,
                    "cut_points": [str(t) for t in run.cut_points] if run.cut_points else None,
                    "inputs_fingerprint": run.inputs_fingerprint,
                },
                reason=f"Provisional segmentation of {period.label} ({trigger})",
            )
    except Exception as exc:
        logger.exception("segmentation run %s failed", run.pk)
        SegmentationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
            timings={**timings, "total_ms": _ms(started)},
        )
        raise
    period.latest_run = run
    run.period = period
    return run


def _apply_consequences(
    run: SegmentationRun, actor: Actor, replaced: SegmentationRun | None = None
) -> None:
    """What follows from a published run, inside its transaction. This is the one place
    that orders the consequences; they never call each other:

    1. the ICB segments the run computed join each ICB's segment history;
    2. earned autonomy responds (support levels, actions, freedoms, notices), given every
       ICB's segment as it now stands;
    3. the delegation condition follows each ICB's latest segment;
    4. the commitments of the year's compacts are tracked against the run.
    """
    record_run_icb_segments(run=run, actor=actor)
    icb_segments = {icb_id: row.segment for icb_id, row in current_icb_segments().items()}
    respond_to_run(run=run, actor=actor, icb_segments=icb_segments, replaced=replaced)
    apply_conditions(actor=actor)
    track_commitments(run=run, actor=actor)


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
                "computed_score": s["computed_score"].astype("float64"),
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
    # Stored exactly as applied: pinned and fixed ones as given, quartiles of 2-dp averages
    # (multiples of 0.0025) without their binary noise.
    run.cut_point_1, run.cut_point_2, run.cut_point_3 = (
        (exact(cut.t1), exact(cut.t2), exact(cut.t3)) if cut else (None, None, None)
    )
    run.cut_points_source = cut.source if cut else ""
    run.cut_points_by_peer_group = {
        group: {
            "t1": round(c.t1, PLACES),
            "t2": round(c.t2, PLACES),
            "t3": round(c.t3, PLACES),
            "source": c.source,
            "pool": c.pool,
        }
        for group, c in result.cut_points_by_peer_group.items()
    }
    run.organisation_count = len(result.assessments)
    run.segment_counts = dict(sorted(counts.items()))
    run.recomputed_cut_points = {
        group: {"t1": c.t1, "t2": c.t2, "t3": c.t3}
        for group, c in result.recomputed_cut_points.items()
    }
    run.pools = [
        {
            "metric_id": str(p.metric_id),
            "pool": str(p.pool),
            "ranked": int(p.ranked),
            "applies": int(p.applies),
            "partial": bool(p.partial),
            "not_loaded": list(p.not_loaded),
        }
        for p in result.pools.itertuples(index=False)
    ]
    run.warnings = list(result.warnings)
    run.save()

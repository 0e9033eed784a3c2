"""Uploads: receive a file, validate it, store its rows (all or nothing), recompute.

The stages are separate functions so the web, the API, the command line and the Celery
task share them: :func:`receive_upload` keeps the file and enqueues the work on commit;
:func:`process_upload` validates, imports and recomputes; :func:`retry_upload` starts a
failed or stalled upload again from where it stopped. The rows are written by
:mod:`.storage`; the reference data they are checked against is read by
:func:`.selectors.reference_data`.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import kombu.exceptions
import pandas as pd
from django import db
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from systems import audit
from systems.actors import Actor, person_of
from systems.authorization import Input, input_refusal

from ..engine import MethodologyNotReady
from ..models import (
    UPLOAD_IN_PROGRESS,
    MetricUpload,
    ReportingPeriod,
    UploadStatus,
)
from ..notifications import notify_uploader
from ..runs import run_segmentation
from .authority import Authority
from .problems import FileRejected, Problem, capped, unreadable
from .readers import ROW, Limits, read_table
from .selectors import reference_data
from .storage import store_rows
from .validation import HEADER_SETS, LEAGUE, USED_COLUMNS, validate

logger = logging.getLogger(__name__)


class UploadRefused(ApplicationError):
    """The file is refused before it is kept (too large, empty name)."""

    field = "file"


def limits() -> Limits:
    return Limits(
        max_bytes=settings.METRIC_UPLOAD_MAX_BYTES,
        max_uncompressed_bytes=settings.METRIC_UPLOAD_MAX_UNCOMPRESSED_BYTES,
        max_rows=settings.METRIC_UPLOAD_MAX_ROWS,
        max_columns=settings.METRIC_UPLOAD_MAX_COLUMNS,
        max_cell_chars=settings.METRIC_UPLOAD_MAX_CELL_CHARS,
    )


# --- Receiving ------------------------------------------------------------------------------


ALREADY_IMPORTED = "This file was already imported; it was not imported again."
# A database connection lost, or the task queue out of reach: worth trying again later.
TRANSIENT_ERRORS = (db.OperationalError, db.InterfaceError)
BROKER_ERRORS = (kombu.exceptions.OperationalError, ConnectionError, OSError)


@dataclass
class Received:
    upload: MetricUpload
    created: bool
    message: str = ""


def receive_upload(
    *,
    content: bytes,
    filename: str,
    actor: Actor,
    requested_format: str = "",
    via: str = "web",
    segment: bool = True,
    enqueue: bool = True,
    authority: dict[str, list[str] | None] | None = None,
) -> Received:
    """Keep the file and start its processing (on commit). Content already imported, or
    being imported now, is recognised and the earlier upload returned instead (its
    ``message`` says only that; whether to show that upload is the caller's choice).
    ``authority`` (see :func:`systems.authorization.upload_authority`) says which kinds of
    input the file may carry, for which organisations; ``None``: anything (the system)."""
    if len(content) > settings.METRIC_UPLOAD_MAX_BYTES:
        raise UploadRefused(
            f"{filename} is {len(content) / 1048576:.1f} MB; the largest file accepted is "
            f"{settings.METRIC_UPLOAD_MAX_BYTES / 1048576:.0f} MB. Split it by quarter."
        )
    if not content:
        raise UploadRefused(f"{filename} is empty (0 bytes).")
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        earlier = (
            MetricUpload.objects.filter(sha256=digest)
            .filter(
                # Imported already, or on its way (a duplicate submitted twice quickly).
                imported_at__isnull=False
            )
            .first()
        ) or MetricUpload.objects.filter(sha256=digest, status__in=UPLOAD_IN_PROGRESS).first()
        if earlier is not None:
            audit.record(
                actor=actor,
                action="upload.repeated",
                obj=earlier,
                after={"filename": filename, "sha256": digest},
                reason=f"Same content as upload {earlier.pk}; not imported again",
            )
            return Received(earlier, False, ALREADY_IMPORTED)
        user = person_of(actor)
        upload = MetricUpload(
            original_name=filename[:255],
            sha256=digest,
            size_bytes=len(content),
            requested_format=requested_format,
            uploaded_by=user,
            uploaded_by_label=audit.actor_label(actor),
            via=via,
            segment_after_import=segment,
            allowed_codes=_upload_scope(authority),
            input_authority=authority,
        )
        upload.file.save(f"{digest[:16]}-{_safe_name(filename)}", ContentFile(content), save=False)
        upload.save()
        audit.record(
            actor=actor,
            action="upload.received",
            obj=upload,
            after={"filename": filename, "sha256": digest, "bytes": len(content), "via": via},
            reason="Metric file uploaded",
        )
        if enqueue:
            _enqueue(upload)
    return Received(upload, True)


def _authority_of(upload: MetricUpload) -> Authority | None:
    """What the upload may carry, as its uploader's roles allowed when it was received."""
    kinds = upload.input_authority
    if kinds is None:
        if upload.allowed_codes is None:
            return None
        kinds = {Input.VALUE: upload.allowed_codes}
    return Authority(
        kinds={k: None if codes is None else frozenset(codes) for k, codes in kinds.items()},
        refusals={kind: input_refusal(kind) for kind in Input.values},
    )


def _upload_scope(authority: dict[str, list[str] | None] | None) -> list[str] | None:
    """Whom a file may be about: the organisations metric values may be supplied for."""
    if authority is None:
        return None
    scope = authority.get(Input.VALUE, [])
    return None if scope is None else sorted(scope)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _safe_name(filename: str) -> str:
    keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return keep[-80:] or "upload"


def _enqueue(upload: MetricUpload) -> None:
    """Queue the upload's work once the transaction commits. When the task queue cannot be
    reached the upload is kept (``queued_at`` blank) and the sweeper queues it later."""
    pk = upload.pk
    transaction.on_commit(lambda: queue_upload(pk))


def queue_upload(upload_id: int) -> bool:
    """Put the upload's work on the task queue now; ``False`` when the queue is down (the
    upload says so and waits for the sweeper)."""
    from ..tasks import process_upload as task  # lazy: oversight.tasks imports this module

    try:
        task.delay(upload_id)
    except BROKER_ERRORS as exc:
        logger.warning("upload %s not queued: %s", upload_id, exc)
        MetricUpload.objects.filter(pk=upload_id, queued_at__isnull=True).update(
            stage_detail="Waiting for the task queue: it starts as soon as the queue is back",
            updated_at=timezone.now(),
        )
        return False
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        MetricUpload.objects.filter(pk=upload_id).update(queued_at=timezone.now())
    return True


# --- Processing -----------------------------------------------------------------------------


def _set(upload: MetricUpload, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(upload, name, value)
    fields["updated_at"] = timezone.now()
    MetricUpload.objects.filter(pk=upload.pk).update(**fields)


def process_upload(*, upload_id: int, actor: Actor = "celery: process_upload") -> MetricUpload:
    """Validate, import and recompute one upload, from whatever stage it stopped at.

    Safe to run again: an upload that is finished is left alone, and one whose rows are
    already stored goes straight to the recompute. Unexpected failures mark it ``failed``
    with the reason (it can be retried); they are not raised.
    """
    upload = MetricUpload.objects.get(pk=upload_id)
    if upload.status in (UploadStatus.DONE, UploadStatus.INVALID, UploadStatus.DUPLICATE):
        return upload
    _set(upload, attempts=upload.attempts + 1, failure_reason="")
    try:
        if upload.imported_at is None and not _validate_and_import(upload, actor):
            _tell_uploader(upload)
            return upload
        if upload.detected_format == LEAGUE:
            # NHS England's published results: stored beside ours, never recomputed from.
            _set(
                upload,
                status=UploadStatus.DONE,
                progress=100,
                finished_at=timezone.now(),
                stage_detail="NHS England's published results stored; our results are unchanged",
            )
        elif upload.segment_after_import:
            _recompute(upload, actor)
        else:
            _set(upload, status=UploadStatus.DONE, progress=100, finished_at=timezone.now())
    except TRANSIENT_ERRORS:
        # The database went away: the task retries with back-off, and the sweeper after it.
        raise
    except Exception as exc:
        logger.exception("upload %s failed", upload.pk)
        _fail(upload, exc, actor)
    _tell_uploader(upload)
    return upload


def _fail(upload: MetricUpload, exc: Exception, actor: Actor) -> None:
    _set(
        upload,
        status=UploadStatus.FAILED,
        failure_reason=f"{type(exc).__name__}: {exc}"[:2000],
        finished_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action="upload.failed",
        obj=upload,
        after={"reason": upload.failure_reason},
        reason="Processing stopped with an error; it can be retried",
    )


def _tell_uploader(upload: MetricUpload) -> None:
    """A notice to the person who uploaded the file, once it has ended one way or the
    other, linking to the upload's page."""
    if upload.status not in (UploadStatus.DONE, UploadStatus.INVALID, UploadStatus.FAILED):
        return
    outcome = {
        UploadStatus.DONE: "done",
        UploadStatus.INVALID: f"rejected ({upload.error_count:,} problem"
        f"{'s' if upload.error_count != 1 else ''}; nothing stored)",
        UploadStatus.FAILED: "failed (it can be retried)",
    }[UploadStatus(upload.status)]
    notify_uploader(
        upload.uploaded_by,
        f"Upload {upload.pk} ({upload.original_name[:80]}): {outcome}",
        upload.stage_detail or upload.failure_reason,
        reverse("uploads:detail", args=[upload.pk]),
    )


def _validate_and_import(upload: MetricUpload, actor: Actor) -> bool:
    _set(upload, status=UploadStatus.VALIDATING, progress=0, stage_detail="Reading the file")
    with upload.file.open("rb") as fh:
        content = fh.read()

    def progress(percent: int, detail: str) -> None:
        _set(upload, progress=percent, stage_detail=detail)

    filename = upload.original_name
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        raw = read_table(
            content,
            filename,
            header_sets=HEADER_SETS,
            limits=limits(),
            progress=progress,
            columns=USED_COLUMNS,
        )
        timings["read_ms"] = _ms(started)
        _set(
            upload,
            file_type=raw.file_type,
            encoding=raw.encoding,
            sheet_name=raw.sheet,
            row_count=len(raw.frame),
            progress=60,
            stage_detail=f"Checking {len(raw.frame):,} rows",
        )
        checked = validate(
            raw.frame,
            reference_data(),
            requested=upload.requested_format,
            filename=filename,
            header=raw.header,
            allowed=set(upload.allowed_codes) if upload.allowed_codes is not None else None,
            authority=_authority_of(upload),
            file_type=raw.file_type,
            max_note_chars=settings.METRIC_UPLOAD_MAX_NOTE_CHARS,
        )
    except FileRejected as rejected:
        listed = pd.DataFrame([p.as_dict() for p in rejected.problems])
        _reject(upload, *_listed(listed), [], actor)
        return False
    except db.DatabaseError:
        raise  # ours, not the file's: retried if transient, else failed and retryable
    except Exception as exc:  # a file that trips the reader is the file's problem: say so
        logger.exception("upload %s could not be read", upload.pk)
        _reject(upload, [unreadable(exc, filename).as_dict()], [], [], actor)
        return False
    timings["validate_ms"] = _ms(started) - timings["read_ms"]
    warnings = [_with_sheet(p, raw.sheet) for p in raw.warnings + checked.warnings]
    _set(upload, detected_format=checked.format)
    if not checked.ok:
        _reject(upload, *_problem_dicts(checked.errors, filename, raw.sheet), warnings, actor)
        return False
    _set(upload, progress=80, stage_detail=f"Storing {len(checked.rows):,} rows")
    return _import(upload, checked.rows, warnings, actor, timings)


def _with_sheet(problem: Problem, sheet: str) -> dict[str, Any]:
    data = problem.as_dict()
    data["sheet"] = data["sheet"] or sheet
    return data


def _listed(problems: pd.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    listed, kinds = capped(problems)
    listed = listed.astype(object).where(listed.notna(), None)
    return listed.to_dict("records"), kinds


def _problem_dicts(
    errors: pd.DataFrame, filename: str, sheet: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    head, kinds = capped(errors)
    return [
        {
            "severity": "error",
            "file": filename,
            "sheet": sheet,
            "row": int(row),
            "column": column,
            "value": str(value)[:200],
            "message": message,
        }
        for row, column, value, message in head[[ROW, "column", "value", "message"]].itertuples(
            index=False
        )
    ], kinds


def _reject(
    upload: MetricUpload,
    errors: list[dict[str, Any]],
    kinds: list[dict[str, Any]],
    warnings: list[dict[str, Any]],
    actor: Actor,
) -> None:
    """Record the upload as rejected: the problems listed (the first of each kind), the
    count of each kind and of all."""
    count = sum(k["count"] for k in kinds) if kinds else len(errors)
    _set(
        upload,
        status=UploadStatus.INVALID,
        errors=errors,
        error_kinds=kinds,
        error_count=count,
        warnings=warnings,
        progress=100,
        stage_detail=f"{count:,} problem{'s' if count != 1 else ''} found; nothing was stored",
        finished_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action="upload.rejected",
        obj=upload,
        after={"errors": count, "first": errors[0]["message"] if errors else ""},
        reason="The file has errors; nothing was stored",
    )


def _import(
    upload: MetricUpload,
    rows: pd.DataFrame,
    warnings: list[dict[str, Any]],
    actor: Actor,
    timings: dict[str, float] | None = None,
) -> bool:
    started = time.perf_counter()
    period_ids = sorted(int(p) for p in rows["period_id"].unique())
    with transaction.atomic():
        # One import per period at a time: concurrent uploads for a period queue here.
        list(ReportingPeriod.objects.select_for_update().filter(pk__in=period_ids).order_by("pk"))
        earlier = (
            MetricUpload.objects.filter(sha256=upload.sha256, imported_at__isnull=False)
            .exclude(pk=upload.pk)
            .first()
        )
        if earlier is not None:
            _set(
                upload,
                status=UploadStatus.DUPLICATE,
                duplicate_of=earlier,
                progress=100,
                stage_detail="Same content as an earlier upload; not imported again",
                finished_at=timezone.now(),
            )
            return False
        counts = store_rows(upload, rows, actor)
        by_period = rows.groupby("period_id").size()
        labels = dict(ReportingPeriod.objects.filter(pk__in=period_ids).values_list("pk", "label"))
        summary = {
            "rows": len(rows),
            **counts,
            "by_kind": {k: int(v) for k, v in sorted(rows["kind"].value_counts().items()) if v},
            "by_period": {labels[int(p)]: int(n) for p, n in by_period.items()},
            "timings": {**(timings or {}), "store_ms": _ms(started)},
        }
        upload.periods.set(period_ids)
        now = timezone.now()
        _set(
            upload,
            status=UploadStatus.IMPORTED,
            imported_at=now,
            summary=summary,
            warnings=warnings,
            progress=100,
            stage_detail=f"Stored {counts['created']:,} new values",
        )
        audit.record(
            actor=actor,
            action="upload.imported",
            obj=upload,
            after=summary,
            reason=f"Imported {upload.original_name}",
        )
    return True


def _recompute(upload: MetricUpload, actor: Actor) -> None:
    periods = list(upload.periods.select_related("methodology", "current_run").order_by("pk"))
    _set(upload, status=UploadStatus.RECOMPUTING, progress=0, stage_detail="Segmenting")
    skipped = []
    for done, period in enumerate(periods):
        _set(
            upload,
            progress=int(100 * done / max(len(periods), 1)),
            stage_detail=f"Segmenting {period.label} ({done + 1} of {len(periods)})",
        )
        try:
            run = run_segmentation(
                period=period, actor=actor, trigger="upload", only_if_changed=True
            )
        except MethodologyNotReady as exc:
            skipped.append(f"{period.label}: {exc}")
            continue
        upload.runs.add(run)
    summary = {**upload.summary, "not_segmented": skipped}
    _set(
        upload,
        status=UploadStatus.DONE,
        progress=100,
        summary=summary,
        stage_detail=(
            f"Imported and segmented {len(periods) - len(skipped)} of {len(periods)} "
            f"period{'s' if len(periods) != 1 else ''} into provisional results (the published "
            "results change only when the national team publishes)"
        ),
        finished_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action="upload.recomputed",
        obj=upload,
        after={"runs": list(upload.runs.values_list("pk", flat=True)), "skipped": skipped},
        reason="Segmentation after import",
    )


# --- Retrying -------------------------------------------------------------------------------


class CannotRetry(ApplicationError):
    """The upload cannot be retried now; the message says why."""

    field = "upload"


def is_stalled(upload: MetricUpload) -> bool:
    """In progress with no sign of life for longer than ``UPLOAD_STALLED_AFTER_SECONDS``
    (the worker that had it stopped)."""
    limit = datetime.timedelta(seconds=settings.UPLOAD_STALLED_AFTER_SECONDS)
    return upload.in_progress and timezone.now() - upload.updated_at > limit


@dataclass
class Sweep:
    requeued: list[int]
    failed: list[int]


def sweep_stuck_uploads(*, actor: Actor) -> Sweep:
    """Queue again every upload that never reached the queue or shows no progress for
    ``UPLOAD_STALLED_AFTER_SECONDS``; one that has stopped ``UPLOAD_MAX_ATTEMPTS`` times is
    failed with the reason instead (a person can retry it). Audited."""
    now = timezone.now()
    grace = now - datetime.timedelta(seconds=settings.UPLOAD_QUEUE_GRACE_SECONDS)
    stalled = now - datetime.timedelta(seconds=settings.UPLOAD_STALLED_AFTER_SECONDS)
    waiting = MetricUpload.objects.filter(
        status__in=(UploadStatus.RECEIVED, UploadStatus.IMPORTED),
        queued_at__isnull=True,
        updated_at__lt=grace,
    )
    stuck = MetricUpload.objects.filter(status__in=UPLOAD_IN_PROGRESS, updated_at__lt=stalled)
    sweep = Sweep([], [])
    for upload in (waiting | stuck).distinct().order_by("pk"):
        if upload.queued_at is not None and upload.attempts >= settings.UPLOAD_MAX_ATTEMPTS:
            _give_up(upload, actor)
            sweep.failed.append(upload.pk)
        else:
            _requeue(upload, actor, never_queued=upload.queued_at is None)
            sweep.requeued.append(upload.pk)
    return sweep


def _requeue(upload: MetricUpload, actor: Actor, *, never_queued: bool) -> None:
    with transaction.atomic():
        before = upload.status
        _set(
            upload,
            status=UploadStatus.IMPORTED if upload.imported_at else UploadStatus.RECEIVED,
            stage_detail="Queued again",
            queued_at=None,
        )
        audit.record(
            actor=actor,
            action="upload.requeued",
            obj=upload,
            before={"status": before},
            after={"status": upload.status},
            reason=(
                "It had not reached the task queue"
                if never_queued
                else "It stopped without finishing (its worker was lost)"
            ),
        )
        _enqueue(upload)


def _give_up(upload: MetricUpload, actor: Actor) -> None:
    reason = (
        f"Stopped without finishing {upload.attempts} times; left for a person to look at "
        "and retry."
    )
    with transaction.atomic():
        _set(upload, status=UploadStatus.FAILED, failure_reason=reason, finished_at=timezone.now())
        audit.record(
            actor=actor,
            action="upload.failed",
            obj=upload,
            after={"reason": reason},
            reason="The sweeper gave up on it",
        )


def retry_upload(*, upload: MetricUpload, actor: Actor, reason: str = "") -> MetricUpload:
    """Start a failed or stalled upload again, from where it stopped (on commit)."""
    if not (upload.status == UploadStatus.FAILED or is_stalled(upload)):
        raise CannotRetry(
            f"Upload {upload.pk} is {upload.get_status_display().lower()}; only a failed or "
            "stalled upload can be retried."
        )
    with transaction.atomic():
        before = upload.status
        _set(
            upload,
            status=UploadStatus.IMPORTED if upload.imported_at else UploadStatus.RECEIVED,
            stage_detail="Queued again",
            progress=0,
            finished_at=None,
        )
        audit.record(
            actor=actor,
            action="upload.retried",
            obj=upload,
            before={"status": before},
            after={"status": upload.status},
            reason=reason or "Retried by a user",
        )
        _enqueue(upload)
    return upload

"""Background work: thin tasks over the services. Each is safe to run again (an upload
resumes where it stopped; a run is written whole or not), so a message delivered twice
or re-queued by the sweeper does no harm. Celery's Django fix-up closes unusable database
connections before each task, so a retry after a lost connection starts on a new one."""

from celery import shared_task

from systems.actors import SystemActor

from . import notifications
from .models import ReportingPeriod
from .runs import run_segmentation, sweep_interrupted_runs
from .uploads.services import BROKER_ERRORS, TRANSIENT_ERRORS, sweep_stuck_uploads
from .uploads.services import process_upload as process

# Lost database connections and an unreachable broker are retried, waiting 2, 4, 8, 16, 32
# seconds; after that the sweeper takes over.
RETRY = {
    "autoretry_for": TRANSIENT_ERRORS + BROKER_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": False,
    "max_retries": 5,
}


@shared_task(acks_late=True, **RETRY)
def segment_period(period_id: int, trigger: str = "task", only_if_changed: bool = True) -> int:
    """Segment one period in the background; safe to retry (a run is written whole or not)."""
    period = ReportingPeriod.objects.select_related("methodology", "current_run").get(pk=period_id)
    run = run_segmentation(
        period=period,
        actor=SystemActor("celery: segment_period"),
        trigger=trigger,
        only_if_changed=only_if_changed,
    )
    return run.pk


@shared_task(acks_late=True, ignore_result=True, **RETRY)
def process_upload(upload_id: int) -> str:
    """Validate, import and recompute one upload; safe to run again (it resumes)."""
    return process(upload_id=upload_id).status


@shared_task
def sweep_stuck_work() -> dict[str, list[int]]:
    """Every few minutes (``SWEEP_EVERY_SECONDS``): interrupted runs recorded as such,
    uploads never queued or stalled queued again, or failed with the reason."""
    runs = sweep_interrupted_runs()
    uploads = sweep_stuck_uploads(actor=SystemActor("celery: sweep_stuck_work"))
    return {"runs": runs, "requeued": uploads.requeued, "failed": uploads.failed}


@shared_task
def send_daily_digests() -> int:
    """Each morning: one e-mail per person who chose the daily digest."""
    return notifications.send_daily_digests()

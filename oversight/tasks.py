from celery import shared_task

from systems.actors import SystemActor

from .models import ReportingPeriod
from .runs import run_segmentation
from .uploads.services import process_upload as process


@shared_task(acks_late=True)
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


@shared_task(acks_late=True)
def process_upload(upload_id: int) -> str:
    """Validate, import and recompute one upload; safe to run again (it resumes)."""
    return process(upload_id=upload_id).status

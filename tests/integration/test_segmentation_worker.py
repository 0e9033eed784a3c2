"""The background recompute on a real worker: the task sees committed inputs only."""

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from oversight.inputs import record_inputs
from oversight.models import ReportingPeriod, RunStatus, SegmentationRun
from oversight.services import pin_cut_points
from oversight.tasks import segment_period
from tests.conftest import EXAMPLES, nhse_file_rows

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(transactional_db):
    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as w:
        yield w


def test_segment_period_task_on_a_real_worker(worker):
    from oversight.services import load_methodologies
    from systems.services import load_reference_data

    load_reference_data()
    load_methodologies()
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    rows = nhse_file_rows(EXAMPLES / "nof-synthetic-mhc-q2-2025-26.csv", period)
    record_inputs(period=period, rows=rows, source="example", actor="test")
    pin_cut_points(period=period, cut_points=(2.0, 2.35, 2.7), reason="example", actor="test")

    run_id = segment_period.delay(period.pk, trigger="upload").get(timeout=120)
    run = SegmentationRun.objects.get(pk=run_id)
    assert run.status == RunStatus.COMPLETED
    assert run.trigger == "upload"
    assert run.triggered_by_label == "celery: segment_period"
    period.refresh_from_db()
    assert period.latest_run_id == run_id and period.current_run_id is None  # provisional
    assert run.segment_counts == {
        "1": 1,
        "2": 1,
        "3": 8,
        "4": 4,
        "not segmented": run.organisation_count - 14,
    }

    # Unchanged inputs: the task recognises it and keeps the current run.
    assert segment_period.delay(period.pk).get(timeout=120) == run_id

"""Uploads on a real Celery worker over Redis: the task sees committed rows only, a worker
stopped mid-run leaves the previous run current, and a retry completes the upload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from config.celery import app as celery_app
from oversight.models import MetricUpload, ReportingPeriod, RunStatus, SegmentationRun, UploadStatus
from oversight.services import load_methodologies, pin_cut_points
from oversight.uploads.services import process_upload, receive_upload, retry_upload
from systems.services import load_reference_data
from tests.conftest import EXAMPLES
from tests.uploads.files import nhse_file, nhse_rows_for, template_file

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (EXAMPLES / "nof-synthetic-mhc-q2-2025-26.csv").read_bytes()


@pytest.fixture
def loaded(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    load_reference_data()
    load_methodologies()
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    pin_cut_points(period=period, cut_points=(2.0, 2.35, 2.7), reason="example", actor="test")
    return period


def wait_for(condition, timeout: float = 90, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError("timed out waiting")


def status_of(upload: MetricUpload) -> str:
    return MetricUpload.objects.values_list("status", flat=True).get(pk=upload.pk)


def test_upload_processed_by_a_real_worker(loaded):
    """NHS England's format, two quarters, every open trust (three peer groups)."""
    q1 = ReportingPeriod.objects.by_key("Q1 2025/26")
    content = nhse_file(nhse_rows_for(q1) + nhse_rows_for(loaded))
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        received = receive_upload(content=content, filename="nof.csv", actor="analyst")
        wait_for(lambda: status_of(received.upload) == UploadStatus.DONE)
    upload = MetricUpload.objects.get(pk=received.upload.pk)
    assert upload.summary["by_period"].keys() == {"Q1 2025/26", "Q2 2025/26"}
    runs = list(upload.runs.order_by("period__start_date"))
    assert [r.period.label for r in runs] == ["Q1 2025/26", "Q2 2025/26"]
    for run in runs:
        run.period.refresh_from_db()
        assert run.period.latest_run_id == run.pk and run.state == "provisional"
        assert run.status == RunStatus.COMPLETED and run.trigger == "upload"
        groups = set(run.assessments.filter(segmented=True).values_list("peer_group", flat=True))
        assert groups == {"acute", "mental-health-and-community", "ambulance"}


def test_worker_killed_mid_run_leaves_previous_run_newest_and_retry_completes(loaded, settings):
    first = receive_upload(content=EXAMPLE, filename="nof.csv", actor="analyst", enqueue=False)
    process_upload(upload_id=first.upload.pk)
    loaded.refresh_from_db()
    previous = loaded.latest_run
    assert previous.status == RunStatus.COMPLETED

    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ENGINE_PAUSE_SECONDS": "120",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.slow_worker"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        second = receive_upload(
            content=template_file([["RKL", "OF1005", "Q2 2025/26", "4"]]),
            filename="change.csv",
            actor="analyst",
        )
        wait_for(
            lambda: SegmentationRun.objects.filter(period=loaded, status=RunStatus.RUNNING).first()
        )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    interrupted = SegmentationRun.objects.get(period=loaded, status=RunStatus.RUNNING)
    loaded.refresh_from_db()
    assert loaded.latest_run_id == previous.pk
    upload = MetricUpload.objects.get(pk=second.upload.pk)
    assert upload.status == UploadStatus.RECOMPUTING
    assert upload.imported_at is not None

    settings.UPLOAD_STALLED_AFTER_SECONDS = 0
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        retry_upload(upload=upload, actor="analyst", reason="worker stopped")
        wait_for(lambda: status_of(upload) == UploadStatus.DONE)

    upload.refresh_from_db()
    assert upload.attempts == 2
    loaded.refresh_from_db()
    latest = loaded.latest_run
    assert latest.pk not in (previous.pk, interrupted.pk)
    assert latest.status == RunStatus.COMPLETED
    assert latest.inputs_fingerprint != previous.inputs_fingerprint
    interrupted.refresh_from_db()
    assert interrupted.status == RunStatus.FAILED
    assert interrupted.error.startswith("Interrupted")

"""Faults with a real worker, its beat, PostgreSQL and Redis: whatever breaks, every upload
ends ``done`` by itself within a sweep period, with one published run and no value stored
twice (docs/adr/0018).

Each test starts ``tests.integration.fault_worker`` (prefork, one child, beat inside) with a
sweep every 2 seconds and uploads stalled after 4, breaks something at the moment the worker
pauses, and waits."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from oversight.models import (
    MetricUpload,
    MetricValue,
    ReportingPeriod,
    RunStatus,
    SegmentationRun,
    UploadStatus,
)
from oversight.runs import run_segmentation
from oversight.services import load_methodologies, pin_cut_points
from oversight.uploads.services import receive_upload
from systems.services import load_reference_data
from tests.conftest import EXAMPLES
from tests.uploads.files import template_file

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (EXAMPLES / "nof-synthetic-mhc-q2-2025-26.csv").read_bytes()
SWEEP = {
    "SWEEP_EVERY_SECONDS": "2",
    "UPLOAD_STALLED_AFTER_SECONDS": "4",
    "UPLOAD_QUEUE_GRACE_SECONDS": "1",
    "RUN_STUCK_AFTER_SECONDS": "4",
}
CHANGE = template_file([["RKL", "OF1005", "Q2 2025/26", "4"], ["RHA", "OF1005", "Q2 2025/26", "1"]])


@pytest.fixture
def published(transactional_db, settings, tmp_path):
    """The worked example, imported and published; the test's upload changes two trusts."""
    settings.MEDIA_ROOT = tmp_path / "media"
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    load_reference_data()
    load_methodologies()
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    pin_cut_points(period=period, cut_points=(2.0, 2.35, 2.7), reason="example", actor="test")
    first = receive_upload(content=EXAMPLE, filename="nof.csv", actor="t", enqueue=False)
    from oversight.uploads.services import process_upload

    process_upload(upload_id=first.upload.pk)
    run_segmentation(period=period, actor="national", replicates=0, publish=True, reason="q2")
    period.refresh_from_db()
    return period


class Worker:
    """The fault worker as a process group: started, its child found, killed."""

    def __init__(self, tmp_path: Path, pause_at: str = "", beat: bool = True) -> None:
        db = connection.settings_dict
        self.flag = tmp_path / f"paused-{time.monotonic_ns()}"
        env = {
            **os.environ,
            **SWEEP,
            "DEBUG": "1",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PAUSE_AT": pause_at,
            "PAUSE_FLAG": str(self.flag),
            "BEAT_SCHEDULE_FILE": str(tmp_path / f"beat-{time.monotonic_ns()}"),
        }
        if beat:
            env["WITH_BEAT"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.fault_worker"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "worker.log").open("ab"),
        )

    def paused_child(self, timeout: float = 90) -> int:
        """The pid of the child that paused (once it has)."""
        wait_for(self.flag.exists, timeout)
        return int(wait_for(lambda: self.flag.read_text().strip(), 5))

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.kill_group()


def wait_for(condition, timeout: float = 90, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError("timed out waiting")


def status_of(pk: int) -> str:
    return MetricUpload.objects.values_list("status", flat=True).get(pk=pk)


def assert_whole(period: ReportingPeriod, upload_pk: int, published_pk: int) -> None:
    """Done, one newest completed run from the upload, the published run unchanged, and
    each (organisation, metric, period) with one current value."""
    upload = MetricUpload.objects.get(pk=upload_pk)
    assert upload.status == UploadStatus.DONE, (upload.status, upload.failure_reason)
    period.refresh_from_db()
    assert period.current_run_id == published_pk
    latest = period.latest_run
    assert latest.status == RunStatus.COMPLETED and latest.pk in set(
        upload.runs.values_list("pk", flat=True)
    )
    assert not SegmentationRun.objects.filter(period=period, status=RunStatus.RUNNING).exists()
    current = MetricValue.objects.current().filter(period=period)
    assert current.count() == current.values("organisation", "metric_id", "kind").distinct().count()
    assert current.filter(organisation__code="RKL", metric_id="OF1005").get().value == 4


def _submit() -> int:
    return receive_upload(content=CHANGE, filename="change.csv", actor="analyst").upload.pk


@pytest.mark.parametrize("pause_at", ["import", "engine"])
def test_the_busy_child_killed_mid_task_is_recovered(published, tmp_path, pause_at):
    published_pk = published.current_run_id
    with Worker(tmp_path, pause_at) as worker:
        pk = _submit()
        child = worker.paused_child()
        started = time.monotonic()
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: status_of(pk) == UploadStatus.DONE, 60)
        print(f"child killed during {pause_at}: done after {time.monotonic() - started:.1f} s")
    assert_whole(published, pk, published_pk)
    if pause_at == "engine":
        interrupted = SegmentationRun.objects.filter(period=published, status=RunStatus.FAILED)
        assert interrupted.get().error.startswith("Interrupted")


def test_the_workers_main_process_killed_is_recovered_by_the_next_worker(published, tmp_path):
    published_pk = published.current_run_id
    with Worker(tmp_path, "engine") as worker:
        pk = _submit()
        worker.paused_child()
        worker.kill_group()  # the main process and its child: the message stays unacknowledged
    started = time.monotonic()
    with Worker(tmp_path):  # restarted, as a service manager would
        wait_for(lambda: status_of(pk) == UploadStatus.DONE, 60)
        print(f"main process killed: done {time.monotonic() - started:.1f} s after the restart")
    assert_whole(published, pk, published_pk)


def test_a_database_connection_cut_mid_run_is_retried(published, tmp_path):
    published_pk = published.current_run_id
    with Worker(tmp_path, "engine") as worker:
        pk = _submit()
        child = worker.paused_child()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name NOT LIKE 'pytest%%'"
            )
        started = time.monotonic()
        assert child
        worker.flag.write_text("go")
        wait_for(lambda: status_of(pk) == UploadStatus.DONE, 60)
        print(f"connection cut: done after {time.monotonic() - started:.1f} s")
    assert_whole(published, pk, published_pk)


def test_a_submit_while_the_broker_is_down_keeps_the_upload_and_queues_it_later(
    published, tmp_path
):
    published_pk = published.current_run_id
    db = connection.settings_dict
    script = (
        "import time;from oversight.uploads.services import receive_upload;"
        "from tests.uploads.files import template_file;"
        "t=time.monotonic();"
        "r=receive_upload(content=template_file([['RKL','OF1005','Q2 2025/26','4'],"
        "['RHA','OF1005','Q2 2025/26','1']]),filename='change.csv',actor='analyst');"
        "print(r.upload.pk, round(time.monotonic()-t, 2))"
    )
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/15",  # nothing listens there
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pk, seconds = out.stdout.split()[-2:]
    pk = int(pk)
    print(f"submit with the broker down answered in {seconds} s")
    assert float(seconds) < 10
    upload = MetricUpload.objects.get(pk=pk)
    assert upload.status == UploadStatus.RECEIVED and upload.queued_at is None
    assert "Waiting for the task queue" in upload.stage_detail
    assert not MetricValue.objects.filter(upload=upload).exists()

    started = time.monotonic()
    with Worker(tmp_path):  # the broker is back: beat's sweep queues it
        wait_for(lambda: status_of(pk) == UploadStatus.DONE, 60)
        print(f"broker back: done after {time.monotonic() - started:.1f} s")
    assert_whole(published, pk, published_pk)

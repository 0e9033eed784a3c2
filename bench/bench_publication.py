"""An upload to provisional results, and a publication with its consequences, on
PostgreSQL with a real Celery worker on Redis.

    python bench/bench_publication.py [--rounds 3]

Set-up: the demo (every real trust, three quarters of 2025/26, each published, with the
autonomy policy and delegation data). Then, per round:

1. *upload to provisional results visible*: a national quarter file in NHS England's format
   (all three trust types, every trust open in Q3 2025/26, sickness absence changed) is
   received, queued, validated, stored and segmented by a real worker, until the upload is
   done and its provisional run is the period's newest;
2. *publication*: that run published, with every consequence (ICB segments, support levels,
   actions, freedoms, delegation conditions, notices) applied in its transaction.

Targets: upload under 3 s, publication under 2 s. The benchmark recreates its own database
(``BENCH_DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/oversight_bench_pub``)
and uses Redis database 9 (``BENCH_BROKER_URL``).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_full_run import recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oversight_bench_pub"
DEFAULT_BROKER = "redis://127.0.0.1:6379/9"


def setup(url: str, broker: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=io.StringIO())


def national_file(round_no: int) -> bytes:
    from oversight.models import ReportingPeriod
    from tests.uploads.files import nhse_file, nhse_rows_for

    period = ReportingPeriod.objects.by_key("Q3 2025/26")
    lines = nhse_rows_for(period)
    value_at = 12  # NHS England's Value column
    for line in lines:
        if line[8] == "OF0082" and line[value_at] != "":
            line[value_at] = round(float(line[value_at]) + 0.37 * round_no, 3)
    return nhse_file(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup(url, os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER))

    from celery.contrib.testing.worker import start_worker
    from django.contrib.auth import get_user_model

    from config.celery import app as celery_app
    from oversight.models import MetricUpload, ReportingPeriod, UploadStatus
    from oversight.runs import publish_run
    from oversight.uploads.services import receive_upload

    celery_app.conf.task_always_eager = False
    national = get_user_model().objects.get(username="national")
    period = ReportingPeriod.objects.by_key("Q3 2025/26")
    uploads, publications, rows = [], [], 0
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        for round_no in range(1, args.rounds + 1):
            content = national_file(round_no)
            started = time.perf_counter()
            received = receive_upload(
                content=content, filename=f"nof-q3-{round_no}.csv", actor=national
            )
            while True:
                upload = MetricUpload.objects.get(pk=received.upload.pk)
                if not upload.in_progress:
                    break
                time.sleep(0.02)
            period.refresh_from_db()
            uploads.append(time.perf_counter() - started)
            assert upload.status == UploadStatus.DONE, (upload.status, upload.errors[:2])
            run = period.latest_run
            assert run is not None and run.state == "provisional", run
            rows = upload.row_count
            timings = run.timings

            started = time.perf_counter()
            publish_run(run=run, actor=national, reason=f"Benchmark round {round_no}")
            publications.append(time.perf_counter() - started)

    def show(name: str, times: list[float], target: float) -> None:
        median = statistics.median(times)
        verdict = "meets" if median < target else "MISSES"
        print(
            f"{name}: median {median:.2f} s, best {min(times):.2f} s over {len(times)} rounds "
            f"(target < {target:.0f} s: {verdict})"
        )

    print(f"national quarter file: {rows:,} rows, {len(content) / 1e6:.1f} MB, NHS England format")
    print(
        f"its run: {run.organisation_count} organisations, {run.replicates} bootstrap "
        f"replicates; engine {timings.get('engine_ms', 0):.0f} ms, store "
        f"{timings.get('store_ms', 0):.0f} ms"
    )
    show("upload to provisional results visible (real worker)", uploads, 3.0)
    show("publication with its consequences", publications, 2.0)


if __name__ == "__main__":
    main()

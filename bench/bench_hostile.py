"""The hostile-file corpus (``tests/ingest/corpus.py``) through the upload services on
PostgreSQL: for each file, the time from receipt to refusal.

    python bench/bench_hostile.py

Prints every file's time, the worst, the slowest file and the total. Target: each under
5 s. The benchmark recreates its own database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/oversight_bench_hostile``); tasks run in the process.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_full_run import recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oversight_bench_hostile"
TARGET_S = 5.0


def setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "CRITICAL")
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="hostile-media-")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference_data", stdout=io.StringIO())
    call_command("load_methodologies", stdout=io.StringIO())


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup(url)
    from django.conf import settings
    from django.test import override_settings

    from oversight.models import MetricValue, UploadStatus
    from oversight.uploads.services import UploadRefused, process_upload, receive_upload
    from tests.ingest.corpus import CASES

    times: list[tuple[float, str, int]] = []
    for case in CASES:
        content = case.build()
        with override_settings(MEDIA_ROOT=settings.MEDIA_ROOT, **case.settings):
            started = time.perf_counter()
            try:
                received = receive_upload(
                    content=content, filename=case.filename, actor="bench", enqueue=False
                )
                upload = process_upload(upload_id=received.upload.pk)
                status = upload.status
            except UploadRefused:
                status = UploadStatus.INVALID
            seconds = time.perf_counter() - started
        if status != UploadStatus.INVALID:
            raise SystemExit(f"{case.name}: {status}, expected refused")
        times.append((seconds, case.name, len(content)))
        print(f"  {seconds * 1000:8.0f} ms  {len(content) / 1e6:7.2f} MB  {case.name}")
    if MetricValue.objects.exists():
        raise SystemExit("a hostile file stored values")
    worst, name, size = max(times)
    verdict = "meets" if worst < TARGET_S else "MISSES"
    print(
        f"{len(times)} hostile files refused, nothing stored; total "
        f"{sum(t for t, _, _ in times):.1f} s"
    )
    print(
        f"worst {worst:.2f} s: {name} ({size / 1e6:.1f} MB) "
        f"(target < {TARGET_S:.0f} s each: {verdict})"
    )


if __name__ == "__main__":
    main()

"""A real Celery worker (prefork, one child) with its beat, whose upload import or
segmentation engine pauses once, so a test can break things at that moment. Run as
``python -m tests.integration.fault_worker``.

``PAUSE_AT`` is ``import`` or ``engine`` (or blank: no pause); the pause writes its pid to
the file ``PAUSE_FLAG`` when it starts (the test waits for it) and lasts until the test
writes ``go`` there; it happens only while that file does not exist, so the task run again
after a fault goes straight through.
"""

import os
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import oversight.runs as runs  # noqa: E402
import oversight.uploads.services as services  # noqa: E402
from config.celery import app  # noqa: E402

FLAG = Path(os.environ.get("PAUSE_FLAG", "/nonexistent/pause"))
PAUSE_AT = os.environ.get("PAUSE_AT", "")


def _pausing(name: str, real):
    def paused(*args, **kwargs):
        if name == PAUSE_AT and not FLAG.exists():
            FLAG.write_text(str(os.getpid()))
            deadline = time.monotonic() + 120
            while FLAG.read_text() != "go" and time.monotonic() < deadline:
                time.sleep(0.1)
        return real(*args, **kwargs)

    return paused


runs.run_engine = _pausing("engine", runs.run_engine)
services.store_rows = _pausing("import", services.store_rows)

if __name__ == "__main__":
    argv = ["worker", "--pool=prefork", "--concurrency=1", "--loglevel=WARNING"]
    argv += ["--without-mingle", "--without-gossip"]
    if os.environ.get("WITH_BEAT"):
        argv += ["--beat", "--schedule", os.environ["BEAT_SCHEDULE_FILE"]]
    app.worker_main(argv)

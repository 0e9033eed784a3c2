"""A real Celery worker whose segmentation engine pauses, so a test can stop the worker
in the middle of a run. Run as ``python -m tests.integration.slow_worker``."""

import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import oversight.runs as runs  # noqa: E402
from config.celery import app  # noqa: E402

_engine = runs.run_engine


def _paused_engine(*args, **kwargs):
    time.sleep(float(os.environ.get("ENGINE_PAUSE_SECONDS", "120")))
    return _engine(*args, **kwargs)


runs.run_engine = _paused_engine

if __name__ == "__main__":
    app.worker_main(
        ["worker", "--pool=solo", "--loglevel=WARNING", "--without-mingle", "--without-gossip"]
    )

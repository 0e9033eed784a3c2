"""``manage.py run_embedded [ADDR:PORT]``: the web server and, beside it, a Celery worker
(with the sweeper's beat) on the embedded filesystem broker, so uploads and runs happen
out of the request as in production, with no server to install. Used by ``make run``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Serve the app with a background worker on the embedded filesystem broker "
        "(CELERY_BROKER_URL=filesystem://)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--noreload", action="store_true", help="No code reloading.")

    def handle(self, *args: Any, addrport: str, noreload: bool, **options: Any) -> None:
        if not settings.EMBEDDED_BROKER:
            raise CommandError(
                "Set CELERY_BROKER_URL=filesystem:// (as `make run` does); with another broker "
                "run the worker yourself (`celery -A config worker -B`)."
            )
        # Django's reloader runs this command again in a child process (RUN_MAIN set):
        # the worker is started once, by the outer process, and outlives reloads.
        worker = None if os.environ.get("RUN_MAIN") == "true" else self._start_worker()
        # Stopped by a signal (a terminal closed, a process manager): stop the worker too.
        for stop in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop, _interrupt)
        try:
            call_command("runserver", addrport, use_reloader=not noreload)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _start_worker(self) -> subprocess.Popen:
        schedule = settings.EMBEDDED_QUEUE_DIR / "beat-schedule"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            f"--schedule={schedule}",
            "--pool=solo",
            "--loglevel=INFO",
            "--hostname=embedded@%h",
        ]
        self.stdout.write(f"Starting the worker: {' '.join(command[2:])}")
        return subprocess.Popen(command, env=os.environ.copy())

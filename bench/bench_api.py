"""API latency under gunicorn with national data, beside a trivial JSON view (the floor).

    python bench/bench_api.py [--requests 2000] [--clients 16] [--workers N]

Loads the real organisations and the national demo data (three quarters of 2025/26,
segmented) into its own database (``BENCH_API_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/oversight_bench_api``, recreated each time), starts
gunicorn on 127.0.0.1 with production settings (``DEBUG`` off), and sends a bounded number
of requests from 16 concurrent clients, authenticated with a national API token, to:

- ``floor``: a trivial JSON view on the same server (Django, no database);
- ``league table``: ``/api/v1/league-tables/?period=2025-26-q4&peer_group=acute&page_size=200``
  (every acute trust);
- ``assessments``: ``/api/v1/assessments/?period=2025-26-q4`` (first page of 100).

Prints median and 99th percentile latency and requests per second for each (after a
warm-up: result lists are cached per query and scope, see docs/adr/0009), and the latency
of the very first request, before anything is cached. Goal: p99 under 100 ms and within
3x of the floor. Stops gunicorn when done.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_full_run import recreate_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oversight_bench_api"
TARGETS = {
    "floor": "/bench/floor/",
    "league table": "/api/v1/league-tables/?period=2025-26-q4&peer_group=acute&page_size=200",
    "assessments": "/api/v1/assessments/?period=2025-26-q4",
}


def server_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": url,
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "API_THROTTLE_TOKEN": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(HERE),  # no collected files are needed by the API
        "DJANGO_SETTINGS_MODULE": "bench_api_site",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
    }


def load_data(url: str) -> str:
    """Migrate, load organisations, methodologies and demo data; return a national token."""
    os.environ.update({k: v for k, v in server_env(url).items() if k != "PYTHONPATH"})
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from systems.models import Role
    from systems.services import create_api_token

    quiet = io.StringIO()
    call_command("migrate", verbosity=0, stdout=quiet)
    call_command("load_reference_data", verbosity=0, stdout=quiet)
    call_command("load_methodologies", verbosity=0, stdout=quiet)
    call_command("load_demo_data", "--replicates", "200", verbosity=0, stdout=quiet)
    return create_api_token(name="bench", role=Role.NATIONAL, actor="bench").raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/floor/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def hammer(port: int, path: str, token: str, requests: int, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    remaining = [requests]
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def client() -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(str(response.status))
            finally:
                conn.close()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{path}: {len(errors)} failed requests, e.g. HTTP {errors[0]}")
    latencies.sort()
    return {
        "median": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": len(latencies) / wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_API_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    token = load_data(url)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "--env",
            "DJANGO_SETTINGS_MODULE=bench_api_site",
        ],
        cwd=ROOT,
        env=server_env(url),
        start_new_session=True,
    )
    try:
        wait_until_up(port)
        print(
            f"gunicorn on 127.0.0.1:{port}, {args.workers} sync workers, {os.cpu_count()} CPUs; "
            f"{args.clients} concurrent clients, {args.requests} requests per endpoint, "
            f"national token; database {urlparse(url).path.lstrip('/')}"
        )
        results = {}
        for name, path in TARGETS.items():
            cold = hammer(port, path, token, 1, 1)["median"]
            hammer(port, path, token, min(200, args.requests), args.clients)  # warm up
            results[name] = hammer(port, path, token, args.requests, args.clients)
            r = results[name]
            print(
                f"{name:<13} median {r['median']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
                f"{r['rps']:7.0f} req/s"
                + ("" if name == "floor" else f"  (first request, nothing cached: {cold:.0f} ms)"),
                flush=True,
            )
        floor = results["floor"]
        for name in ("league table", "assessments"):
            r = results[name]
            verdict = "met" if r["p99"] < 100 and r["p99"] <= 3 * floor["p99"] else "NOT met"
            print(
                f"{name}: p99 {r['p99']:.1f} ms = {r['p99'] / floor['p99']:.1f}x the floor's p99, "
                f"median {r['median'] / floor['median']:.1f}x; goal (p99 < 100 ms, <= 3x) {verdict}"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Server time of the dashboards with national data (the real trusts, synthetic values).

    python bench/bench_pages.py [--requests 40]

Loads the reference data, the methodologies, the autonomy policy and three quarters of
synthetic inputs into its own database (``BENCH_DATABASE_URL``, default
``…/oversight_bench_pages``), segments them, then times each page through Django's test
client as a Midlands regional director (or the national team for the national overview):
median and 95th percentile of the whole request inside the server. Goal: region dashboard
and organisation page median under 150 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_full_run import recreate_database, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oversight_bench_pages"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup_django(url)
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from oversight.autonomy.policy import load_autonomy_policy
    from oversight.demo import demo_rows
    from oversight.inputs import record_inputs
    from oversight.models import ReportingPeriod
    from oversight.runs import run_segmentation
    from oversight.services import load_methodologies
    from systems.services import load_reference_data

    settings.ALLOWED_HOSTS = ["testserver"]
    load_reference_data(actor="bench")
    load_methodologies(actor="bench")
    load_autonomy_policy(actor="bench")
    for label in ("Q2 2025/26", "Q3 2025/26", "Q4 2025/26"):
        period = ReportingPeriod.objects.by_key(label)
        record_inputs(
            period=period, rows=demo_rows(period), source="synthetic demo data", actor="bench"
        )
        run_segmentation(period=period, actor="bench", replicates=1000)
    call_command("load_demo_users", verbosity=0)

    director, national = Client(), Client()
    director.login(username="midlands-director", password="regional-demo")
    national.login(username="national", password="national-demo")
    pages = [
        ("region dashboard (Midlands)", director, "/regions/Y60/"),
        ("organisation page (RHA)", director, "/organisations/RHA/"),
        ("national overview", national, "/national/"),
        ("league table (acute)", national, "/league-tables/?peer_group=acute"),
    ]
    print(f"{'page':32} {'median':>9} {'p95':>9}  (server time, {args.requests} requests)")
    for name, client, path in pages:
        assert client.get(path).status_code == 200, path  # warm
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"{name:32} {statistics.median(times):7.1f} ms {p95:7.1f} ms")
    print("goal: region dashboard and organisation page median under 150 ms")


if __name__ == "__main__":
    main()

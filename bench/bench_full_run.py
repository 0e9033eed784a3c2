"""Full segmentation runs with database writes, on PostgreSQL.

    python bench/bench_full_run.py [--runs 5] [--large-orgs 7000 --large-metrics 50]

Scenario "national": the real 206 open trusts with synthetic inputs for Q4 2025/26
(about 25 metrics each), 1,000 bootstrap replicates, timed through ``run_segmentation``
(read inputs, engine, write every score and assessment, switch the current run).
Scenario "large": 7,000 synthetic organisations x 50 metrics, same path.

The benchmark recreates its own database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/oversight_bench``) each time it starts.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oversight_bench"


def recreate_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    conn = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed_runs(period, runs: int, replicates: int | None) -> list[dict[str, float]]:
    from oversight.runs import run_segmentation

    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        run = run_segmentation(period=period, actor="bench", trigger="bench", replicates=replicates)
        wall = (time.perf_counter() - started) * 1000
        timings.append({**run.timings, "wall_ms": wall, "organisations": run.organisation_count})
    return timings


def report(name: str, timings: list[dict[str, float]], scores: int) -> None:
    def med(key: str) -> float:
        return statistics.median(t.get(key, 0.0) for t in timings)

    print(
        f"{name:<10} orgs={int(timings[0]['organisations']):>6} scores={scores:>7}  "
        f"wall median {med('wall_ms'):8.1f} ms  (load {med('load_inputs_ms'):.0f}, "
        f"engine {med('engine_ms'):.0f}, store {med('store_ms'):.0f}) over {len(timings)} runs"
    )


def national(runs: int) -> None:
    from django.core.management import call_command

    from oversight.demo import DEMO_SOURCE, demo_rows
    from oversight.inputs import record_inputs
    from oversight.models import MetricScore, ReportingPeriod

    quiet = io.StringIO()
    call_command("load_reference_data", verbosity=0, stdout=quiet)
    call_command("load_methodologies", verbosity=0, stdout=quiet)
    period = ReportingPeriod.objects.by_key("Q4 2025/26")
    record_inputs(period=period, rows=demo_rows(period), source=DEMO_SOURCE, actor="bench")
    timings = timed_runs(period, runs, None)
    scores = MetricScore.objects.filter(run=period.runs.latest()).count()
    report("national", timings, scores)


def large(runs: int, n_orgs: int, n_metrics: int) -> None:
    import datetime

    from oversight.engine.synthetic import synthetic_inputs
    from oversight.models import InputKind, Methodology, MetricScore, MetricValue, ReportingPeriod
    from oversight.services import _install
    from systems.models import Organisation, Region

    spec, inputs = synthetic_inputs(n_orgs, n_metrics, seed=7)
    spec = type(spec).from_dict({**spec.to_dict(), "slug": "bench-large", "name": "Benchmark"})
    _install(spec, "synthetic", "bench", None)
    methodology = Methodology.objects.get(slug="bench-large")
    period = ReportingPeriod.objects.create(
        slug="2099-00-q1",
        label="Q1 2099/00",
        financial_year="2099/00",
        quarter=1,
        start_date=inputs.period_end - datetime.timedelta(days=90),
        end_date=inputs.period_end,
        methodology=methodology,
    )
    region = Region.objects.first()
    Organisation.objects.bulk_create(
        [
            Organisation(
                code=row.org_code,
                name=f"Synthetic {row.org_code}",
                kind="trust",
                peer_group=row.peer_group,
                region=region,
            )
            for row in inputs.organisations.itertuples()
        ],
        batch_size=5000,
    )
    ids = dict(Organisation.objects.filter(code__startswith="S").values_list("code", "id"))
    values = (
        [
            MetricValue(
                period=period,
                organisation_id=ids[r.org_code],
                metric_id=r.metric_id,
                kind=InputKind.VALUE,
                value=None if r.value != r.value else float(r.value),
                text=r.text if isinstance(r.text, str) else "",
                reporting_date=r.reporting_date
                if isinstance(r.reporting_date, datetime.date)
                else None,
                source="synthetic",
                recorded_by_label="bench",
            )
            for r in inputs.values.itertuples()
        ]
        + [
            MetricValue(
                period=period,
                organisation_id=ids[r.org_code],
                metric_id=r.metric_id,
                kind=InputKind.SCORE,
                value=float(r.score),
                source="synthetic",
                recorded_by_label="bench",
            )
            for r in inputs.supplied_scores.itertuples()
        ]
        + [
            MetricValue(
                period=period,
                organisation_id=ids[code],
                metric_id="OF5004",
                kind=InputKind.OVERRIDE_FLAG,
                value=float(flag),
                source="synthetic",
                recorded_by_label="bench",
            )
            for code, flag in inputs.override_flags.items()
        ]
    )
    MetricValue.objects.bulk_create(values, batch_size=10000)
    timings = timed_runs(period, runs, None)
    scores = MetricScore.objects.filter(run=period.runs.latest()).count()
    report("large", timings, scores)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--large-runs", type=int, default=2)
    parser.add_argument("--large-orgs", type=int, default=7000)
    parser.add_argument("--large-metrics", type=int, default=50)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup_django(url)
    print(
        f"Full segmentation runs on {urlparse(url).hostname}/{urlparse(url).path.lstrip('/')}, "
        "1,000 bootstrap replicates, writes included"
    )
    national(args.runs)
    if not args.skip_large:
        large(args.large_runs, args.large_orgs, args.large_metrics)


if __name__ == "__main__":
    main()

"""Ingest: a 1,000,000-row NHS England-format CSV validated and stored, beside COPY.

    python bench/bench_ingest.py [--rows 1000000] [--runs 3]

Builds a synthetic NOF data file (UTF-8 with BOM, NHS England's 17 columns; values,
scores, override flags and published results for the real trusts, over enough synthetic
future quarters to hold that many distinct rows), then times:

- **ours**: the upload service as the worker runs it (read, validate every row, store with
  supersession into the indexed ``MetricValue`` table), without the segmentation;
- **COPY**: PostgreSQL's own ``COPY … FROM STDIN (FORMAT csv, HEADER)`` of the same file
  into an unindexed 17-column text table, on the same server.

Prints rows per second for both and the ratio. It recreates its own database
(``BENCH_DATABASE_URL``, default ``…/oversight_bench_ingest``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_full_run import recreate_database, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oversight_bench_ingest"
FIRST_YEAR = 2027  # synthetic quarters from 2027/28 on, so every open trust is open


def make_periods(count: int) -> list:
    from core.dates import quarter_dates
    from oversight.models import Methodology, ReportingPeriod

    methodology = Methodology.objects.get(slug="nof-2026-27")
    periods = []
    for i in range(count):
        year, quarter = FIRST_YEAR + i // 4, i % 4 + 1
        start, end = quarter_dates(year, quarter)
        short = f"{(year + 1) % 100:02d}"
        period, _ = ReportingPeriod.objects.get_or_create(
            slug=f"{year}-{short}-q{quarter}",
            defaults={
                "label": f"Q{quarter} {year}/{short}",
                "financial_year": f"{year}/{short}",
                "quarter": quarter,
                "start_date": start,
                "end_date": end,
                "methodology": methodology,
            },
        )
        periods.append(period)
    return periods


def build_file(path: Path, rows: int) -> int:
    """Write the synthetic file; returns the number of data rows."""
    from oversight.models import Methodology
    from oversight.uploads.validation import NHSE_COLUMNS
    from systems.models import Organisation, OrganisationKind, existed_on_q

    methodology = Methodology.objects.get(slug="nof-2026-27")
    metrics = list(methodology.metrics.all())
    trusts = list(
        Organisation.objects.filter(
            existed_on_q(datetime.date(FIRST_YEAR + 30, 1, 1)), kind=OrganisationKind.TRUST
        )
        .select_related("region")
        .order_by("code")
    )
    per_trust: list[tuple[Organisation, str, str, str]] = []  # org, id, units, kind
    for org in trusts:
        for m in metrics:
            if org.peer_group not in m.peer_groups:
                continue
            if m.value_id and m.method != "contextual":
                per_trust.append((org, m.value_id, m.units, "value"))
            if m.method not in ("contextual", "combined"):
                per_trust.append((org, m.score_id, "score", "score"))
        per_trust += [(org, i, "", k) for i, k in (("OF5004", "flag"), ("OF5002", "avg"))]
        per_trust += [(org, i, "", "segment") for i in ("OF5000", "OF5003")]
    quarters = -(-rows // len(per_trust))
    periods = make_periods(quarters)
    base = pd.DataFrame(
        {
            "Region": [o.region.short_name for o, *_ in per_trust],
            "Trust_type": [o.get_peer_group_display() for o, *_ in per_trust],
            "Trust_code": [o.code for o, *_ in per_trust],
            "Trust_name": [o.name for o, *_ in per_trust],
            "Metric_ID": [i for _, i, _, _ in per_trust],
            "Units": [u for _, _, u, _ in per_trust],
            "kind": [k for *_, k in per_trust],
        }
    )
    rng = np.random.default_rng(2027)
    frames = []
    for period in periods:
        frame = base.copy()
        frame.insert(0, "Quarter", period.label)
        n = len(frame)
        value = np.round(rng.uniform(0, 10, n), 2).astype(object)
        score = np.round(rng.uniform(1, 4, n), 2)
        value[frame["kind"].eq("score").to_numpy()] = score[frame["kind"].eq("score").to_numpy()]
        value[frame["kind"].eq("avg").to_numpy()] = score[frame["kind"].eq("avg").to_numpy()]
        value[frame["kind"].eq("flag").to_numpy()] = rng.integers(0, 2, n)[
            frame["kind"].eq("flag").to_numpy()
        ]
        value[frame["kind"].eq("segment").to_numpy()] = rng.integers(1, 5, n)[
            frame["kind"].eq("segment").to_numpy()
        ]
        frame["Value"] = value
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True).head(rows)
    for column in NHSE_COLUMNS:
        if column not in data:
            data[column] = ""
    data["Reporting_date"] = "Month 12 2025/26"
    data[NHSE_COLUMNS].to_csv(path, index=False, encoding="utf-8-sig")
    return len(data)


def time_ours(path: Path) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection

    from oversight.uploads.services import process_upload, receive_upload

    settings.METRIC_UPLOAD_MAX_BYTES = 1 << 31
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE oversight_metricvalue, oversight_metricupload CASCADE")
    content = path.read_bytes()
    started = time.perf_counter()
    received = receive_upload(
        content=content, filename=path.name, actor="bench", segment=False, enqueue=False
    )
    upload = process_upload(upload_id=received.upload.pk, actor="bench")
    seconds = time.perf_counter() - started
    upload.file.delete(save=False)  # after the timing: do not keep 100+ MB per run in media/
    if upload.status != "done":
        raise SystemExit(
            f"upload failed: {upload.status} {upload.failure_reason} {upload.errors[:3]}"
        )
    return {"seconds": seconds, "rows": upload.summary["rows"], **upload.summary["timings"]}


def time_copy(path: Path) -> float:
    from django.db import connection

    from oversight.uploads.validation import NHSE_COLUMNS

    columns = ", ".join(f'"{c}" text' for c in NHSE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute(f"CREATE TABLE bench_copy ({columns})")
    started = time.perf_counter()
    with connection.cursor() as cursor, path.open("r", encoding="utf-8-sig") as fh:
        cursor.copy_expert("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER)", fh)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_copy")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup_django(url)
    from oversight.services import load_methodologies
    from systems.services import load_reference_data

    load_reference_data(actor="bench")
    load_methodologies(actor="bench")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nof-bench.csv"
        started = time.perf_counter()
        count = build_file(path, args.rows)
        size = path.stat().st_size / 1048576
        print(
            f"file: {count:,} rows, {size:.0f} MB, NHS England format "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        ours, copies = [], []
        for run in range(1, args.runs + 1):
            copies.append(time_copy(path))
            ours.append(time_ours(path))
            o = ours[-1]
            print(
                f"  run {run}: ours {o['seconds']:.2f} s (read {o['read_ms'] / 1000:.2f}, "
                f"validate {o['validate_ms'] / 1000:.2f}, store {o['store_ms'] / 1000:.2f}), "
                f"COPY {copies[-1]:.2f} s: {o['seconds'] / copies[-1]:.2f}x"
            )
        ours_s = statistics.median(o["seconds"] for o in ours)
        copy_s = statistics.median(copies)
        stages = {
            k: statistics.median(o[k] for o in ours) / 1000
            for k in ("read_ms", "validate_ms", "store_ms")
        }
        print(f"ours (read, validate, store): {ours_s:6.2f} s  {count / ours_s:>10,.0f} rows/s")
        print(
            "  of which read {read_ms:.2f} s, validate {validate_ms:.2f} s, store {store_ms:.2f} s"
            " (the rest: hashing and keeping the file)".format(**stages)
        )
        print(f"PostgreSQL COPY, unindexed:   {copy_s:6.2f} s  {count / copy_s:>10,.0f} rows/s")
        print(f"ratio: {ours_s / copy_s:.2f}x COPY (goal: within 3x); median of {args.runs} runs")


if __name__ == "__main__":
    main()

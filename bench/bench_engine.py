"""Benchmark the segmentation engine (not a test).

    .venv/bin/python bench/bench_engine.py [--runs 5] [--replicates 1000]

Times ``run_engine`` on a synthetic national period (220 trusts across the three provider
peer groups, 25 metrics) and a large one (7,000 organisations x 50 metrics), with 1,000
bootstrap replicates, and prints the median of a few runs. Targets on a 2-core machine:
national well under 1 s, large under 5 s.

``synthetic_inputs(n_orgs, n_metrics, seed)`` is importable from here (or from
``oversight.engine.synthetic``) for other benchmarks, e.g. a full database run.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oversight.engine import run_engine
from oversight.engine.synthetic import synthetic_inputs

__all__ = ["bench", "synthetic_inputs"]

CASES = [("national", 220, 25), ("large", 7000, 50)]


def bench(n_orgs: int, n_metrics: int, *, runs: int, replicates: int) -> dict[str, float]:
    methodology, inputs = synthetic_inputs(n_orgs, n_metrics, seed=1)
    inputs = dataclasses.replace(inputs, replicates=replicates)
    no_boot = dataclasses.replace(inputs, replicates=0)
    run_engine(methodology, inputs)  # warm-up (imports, caches)
    full, scoring = [], []
    for _ in range(runs):
        start = time.perf_counter()
        result = run_engine(methodology, inputs)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        run_engine(methodology, no_boot)
        scoring.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(full),
        "min_s": min(full),
        "without_bootstrap_s": statistics.median(scoring),
        "metric_rows": len(result.metric_scores),
        "segmented": int(result.assessments["segmented"].sum()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args(argv)
    print(f"run_engine, {args.replicates} bootstrap replicates, median of {args.runs} runs")
    for label, n_orgs, n_metrics in CASES:
        r = bench(n_orgs, n_metrics, runs=args.runs, replicates=args.replicates)
        print(
            f"{label:9s} {n_orgs:5d} orgs x {n_metrics:2d} metrics: "
            f"{r['median_s']:.3f} s (min {r['min_s']:.3f} s; without bootstrap "
            f"{r['without_bootstrap_s']:.3f} s; {r['metric_rows']} metric rows, "
            f"{r['segmented']} segmented)"
        )


if __name__ == "__main__":
    main()

"""Run every benchmark and print its figures (``make bench``). Not part of the test suite.

1. the engine alone (``bench_engine.py``): national 220 x 25 and large 7,000 x 50;
2. full runs with database writes on PostgreSQL (``bench_full_run.py``).
3. the API under gunicorn with national data beside a trivial JSON view (``bench_api.py``);
4. a 1,000,000-row NHS England file validated and stored, beside COPY (``bench_ingest.py``);
5. dashboard pages with national data, server time (``bench_pages.py``);
6. an upload to provisional results with a real worker, and a publication
   (``bench_publication.py``);
7. the hostile-file corpus refused, file by file (``bench_hostile.py``).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in (
    "bench_engine.py",
    "bench_full_run.py",
    "bench_api.py",
    "bench_ingest.py",
    "bench_pages.py",
    "bench_publication.py",
    "bench_hostile.py",
):
    print(f"== {script}", flush=True)
    result = subprocess.run([sys.executable, str(HERE / script)], check=False)
    if result.returncode:
        sys.exit(result.returncode)

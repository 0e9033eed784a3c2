"""Run every benchmark and print its figures (``make bench``). Not part of the test suite.

1. the engine alone (``bench_engine.py``): national 220 x 25 and large 7,000 x 50;
2. full runs with database writes on PostgreSQL (``bench_full_run.py``).
3. the API under gunicorn with national data beside a trivial JSON view (``bench_api.py``).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_engine.py", "bench_full_run.py", "bench_api.py"):
    print(f"== {script}", flush=True)
    result = subprocess.run([sys.executable, str(HERE / script)], check=False)
    if result.returncode:
        sys.exit(result.returncode)

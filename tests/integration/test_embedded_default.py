"""The embedded default (``make run``): SQLite and a worker on the filesystem broker,
started by ``manage.py run_embedded``. Eight people upload at once through the pages: no
server error, every page answers at once, every upload ends done in the worker."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.uploads.files import template_file

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """The demo on a fresh SQLite file, served as ``make run`` serves it."""
    folder = tmp_path_factory.mktemp("embedded")
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "MEDIA_ROOT": str(folder / "media"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "-v0"], ["load_demo"]):
        subprocess.run(manage + step, env=env, check=True, capture_output=True, cwd=ROOT)
    port = _free_port()
    server = subprocess.Popen(
        [*manage, "run_embedded", f"127.0.0.1:{port}", "--noreload"],
        env={**env, "CELERY_BROKER_URL": "filesystem://", "EMBEDDED_QUEUE_DIR": str(folder / "q")},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the embedded server did not start"
        time.sleep(0.3)
    yield base
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


def _signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/accounts/login/",
        data={
            "username": "notts-analyst",
            "password": "analyst-demo",
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": f"{base}/accounts/login/"},
    )
    assert answer.ok and "Sign out" in answer.text
    return session


def _upload(base: str, number: int) -> dict:
    session = _signed_in(base)
    form = session.get(f"{base}/uploads/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    content = template_file([["RHA", "OF0082", "Q3 2025/26", f"4.{number}"]])
    started = time.perf_counter()
    answer = session.post(
        f"{base}/uploads/",
        data={"csrfmiddlewaretoken": token},
        files={"file": (f"person-{number}.csv", content, "text/csv")},
        headers={"Referer": f"{base}/uploads/"},
    )
    answered = time.perf_counter() - started
    codes = [answer.status_code]
    pk = int(re.search(r"/uploads/(\d+)/", answer.url).group(1))
    while True:  # as the page polls
        status = session.get(f"{base}/uploads/{pk}/status/")
        codes.append(status.status_code)
        tag = re.search(r'id="status-tag">([^<]+)<', status.text).group(1)
        if "Done" in tag or "Rejected" in tag or "Failed" in tag:
            break
        assert time.perf_counter() - started < 180, f"upload {pk} still {tag}"
        time.sleep(0.5)
    return {"codes": codes, "answered": answered, "tag": tag}


def test_eight_people_upload_at_once_with_no_server_error(embedded):
    started = time.perf_counter()
    with ThreadPoolExecutor(PEOPLE) as pool:
        results = list(pool.map(lambda n: _upload(embedded, n), range(PEOPLE)))
    print(
        f"{PEOPLE} uploads at once: answered in at most "
        f"{max(r['answered'] for r in results):.2f} s, all done in "
        f"{time.perf_counter() - started:.1f} s"
    )
    codes = [code for r in results for code in r["codes"]]
    assert not [c for c in codes if c >= 500], codes
    assert [r["tag"] for r in results] == ["Done"] * PEOPLE, results
    # The request only receives the file: the work is the worker's.
    assert max(r["answered"] for r in results) < 10, [r["answered"] for r in results]

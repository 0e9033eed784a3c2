"""Shared fixtures.

The suite runs against the database in ``DATABASE_URL`` (``make test``: real PostgreSQL)
with Celery tasks run eagerly, except the tests marked ``integration``, which start a real
worker on the Redis broker in ``CELERY_BROKER_URL``.
"""

from __future__ import annotations

import pytest

from config.celery import app as celery_app


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Run tasks in process unless the test drives a real worker."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def reference_data(db):
    """The real regions, ICBs and trusts, loaded through the real service."""
    from systems.services import load_reference_data

    return load_reference_data()


@pytest.fixture
def methodologies(reference_data):
    """Reference data plus the shipped methodologies and reporting periods."""
    from oversight.services import load_methodologies

    return load_methodologies()


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent / "engine" / "data"


def nhse_file_rows(path, period):
    """Inputs from a file in NHS England's NOF data-file format (the worked example).

    OF10xx rows are supplied scores, OF5004 the financial override flag, OF00xx values.
    """
    import csv

    from oversight.inputs import InputRow
    from oversight.models import InputKind
    from systems.models import Organisation

    ids = dict(Organisation.objects.values_list("code", "id"))
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for line in csv.DictReader(fh):
            if line["Quarter"] != period.label:
                continue
            metric = line["Metric_ID"]
            kind = (
                InputKind.OVERRIDE_FLAG
                if metric == "OF5004"
                else InputKind.SCORE
                if metric.startswith("OF1")
                else InputKind.VALUE
            )
            rows.append(InputRow(ids[line["Trust_code"]], metric, kind, value=float(line["Value"])))
    return rows

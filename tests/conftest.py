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

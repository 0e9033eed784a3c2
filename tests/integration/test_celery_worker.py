"""A real Celery worker, on the real Redis broker, reading the real test database."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from config.celery import app as celery_app
from systems.tasks import count_organisations

pytestmark = pytest.mark.integration


@pytest.fixture
def celery_worker(transactional_db):
    assert settings.CELERY_BROKER_URL.startswith("redis://"), (
        "CELERY_BROKER_URL must point at Redis for the integration tests (make test sets it)"
    )
    celery_app.conf.task_always_eager = False
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10
    ) as worker:
        yield worker


def test_task_runs_on_a_real_worker(celery_worker):
    from systems.services import load_reference_data

    load_reference_data()  # committed: the worker uses its own connection
    result = count_organisations.delay()
    assert result.get(timeout=30) == {"regions": 7, "icbs": 48, "trusts": 220}
    assert result.successful()

"""The ``make run`` path: the demonstration loads into a migrated database and its pages
answer. Marked ``sqlite`` so CI also runs it on the embedded default database."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from delegation.models import DelegationAgreement
from oversight.models import ReportingPeriod, RunStatus

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db]


def test_the_demonstration_loads_and_its_pages_answer(client, settings):
    settings.DEBUG = True  # demo sign-ins are for development only
    out = io.StringIO()
    call_command("load_demo", stdout=out)

    segmented = ReportingPeriod.objects.filter(current_run__status=RunStatus.COMPLETED)
    assert sorted(segmented.values_list("slug", flat=True)) == [
        "2025-26-q2",
        "2025-26-q3",
        "2025-26-q4",
    ]
    assert DelegationAgreement.objects.exists()
    assert "load_demo_users" in out.getvalue()

    client.force_login(get_user_model().objects.get(username="national"))
    assert client.get(reverse("systems:home")).status_code == 200
    for url in (  # results from synthetic inputs say so
        reverse("dashboards:national"),
        reverse("dashboards:organisation", args=["RWY"]),
        reverse("dashboards:league"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"ynthetic" in response.content, url

"""The ``make run`` path: the demonstration loads into a migrated database and its pages
answer. Marked ``sqlite`` so CI also runs it on the embedded default database."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from delegation.models import DelegationAgreement
from oversight.compacts.models import Compact, CompactStatus
from oversight.compacts.selectors import compacts_overview
from oversight.models import FreedomGrant, GrantStatus, ReportingPeriod, RunStatus

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

    # Two Midlands systems' compacts, tracked by the demo quarters' publication: one
    # commitment off track in Q4; Birmingham and Solihull proposed the freedom its maturity
    # and segment allow; a 2026/27 compact not agreed in time.
    birmingham = Compact.objects.get(icb__code="QHL", financial_year="2025/26")
    assert birmingham.status == CompactStatus.IN_YEAR
    notts = Compact.objects.get(icb__code="QT1", financial_year="2025/26")
    [off] = compacts_overview(
        [birmingham.icb_id, notts.icb_id], "2025/26", datetime.date.today()
    ).off_track
    assert off.commitment.compact == birmingham and off.evaluation.period.label == "Q4 2025/26"
    assert (
        FreedomGrant.objects.get(
            organisation__code="QHL", freedom__slug="system-led-oversight"
        ).status
        == GrantStatus.PROPOSED
    )
    assert Compact.objects.get(icb__code="QT1", financial_year="2026/27").status == "draft"
    client.force_login(get_user_model().objects.get(username="midlands-director"))
    region = client.get(reverse("dashboards:region", args=["Y60"])).content.decode()
    assert "compact commitment off track" in region
    assert "not agreed by 31 March before the year" in region
    compact_page = client.get(reverse("compacts:compact", args=["QHL", "2025-26"]))
    assert compact_page.status_code == 200
    assert "Off track" in compact_page.content.decode()

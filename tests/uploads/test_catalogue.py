"""The metric catalogue page and the Excel template that lists the metric ids."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from systems.models import IntegratedCareBoard, Role
from systems.services import grant_role


@pytest.fixture
def analyst(client, methodologies):
    user = get_user_model().objects.create_user("cat-analyst")
    grant_role(
        user=user, role=Role.ICB_ANALYST, icb=IntegratedCareBoard.objects.get(code="QT1"), actor="t"
    )
    client.force_login(user)
    return user


def test_the_catalogue_lists_every_metric_with_how_it_is_scored(client, analyst):
    page = client.get("/metrics/?methodology=nof-2025-26").content.decode()
    assert "Metric catalogue" in page
    assert "<code>OF0082</code>" in page and "<code>OF1082</code>" in page
    assert "Ranked among every provider reporting it, whatever its type" in page  # national
    assert "Ranked among its peer group" in page  # OF0084, within the trust type
    assert "Below the floor (70) scores 4.00" in page  # OF0057
    assert "Lower is better" in page and "Higher is better" in page
    assert 'href="/metrics/"' in client.get("/uploads/").content.decode()


def test_an_unknown_methodology_is_said_not_a_404(client, analyst):
    response = client.get("/metrics/?methodology=nof-1999")
    assert response.status_code == 400
    assert "&#x27;nof-1999&#x27; is not a methodology." in response.content.decode()


def test_the_excel_template_lists_the_valid_metric_ids(client, analyst):
    response = client.get("/uploads/template.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Metrics", "Metric ids"]
    header = [c.value for c in book["Metrics"][1]]
    assert header[:4] == ["org_code", "metric_id", "period", "value"]
    ids = {row[0]: row[1] for row in book["Metric ids"].iter_rows(min_row=2, values_only=True)}
    assert ids["OF0082"] == "value"
    assert ids["OF1082"] == "score (national team)"

"""Finding an organisation by part of its name or its code, in any case."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model

from systems.models import Organisation, Role, Succession, Trust
from systems.services import grant_role


@pytest.fixture
def director(client, reference_data):
    user = get_user_model().objects.create_user("director")
    rha = Trust.objects.get(code="RHA")
    grant_role(user=user, role=Role.REGIONAL, region=rha.region, actor="test")
    client.force_login(user)
    return user


def test_part_of_a_name_finds_trusts_in_every_region(client, director):
    html = client.get("/search/?q=nottingham").content.decode()
    assert "Nottinghamshire Healthcare NHS Foundation Trust" in html
    assert 'href="/organisations/RHA/"' in html
    assert client.get("/search/?q=zzzz-nothing").content.decode().count("0 organisations") == 1


def test_an_exact_code_in_any_case_opens_the_organisation(client, director):
    response = client.get("/search/?q=rha")
    assert response.status_code == 302 and response["Location"] == "/organisations/RHA/"


def test_suggestions_as_json(client, director):
    body = client.get("/search/?q=notting&format=json").json()
    assert {"code": "RHA", "name": "Nottinghamshire Healthcare NHS Foundation Trust"} in body[
        "results"
    ]
    assert len(body["results"]) <= 10


def test_a_closed_organisation_names_its_successor(client, director):
    closed = (
        Succession.objects.select_related("predecessor", "successor")
        .filter(date__lte=datetime.date.today())
        .first()
    )
    assert closed is not None, "the reference data records the April 2026 ICB mergers"
    html = client.get(f"/search/?q={closed.predecessor.code.lower()}").content.decode()
    assert "now part of" in html and closed.successor.code in html


def test_without_signing_in_the_results_are_not_links(client, reference_data):
    html = client.get("/search/?q=nottingham").content.decode()
    assert "Nottinghamshire Healthcare NHS Foundation Trust" in html
    assert 'href="/organisations/RHA/"' not in html and "Sign in" in html
    assert Organisation.objects.exists()

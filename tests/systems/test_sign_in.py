"""Repeated failed sign-ins are slowed down; the right password then waits too."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache


@pytest.fixture
def person(db):
    cache.clear()
    return get_user_model().objects.create_user("director", password="right-horse-battery")


def attempt(client, password, address="10.0.0.1"):
    return client.post(
        "/accounts/login/",
        {"username": "director", "password": password},
        REMOTE_ADDR=address,
    )


def test_after_five_failures_even_the_right_password_waits(client, person, settings):
    settings.SIGN_IN_ATTEMPTS = 5
    for _ in range(5):
        response = attempt(client, "wrong")
        assert response.status_code == 200 and b"Too many" not in response.content
    refused = attempt(client, "right-horse-battery")
    assert refused.status_code == 200
    assert b"Too many failed sign-ins for this user name" in refused.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by these attempts.
    elsewhere = attempt(client, "right-horse-battery", address="10.0.0.2")
    assert elsewhere.status_code == 302


def test_a_success_clears_the_count(client, person):
    for _ in range(3):
        attempt(client, "wrong")
    assert attempt(client, "right-horse-battery").status_code == 302
    client.logout()
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, "right-horse-battery").status_code == 302

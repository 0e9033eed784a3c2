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


def test_guessing_one_name_from_many_addresses_is_stopped(client, person, settings):
    settings.SIGN_IN_ACCOUNT_ATTEMPTS = 6
    for n in range(6):
        attempt(client, "wrong", address=f"10.0.1.{n}")
    refused = attempt(client, "right-horse-battery", address="10.0.9.9")
    assert b"Too many failed sign-ins for this user name" in refused.content


def test_guessing_many_names_from_one_address_is_stopped_and_audited(client, person, settings):
    from systems.models import AuditEvent

    settings.SIGN_IN_ADDRESS_ATTEMPTS = 8
    for n in range(8):
        client.post(
            "/accounts/login/", {"username": f"someone{n}", "password": "x"}, REMOTE_ADDR="10.0.2.1"
        )
    refused = attempt(client, "right-horse-battery", address="10.0.2.1")
    assert b"Too many failed sign-ins for this network address" in refused.content
    [locked] = AuditEvent.objects.filter(action="sign_in.locked", after__counted="address")
    assert locked.object_id == "10.0.2.1" and locked.after["failures"] == 8
    assert attempt(client, "right-horse-battery", address="10.0.2.2").status_code == 302


def test_the_sign_in_page_names_the_service_and_says_when_you_signed_out(client, person):
    from django.conf import settings

    page = client.get("/accounts/login/").content.decode()
    assert f"<title>Sign in \u2013 {settings.SITE_NAME}</title>" in page
    assert "testserver" not in page.split("<body")[0]
    assert attempt(client, "right-horse-battery").status_code == 302
    after = client.post("/accounts/logout/", follow=True).content.decode()
    assert "You have signed out." in after


def test_an_empty_sign_in_says_what_to_enter_beside_each_field(client, person):
    html = client.post("/accounts/login/", {"username": "", "password": ""}).content.decode()
    assert '<a href="#id_username">Enter your username.</a>' in html
    assert 'id="password-error"' in html and "Enter your password." in html


def test_service_forms_say_what_to_enter_or_choose():
    from django import forms

    from core.forms import ServiceForm

    class Example(ServiceForm):
        reason = forms.CharField(label="Reason for the decision")
        icb = forms.ChoiceField(label="ICB", choices=[("a", "A")])
        kept = forms.CharField(label="Note", error_messages={"required": "Our own words."})

    errors = Example(data={}).errors
    assert errors["reason"] == ["Enter the reason for the decision."]
    assert errors["icb"] == ["Choose the ICB."]
    assert errors["kept"] == ["Our own words."]


def test_dates_are_entered_as_day_month_and_year():
    from core.forms import DateField, ServiceForm

    class Example(ServiceForm):
        starts = DateField(label="Intended start")

    def errors(data):
        form = Example(data=data)
        return form.cleaned_data.get("starts") if form.is_valid() else form.errors["starts"]

    import datetime

    assert errors({"starts_day": "4", "starts_month": "1", "starts_year": "2027"}) == (
        datetime.date(2027, 1, 4)
    )
    assert errors({"starts": "2027-01-04"}) == datetime.date(2027, 1, 4)
    assert errors({"starts_day": "31", "starts_month": "2", "starts_year": "2027"}) == [
        "Intended start must be a real date, for example 4 1 2027."
    ]
    assert errors({"starts_day": "4", "starts_month": "", "starts_year": ""}) == [
        "Intended start must include a month and year."
    ]
    assert errors({}) == ["Enter the intended start."]
    html = Example().as_div()
    for index, part in enumerate(("day", "month", "year")):
        assert f'name="starts_{part}"' in html and f'id="id_starts_{index}"' in html
    assert "nhsuk-date-input" in html

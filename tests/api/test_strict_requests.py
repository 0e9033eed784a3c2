"""Requests the API cannot honour are refused with the JSON error body, never quietly
answered as something else; CSRF failures and unknown paths included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory

from config.errors import server_error

ROOT = Path(__file__).resolve().parents[2]


def errors_of(response) -> list[dict]:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()["errors"]


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/v1/regions/?page_size=abc", 400, "page_size"),
        ("/api/v1/regions/?page_size=0", 400, "page_size"),
        ("/api/v1/regions/?page_size=1001", 400, "page_size"),
        ("/api/v1/regions/?page_size=2&page_size=3", 400, "page_size"),
        ("/api/v1/regions/?format=", 404, None),
        ("/api/v1/regions/?format=xml", 404, None),
        ("/api/v1/agreement-conditions/?in_force=maybe", 400, "in_force"),
        ("/api/v1/agreement-conditions/?in_force=", 400, "in_force"),
        ("/api/v1/icb-segments/?segment=2.5", 400, "segment"),
        ("/api/v1/runs/?status=", 400, "status"),
    ],
)
def test_a_parameter_that_means_nothing_is_refused(api, url, status, field):
    response = api.client("national").get(url)
    assert response.status_code == status, response.content
    [error] = errors_of(response)
    assert error["field"] == field
    assert error["message"]


def test_good_parameters_still_work(api):
    client = api.client("national")
    assert client.get("/api/v1/regions/?page_size=2").json()["results"]
    assert client.get("/api/v1/agreement-conditions/?in_force=true").status_code == 200
    assert client.get("/api/v1/regions/?format=csv").status_code == 200


def test_a_csrf_failure_under_the_api_answers_json(api):
    client = Client(enforce_csrf_checks=True)
    client.force_login(api.users["national"])
    response = client.post("/api/v1/icb-segments/", {}, content_type="application/json")
    assert response.status_code == 403
    [error] = errors_of(response)
    assert error["code"] == "csrf_failed" and "X-CSRFToken" in error["message"]


def test_a_post_to_an_unknown_api_path_answers_json_404(api):
    client = Client(enforce_csrf_checks=True)
    client.force_login(api.users["national"])
    response = client.post("/api/v1/no-such-thing/", {"a": 1})
    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "not_found"


def test_a_csrf_failure_on_a_page_is_the_service_page(api):
    client = Client(enforce_csrf_checks=True)
    client.force_login(api.users["national"])
    response = client.post("/uploads/", {})
    assert response.status_code == 403
    assert "The form had expired" in response.content.decode()


def test_explanations_take_the_period_as_label_or_slug_and_codes_in_any_case(api):
    client = api.client("icb_analyst")
    by_slug = client.get(f"/api/v1/explanations/2025-26-q2/{api.own}/")
    assert by_slug.status_code == 200
    for url in (
        f"/api/v1/explanations/Q2%202025%2F26/{api.own}/",
        f"/api/v1/explanations/Q2 2025/26/{api.own}/",
        f"/api/v1/explanations/2025-26-q2/{api.own.lower()}/",
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.content)
        assert response.json() == by_slug.json()
    assert client.get(f"/api/v1/explanations/Q9 2025/26/{api.own}/").status_code == 404


def test_pages_not_found_and_server_errors_are_the_service_pages(api):
    response = api.client("national").get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "nhsuk-header" in response.content.decode()
    request = RequestFactory().get("/somewhere/")
    request.user = api.users["national"]
    page = server_error(request)
    assert page.status_code == 500
    assert "problem with the service" in page.content.decode()
    assert server_error(RequestFactory().get("/api/v1/x/")).status_code == 500


def test_the_browsable_api_is_only_in_development():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(any('Browsable' in r for r in settings.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']))"
    )
    seen = {}
    for debug in ("0", "1"):
        env = {
            **os.environ,
            "DEBUG": debug,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "k" * 60,
            "ALLOWED_HOSTS": "example.org",
            "DATABASE_URL": "sqlite:///:memory:",
        }
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        seen[debug] = result.stdout.strip()
    assert seen == {"0": "False", "1": "True"}


def test_the_explanation_says_why_the_segment_moved(api):
    body = api.client("national").get(f"/api/v1/explanations/2025-26-q2/{api.own}/").json()
    assert "movement" in body and "since" in body
    if body["movement"] is not None:
        assert body["movement"]["text"]
        assert body["movement"]["direction"] in {"worse", "better", "same"}

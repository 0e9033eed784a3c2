"""The API against its own OpenAPI schema (schemathesis), in process through the WSGI
application, signed in as a national user (session with a CSRF token, so writes are
exercised too) on the universe of ``conftest.py``: no server errors, no answer that breaks
the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

MAX_EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(params=["national", "icb_analyst"])
def session(api, request):
    """A national user's or an ICB analyst's session cookie and a CSRF token, as a browser
    would send them."""
    client = Client()
    client.force_login(api.users[request.param])
    csrf = _get_new_csrf_string()
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}
    return {"cookies": cookies, "headers": {"X-CSRFToken": csrf}}


@pytest.fixture
def api_schema(api):
    # Requests go through the WSGI handler, which would close the test's connection (and
    # its transaction) at the end of each request; the test client does the same.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json",
            application,
            # The caller's credentials are the session below, not generated tokens.
            config=schemathesis.Config.from_dict(
                {
                    "generation": {
                        "with-security-parameters": False,
                    }
                }
            ),
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _check(operation, session: dict, answered: dict[str, set[int]], mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case):
        response = case.call_and_validate(checks=CHECKS, **session)
        answered.setdefault(operation.label, set()).add(response.status_code)

    conforms()


def test_api_answers_as_its_schema_says(api_schema, session):
    """Every operation in the schema, a few generated requests each."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures = []
    answered: dict[str, set[int]] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _check(operation, session, answered, mode)
            except Unsatisfiable:
                continue  # nothing in this operation can be made to break the schema
            except (Exception, BaseExceptionGroup) as exc:  # every operation is reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    # Signed in: every operation answered something other than "not signed in".
    assert all(codes - {401} for codes in answered.values()), answered
    assert any(200 in codes for codes in answered.values())

"""What API callers rely on: results, filters, CSV, conditional GET, error bodies, tokens,
throttling, the schema and the docs."""

from __future__ import annotations

import csv
import io

from django.test import override_settings
from django.urls import reverse

from systems.models import ApiToken, AuditEvent

LEAGUE = "/api/v1/league-tables/?period={period}&peer_group=mental-health-and-community"


def get(universe, role, url, **headers):
    return universe.client(role).get(url.format(**universe.placeholders), **headers)


def test_league_table_as_nhs_england_publishes_it(api):
    body = get(api, "icb_token", LEAGUE).json()
    assert body["count"] == 14
    rows = body["results"]
    assert [r["code"] for r in rows[:4]] == ["RHA", "RKL", "R1A", "G6V2S"]
    assert rows[2]["final_segment"] == 3
    assert rows[0]["rank"] == 1
    assert rows[0]["rank_range_low"] <= 1 <= rows[0]["rank_range_high"]


def test_assessments_filters_and_scope(api):
    everyone = get(api, "national", "/api/v1/assessments/?period={period}").json()
    segmented = get(api, "national", "/api/v1/assessments/?period={period}&segmented=true")
    assert segmented.json()["count"] == 14
    by_region = get(api, "national", "/api/v1/assessments/?region={region}").json()
    assert 0 < by_region["count"] < everyone["count"]
    assert {r["organisation"]["region"] for r in by_region["results"]} == {api.region}
    segment_3 = get(api, "national", "/api/v1/assessments/?segment=3").json()
    assert segment_3["count"] and {r["final_segment"] for r in segment_3["results"]} == {3}
    by_icb = get(api, "national", "/api/v1/assessments/?icb={icb}").json()
    assert "RHA" in {r["organisation"]["code"] for r in by_icb["results"]}
    analyst = get(api, "icb_analyst", "/api/v1/assessments/?page_size=1000").json()
    seen = {r["organisation"]["code"] for r in analyst["results"]}
    assert "RHA" in seen and not seen & {"R1A", "RKL"}
    assert seen < {r["organisation"]["code"] for r in by_region["results"]} | {api.icb}
    ordered = get(api, "national", "/api/v1/assessments/?ordering=-average_score").json()
    scores = [r["average_score"] for r in ordered["results"] if r["average_score"] is not None]
    assert scores == sorted(scores, reverse=True)


def test_explanation(api):
    body = get(api, "icb_analyst", "/api/v1/explanations/{period}/{own}/").json()
    assert body["organisation"]["code"] == "RHA"
    assert body["cut_points"] == [2.0, 2.35, 2.7]
    assert body["metrics"] and {"metric_id", "score", "rank", "pool_size"} <= set(
        body["metrics"][0]
    )
    assert get(api, "icb_analyst", "/api/v1/explanations/2019-20-q1/{own}/").status_code == 404


def test_metric_values_carry_provenance(api):
    body = get(api, "icb_analyst", "/api/v1/metric-values/?period={period}").json()
    assert body["count"] > 0
    row = body["results"][0]
    assert row["organisation"] == "RHA"
    assert row["source"] == "nof-synthetic-mhc-q2-2025-26.csv"
    assert row["recorded_by_label"] == "test"
    assert row["current"] is True and row["recorded_at"]


def test_csv(api):
    response = get(
        api, "national", "/api/v1/assessments/?period={period}&segmented=true&format=csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 14
    assert {"organisation.code", "final_segment", "domain_scores.Patient safety"} <= set(rows[0])


def test_conditional_get_on_lists(api):
    first = get(api, "national", "/api/v1/runs/")
    assert first.status_code == 200
    etag, modified = first["ETag"], first["Last-Modified"]
    assert get(api, "national", "/api/v1/runs/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    again = get(api, "national", "/api/v1/runs/", HTTP_IF_MODIFIED_SINCE=modified)
    assert again.status_code == 304
    assert get(api, "national", "/api/v1/runs/", HTTP_IF_NONE_MATCH='"x"').status_code == 200


def test_errors_have_one_shape(api):
    missing = get(api, "national", "/api/v1/league-tables/?peer_group=acute")
    assert missing.status_code == 400
    assert missing.json() == {
        "errors": [{"field": "period", "message": "This parameter is required.", "code": "invalid"}]
    }
    bad = api.client("national").post(
        "/api/v1/tokens/", {"name": "", "role": "chief"}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "role"}
    assert all(set(e) == {"field", "message", "code"} for e in bad.json()["errors"])
    hidden = get(api, "regional", "/api/v1/trusts/{other}/")
    assert hidden.json() == {
        "errors": [{"field": None, "message": "Not found.", "code": "not_found"}]
    }
    anonymous = get(api, "anonymous", "/api/v1/trusts/")
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["code"] == "not_authenticated"


def test_token_created_once_then_used_then_revoked(api):
    created = api.client("national").post(
        "/api/v1/tokens/",
        {"name": "Researcher", "role": "icb_analyst", "icb": api.icb},
        content_type="application/json",
    )
    assert created.status_code == 201
    raw = created.json()["token"]
    token = ApiToken.objects.get(pk=created.json()["id"])
    assert token.last_used_at is None
    listed = get(api, "national", f"/api/v1/tokens/{token.pk}/").json()
    assert "token" not in listed and listed["prefix"] == token.prefix
    client = api.client("anonymous")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    assert client.get("/api/v1/trusts/RHA/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    events = AuditEvent.objects.count()
    for _ in range(5):  # refused writes: nothing recorded, so no cached answer is dropped
        write = client.post("/api/v1/tokens/", {}, content_type="application/json")
        assert write.status_code == 404
    assert AuditEvent.objects.count() == events
    assert not AuditEvent.objects.filter(action="api_token.used_for_write").exists()
    revoked = api.client("national").post(f"/api/v1/tokens/{token.pk}/revoke/", {"reason": "x"})
    assert revoked.json()["active"] is False
    assert client.get("/api/v1/trusts/RHA/").status_code == 401


def test_rate_limited_per_token(api, monkeypatch):
    from django.conf import settings

    from api.throttling import PerTokenRateThrottle

    monkeypatch.setattr(PerTokenRateThrottle, "timer", staticmethod(lambda: 1_800_000_030.0))
    rates = {"token": "3/min", "user": "100/min", "anon": "100/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        statuses = [get(api, "icb_token", "/api/v1/periods/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert get(api, "national_token", "/api/v1/periods/").status_code == 200
        limited = get(api, "icb_token", "/api/v1/periods/")
        assert limited.json()["errors"][0]["code"] == "throttled"
        assert limited["Retry-After"] == "30"


def test_schema_and_docs_served_locally(api):
    schema = get(api, "anonymous", reverse("api:schema") + "?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/league-tables/" in document["paths"]
    assert "tokenAuth" in document["components"]["securitySchemes"]
    docs = get(api, "anonymous", reverse("api:docs")).content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs


def test_cached_results_follow_a_new_run(api):
    from oversight.models import ReportingPeriod
    from oversight.runs import run_segmentation

    url = "/api/v1/assessments/?period={period}&segmented=true"
    before = get(api, "icb_analyst", url).json()
    assert {r["run"] for r in before["results"]} == {api.run_id}
    assert get(api, "icb_analyst", url).json() == before
    run = run_segmentation(
        period=ReportingPeriod.objects.by_key(api.period), actor="t", publish=True, reason="test"
    )
    after = get(api, "icb_analyst", url).json()
    assert {r["run"] for r in after["results"]} == {run.pk}
    league = get(api, "regional", LEAGUE).json()
    assert league["count"] == 14


def test_browser_sessions_need_the_csrf_token_to_change_anything(api):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(api.users["national"])
    refused = client.post(
        "/api/v1/tokens/", {"name": "x", "role": "national"}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "csrf_failed"
    assert client.get("/api/v1/tokens/").status_code == 200


def test_cached_answers_still_answer_304(api):
    first = get(api, "regional", LEAGUE)
    second = get(api, "regional", LEAGUE, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 304
    assert second["ETag"] == first["ETag"]


def test_unknown_api_paths_answer_the_json_error_body(api):
    for role in ("anonymous", "national"):
        response = get(api, role, "/api/v1/no-such-thing/")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"
    redirected = get(api, "national", "/api/v1/trusts?code=RHA")
    assert redirected.status_code == 301 and redirected["Location"] == "/api/v1/trusts/?code=RHA"


def test_a_write_without_a_permission_is_refused_not_allowed():
    from rest_framework import viewsets
    from rest_framework.test import APIRequestFactory

    from api.permissions import HasPermission

    class Careless(viewsets.ViewSet):
        permission_classes = [HasPermission]
        permission = "view_organisation"  # and no write_permission

        def create(self, request):  # pragma: no cover - never reached
            raise AssertionError("reached")

    view = Careless.as_view({"post": "create"})
    request = APIRequestFactory().post("/x/")
    request.user = type("U", (), {"is_authenticated": True, "is_active": True})()
    response = view(request)
    assert response.status_code == 404


def test_the_browsable_api_page_is_never_served_to_another_person(api):
    """League tables are the same for every role, but their HTML page names whoever asked
    and carries their CSRF token: it is rendered for each caller, never cached."""
    url = reverse("api:league-table-list") + f"?period={api.period}&peer_group=acute"
    first = api.client("regional").get(url, HTTP_ACCEPT="text/html")
    assert first.status_code == 200 and b"regional-director" in first.content
    second = api.client("icb_analyst").get(url, HTTP_ACCEPT="text/html")
    assert second.status_code == 200
    assert api.users["regional"].username.encode() not in second.content
    assert api.users["icb_analyst"].username.encode() in second.content
    # JSON is still cached, and keeps saying which run it comes from.
    one = api.client("regional").get(url)
    two = api.client("icb_analyst").get(url)
    assert one.content == two.content
    assert one["X-Results-Run"] == two["X-Results-Run"]
    assert "state=published" in two["X-Results-Run"]

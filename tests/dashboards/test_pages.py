"""Dashboards with national data: content, scope, exports, and a fixed number of queries."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from core.tables import Column, Table
from oversight.autonomy.policy import load_autonomy_policy
from oversight.demo import demo_rows
from oversight.inputs import record_inputs
from oversight.models import ReportingPeriod
from oversight.runs import run_segmentation
from systems.models import Role, Trust
from systems.services import grant_role


@pytest.fixture
def national_data(methodologies):
    """Synthetic inputs for every real trust, two quarters, segmented."""
    load_autonomy_policy(actor="test")
    for label in ("Q1 2025/26", "Q2 2025/26"):
        period = ReportingPeriod.objects.by_key(label)
        record_inputs(
            period=period, rows=demo_rows(period), source="synthetic demo data", actor="test"
        )
        run_segmentation(period=period, actor="test", replicates=20, publish=True, reason="test")


def signed_in(client, role, **scope):
    user = get_user_model().objects.create_user(f"u{get_user_model().objects.count()}")
    grant_role(user=user, role=role, actor="test", **scope)
    client.force_login(user)
    return user


def test_pages_run_a_fixed_number_of_queries(client, national_data, django_assert_max_num_queries):
    signed_in(client, Role.NATIONAL)
    rha = Trust.objects.get(code="RHA")
    for url, most in (
        ("/national/", 14),
        (f"/regions/{rha.region.ods_code}/", 26),
        ("/organisations/RHA/", 30),
        ("/league-tables/?peer_group=acute", 14),
    ):
        with django_assert_max_num_queries(most):
            response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "synthetic demonstration data" in html, url
        assert "https://" not in html.split("<body")[0]


def test_national_overview(client, national_data):
    signed_in(client, Role.NATIONAL)
    html = client.get("/national/?period=2025-26-q2").content.decode()
    assert "Trusts by segment and peer group" in html
    assert "Movement since Q1 2025/26" in html
    assert "Capped at segment 3 by the financial override" in html
    assert 'id="segments-chart"' in html and "segments-data" in html
    # A period with no results, or not a period at all: said, and the latest shown.
    for asked in ("2030-31-q1", "Q7 2025/26", "nonsense"):
        page = client.get(f"/national/?period={asked}")
        assert page.status_code == 200
        assert f"There are no results for the period &#x27;{asked}&#x27;" in page.content.decode()
    assert "Q2 2025/26" in client.get("/national/?period=Q2%202025/26").content.decode()


def test_region_dashboard_filters_and_scope(client, national_data):
    rha = Trust.objects.get(code="RHA")
    signed_in(client, Role.REGIONAL, region=rha.region)
    html = client.get(f"/regions/{rha.region.ods_code}/").content.decode()
    assert "Nottinghamshire Healthcare NHS Foundation Trust" in html
    assert "Who moved, and why" in html
    filtered = client.get(f"/regions/{rha.region.ods_code}/?peer_group=ambulance").content.decode()
    assert "Nottinghamshire Healthcare NHS Foundation Trust" not in filtered
    other = Trust.objects.get(code="RKL").region
    assert client.get(f"/regions/{other.ods_code}/").status_code == 404
    # Outside the region: published results only (the page says so).
    assert (
        "outside the organisations your roles cover"
        in client.get("/organisations/RKL/").content.decode()
    )
    assert client.get("/organisations/RHA/").status_code == 200


def test_organisation_page_explains(client, national_data):
    signed_in(client, Role.NATIONAL)
    html = client.get("/organisations/RHA/?period=2025-26-q2").content.decode()
    assert "Why: every metric" in html
    assert ("Cut points" in html and "Likely range" in html) or "likely range" in html
    assert "Segment history" in html and "history-data" in html
    assert "Support level" in html


def test_league_table_sort_and_downloads(client, national_data):
    signed_in(client, Role.ICB_ANALYST, icb=Trust.objects.get(code="RHA").icb_from_2026)
    url = "/league-tables/?period=2025-26-q2&peer_group=mental-health-and-community"
    assert client.get(url).status_code == 200
    response = client.get(url + "&download=league&format=csv")
    assert response["Content-Disposition"].endswith(
        'league-mental-health-and-community-league-2025-26-q2.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Rank", "Trust", "Code"]
    ranks = [int(r[0]) for r in rows[1:]]
    assert ranks == sorted(ranks)
    by_score = client.get(url + "&table=league&sort=-Average_score&download=league")
    scores = [
        float(r[5])
        for r in csv.reader(io.StringIO(by_score.content.decode("utf-8-sig")))
        if r[5] and r[5][0].isdigit()
    ]
    assert scores == sorted(scores, reverse=True)
    xlsx = client.get(url + "&download=league&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(1, 1).value == "Rank" and sheet.max_row == len(rows)
    assert client.get(url + "&download=nope").status_code == 404


def test_exports_never_carry_a_formula():
    table = Table(
        "t",
        "T",
        [Column("name", "Name"), Column("n", "N", numeric=True)],
        [
            {"name": '=HYPERLINK("http://x")', "n": -3},
            {"name": "+1", "n": 2},
            {"name": "@SUM(A1)", "n": None},
            {"name": "-2+3", "n": 1.5},
        ],
    )
    rows = table.as_rows()
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://x")', "'+1", "'@SUM(A1)", "'-2+3"]
    assert [r[1] for r in rows[1:]] == [-3, 2, "", 1.5]  # numbers stay numbers
    sheet = load_workbook(io.BytesIO(table.download("xlsx", "t").content)).active
    assert all(sheet.cell(r, 1).data_type != "f" for r in range(1, 6))


def test_who_moved_names_only_causes_in_the_direction_of_the_move(national_data):
    from oversight.dashboards.selectors import movements
    from oversight.models import OrganisationAssessment, ReportingPeriod

    before = ReportingPeriod.objects.by_key("Q1 2025/26").current_run
    now = ReportingPeriod.objects.by_key("Q2 2025/26").current_run
    ids = list(
        OrganisationAssessment.objects.filter(run=now).values_list("organisation_id", flat=True)
    )
    found = movements(now.pk, before.pk, ids)
    moved = {org: m for org, m in found.items() if m.direction != "same"}
    assert moved, "the demo quarters have movers"
    for movement in moved.values():
        worse = movement.direction == "worse"
        assert movement.causes or movement.note, movement
        assert all(c.worse == worse for c in movement.causes)
        assert all((c.contribution > 0) == worse for c in movement.contributions)
        assert movement.paragraph().startswith(f"Segment {movement.before} → {movement.after}")


def test_the_organisation_page_says_why_it_moved(client, national_data):
    from oversight.models import OrganisationAssessment, ReportingPeriod

    signed_in(client, Role.NATIONAL)
    q1 = ReportingPeriod.objects.by_key("Q1 2025/26").current_run
    q2 = ReportingPeriod.objects.by_key("Q2 2025/26").current_run
    before = dict(
        OrganisationAssessment.objects.filter(run=q1).values_list(
            "organisation__code", "final_segment"
        )
    )
    mover = next(
        code
        for code, segment in OrganisationAssessment.objects.filter(run=q2).values_list(
            "organisation__code", "final_segment"
        )
        if code in before
        and before[code] is not None
        and segment is not None
        and segment != before[code]
    )
    html = client.get(f"/organisations/{mover}/?period=2025-26-q2").content.decode()
    assert "Since Q1 2025/26" in html
    assert f"Segment {before[mover]} →" in html


def test_published_results_are_open_to_every_signed_in_person(client, national_data):
    """An analyst opens a trust in another region from the league table: its published
    results, not its actions, freedoms, support or provisional results."""
    from oversight.models import OversightAction

    rha = Trust.objects.get(code="RHA")
    signed_in(client, Role.ICB_ANALYST, icb=rha.icb_from_2026)
    other = Trust.objects.exclude(region=rha.region).filter(peer_group=rha.peer_group).first()
    OversightAction.objects.create(
        organisation=other, kind="review", title="Secret improvement plan"
    )
    for code in (other.code, other.code.lower()):
        response = client.get(f"/organisations/{code}/?period=2025-26-q2")
        assert response.status_code == 200
        html = response.content.decode()
        assert other.name in html and "outside the organisations your roles cover" in html
        assert "Why: every metric" in html and "Segment history" in html
        for hidden in ("Oversight actions", "Secret improvement plan", "Support level", "Freedoms"):
            assert hidden not in html, hidden
    own = client.get("/organisations/rha/?period=2025-26-q2").content.decode()
    assert "Oversight actions" in own and "outside the organisations" not in own
    league = client.get("/league-tables/?period=2025-26-q2&peer_group=mental-health-and-community")
    assert f"/organisations/{other.code}/" in league.content.decode()


def test_someone_with_no_role_sees_no_organisation(client, national_data):
    client.force_login(get_user_model().objects.create_user("nobody"))
    assert client.get("/organisations/RHA/").status_code == 404


def test_each_role_starts_on_its_own_page(client, national_data):
    from django.urls import reverse

    rha = Trust.objects.get(code="RHA")
    cases = [
        (Role.NATIONAL, {}, "/national/"),
        (Role.REGIONAL, {"region": rha.region}, f"/regions/{rha.region.ods_code}/"),
        (Role.ICB_ANALYST, {"icb": rha.icb_from_2026}, f"/organisations/{rha.icb_from_2026.code}/"),
    ]
    for role, scope, start in cases:
        client.logout()
        signed_in(client, role, **scope)
        assert client.get(reverse("systems:start"))["Location"] == start
    html = client.get(start).content.decode()
    assert ">My ICB<" in html and ">My region<" not in html


def test_the_region_page_opens_with_its_summary_and_what_needs_the_director(client, national_data):
    rha = Trust.objects.get(code="RHA")
    signed_in(client, Role.REGIONAL, region=rha.region)
    html = client.get(f"/regions/{rha.region.ods_code}/?period=2025-26-q2").content.decode()
    needs = html.index('id="needs-you"')
    assert needs < html.index("at a glance") < html.index("Who moved and why")
    assert 'id="table-segment_counts"' in html and 'id="table-region_movement"' in html
    assert 'id="table-by_icb"' in html and "segments-data" in html
    assert "awaiting your decision" in html
    client.logout()
    signed_in(client, Role.ICB_ANALYST, icb=rha.icb_from_2026)
    analyst = client.get(f"/regions/{rha.region.ods_code}/?period=2025-26-q2").content.decode()
    assert "awaiting the region's decision" in analyst


def test_the_organisation_page_shows_peers_trends_domains_and_plain_statuses(client, national_data):
    signed_in(client, Role.NATIONAL)
    html = client.get("/organisations/RHA/?period=2025-26-q2").content.decode()
    metrics = html.split('id="table-metrics"')[1].split("</table>")[0]
    assert "figure--strip" in metrics and "figure--trend" in metrics
    assert "organisations)" in metrics and "Q1 2025/26: " in metrics
    assert "out_of_window" not in metrics and ">scored<" not in metrics
    assert 'id="table-domains"' in html and "Segment at the same cut points" in html
    download = client.get(
        "/organisations/RHA/?period=2025-26-q2&download=metrics&format=csv"
    ).content.decode("utf-8-sig")
    assert "Peers: median (middle half)" in download and "<svg" not in download

"""How dashboards word and format what they show: the financial override, distances to
the segment boundaries, scores to 2 decimal places, dates, and who the lists cover."""

from __future__ import annotations

import csv
import datetime
import io
import re
from types import SimpleNamespace

from django.contrib.auth import get_user_model

from core.tables import Column, Table
from oversight.dashboards.presenters import (
    action_owner,
    boundary_text,
    is_capped,
    override_note,
)
from oversight.models import OrganisationAssessment, ReportingPeriod
from systems.models import Role, Trust
from systems.services import grant_role

from .test_pages import national_data, signed_in  # noqa: F401  (fixture)


def assessment(**fields):
    base = {
        "financial_override": False,
        "unadjusted_segment": 3,
        "final_segment": 3,
        "average_score": 2.98,
    }
    return SimpleNamespace(**{**base, **fields})


def test_override_note_says_whether_the_override_changed_the_segment():
    assert override_note(assessment()) == ""
    capped = override_note(assessment(financial_override=True, unadjusted_segment=2))
    assert capped == "Capped at segment 3 by the financial override (segment 2 without it)."
    unchanged = override_note(assessment(financial_override=True, unadjusted_segment=3))
    assert "changes nothing" in unchanged and "capped" not in unchanged.lower()
    assert "changes nothing" in override_note(
        assessment(financial_override=True, unadjusted_segment=4, final_segment=4)
    )


def test_capped_means_the_override_raised_a_better_segment_to_3():
    def row(flag, unadjusted):
        return {"financial_override": flag, "unadjusted_segment": unadjusted}

    assert is_capped(row(True, 1)) and is_capped(row(True, 2))
    assert not is_capped(row(True, 3)) and not is_capped(row(True, 4))
    assert not is_capped(row(True, None))  # no segment: nothing to cap
    assert not is_capped(row(False, 1))


def test_boundary_text_reads_as_sentences():
    text = boundary_text(assessment(), {"segment": 3, "to_better": 0.54, "to_worse": 0.02})
    assert text == (
        "An average 0.54 lower (2.44 or less) reaches segment 2; "
        "0.02 higher (3.00 or more) and it falls to segment 4."
    )
    best = boundary_text(
        assessment(average_score=1.67, final_segment=1, unadjusted_segment=1),
        {"segment": 1, "to_better": None, "to_worse": 0.33},
    )
    assert best.startswith("Segment 1 is the best") and "falls to segment 2" in best
    worst = boundary_text(
        assessment(average_score=3.59, final_segment=4),
        {"segment": 4, "to_better": 0.6, "to_worse": None},
    )
    assert "reaches segment 3" in worst and "worse than 4" in worst
    capped = boundary_text(
        assessment(average_score=2.13, final_segment=3, unadjusted_segment=2),
        {"segment": 2, "to_better": 0.14, "to_worse": 0.32},
    )
    assert capped.startswith("Before the financial override and segment 5, ")
    assert boundary_text(assessment(), {}) == ""
    assert boundary_text(assessment(), {"segment": None}) == ""


def test_action_owner():
    assert action_owner(SimpleNamespace(board_owner="Chief executive")) == "Chief executive"
    needed = SimpleNamespace(board_owner="", board_owner_required=True)
    assert action_owner(needed) == "Needed, not yet named"
    assert action_owner(SimpleNamespace(board_owner="", board_owner_required=False)) == (
        "Not needed"
    )


def test_tables_format_for_the_page_and_keep_values_for_downloads():
    due = datetime.date(2027, 1, 31)
    table = Table(
        "t",
        "T",
        [
            Column("name", "Name"),
            Column("score", "Score", numeric=True, places=2),
            Column("due", "Due"),
            Column("quarter", "Quarter", download_only=True),
        ],
        [
            {"name": "A", "score": 3.0, "due": due, "quarter": "Q2 2025/26"},
            {"name": "B", "score": 2.915, "due": None, "quarter": "Q2 2025/26"},
        ],
    )
    assert [c.key for c in table.shown] == ["name", "score", "due"]
    assert [h["column"].key for h in table.headers] == ["name", "score", "due"]
    assert [[c["value"] for c in row] for row in table.cells] == [
        ["A", "3.00", "31 Jan 2027"],
        ["B", "2.92", None],
    ]
    assert table.cells[0][2]["date"] and not table.cells[0][1]["date"]
    assert table.as_rows() == [
        ["Name", "Score", "Due", "Quarter"],
        ["A", 3.0, "2027-01-31", "Q2 2025/26"],
        ["B", 2.915, "", "Q2 2025/26"],
    ]
    assert table.sorted_by("due").rows[0]["name"] == "A"
    assert not table.wide
    assert Table("w", "W", [Column(f"c{i}", f"C{i}") for i in range(8)]).wide


def test_national_figures_are_national_and_lists_say_whose(
    client,
    national_data,  # noqa: F811
    django_assert_max_num_queries,
):
    rha = Trust.objects.get(code="RHA")
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    trusts = OrganisationAssessment.objects.filter(
        run=period.current_run, organisation__kind="trust"
    )
    capped = sum(1 for a in trusts if a.financial_override and (a.unadjusted_segment or 4) < 3)
    programme = trusts.filter(in_programme=True).count()
    capped_here = sum(
        1
        for a in trusts.filter(organisation__region=rha.region)
        if a.financial_override and (a.unadjusted_segment or 4) < 3
    )

    def card(html: str, heading: str) -> str:
        found = re.search(
            heading + r"</h2><p class=\"nhsuk-card__description dashboard-figure\">(\d+)<", html
        )
        assert found, heading
        return found.group(1)

    signed_in(client, Role.NATIONAL)
    national = client.get("/national/?period=2025-26-q2").content.decode()
    assert card(national, "Capped by the financial override") == str(capped)
    assert card(national, "In the Provider Improvement Programme") == str(programme)
    assert "in your region" not in national and "you can see" not in national

    client.logout()
    signed_in(client, Role.REGIONAL, region=rha.region)
    with django_assert_max_num_queries(14):  # as for the national team
        html = client.get("/national/?period=2025-26-q2").content.decode()
    where = f"in your region ({rha.region.name})"
    assert card(html, "Capped by the financial override") == str(capped)
    assert card(html, "In the Provider Improvement Programme") == str(programme)
    assert f"Capped at segment 3 by the financial override: trusts {where}" in html
    assert f"In the Provider Improvement Programme (segment 5): trusts {where}" in html
    assert f"{capped_here} of the {capped} capped in England" in html
    assert "Segment and peer group" not in html and ">Peer group</a>" in html

    client.logout()
    signed_in(client, Role.ICB_ANALYST, icb=rha.icb_from_2026)
    html = client.get("/national/?period=2025-26-q2").content.decode()
    assert card(html, "Capped by the financial override") == str(capped)
    assert "Capped at segment 3 by the financial override: trusts you can see" in html


def test_organisation_page_words_the_override_and_boundaries(client, national_data):  # noqa: F811
    signed_in(client, Role.NATIONAL)
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    flagged = (
        OrganisationAssessment.objects.filter(
            run=period.current_run,
            financial_override=True,
            unadjusted_segment__gte=3,
            organisation__kind="trust",
        )
        .select_related("organisation")
        .first()
    )
    assert flagged is not None
    html = client.get(f"/organisations/{flagged.organisation.code}/?period={period.slug}")
    html = html.content.decode()
    assert "changes nothing" in html
    assert "capped at 3" not in html.lower()
    assert "To_better" not in html and "To_worse" not in html
    assert "Distance to the next boundary" in html and "higher (" in html
    # Scores have two decimal places, in the metric table as in the history.
    metrics = html.split('id="table-metrics"')[1].split("</table>")[0]
    scores = re.findall(
        r'nhsuk-table__cell--numeric">([0-9.]+)</td><td class="nhsuk-table__cell">'
        r"(?:Scored|Meets|Below|Score as|No value|Rating|Value|Context)[^<]*</td>",
        metrics,
    )
    assert scores and all(re.fullmatch(r"\d\.\d\d", s) for s in scores), scores


def test_league_table_shows_two_places_and_downloads_every_column(client, national_data):  # noqa: F811
    signed_in(client, Role.NATIONAL)
    url = "/league-tables/?period=2025-26-q2&peer_group=acute"
    html = client.get(url).content.decode()
    table = html.split('id="table-league"')[1].split("</table>")[0]
    assert "dashboard-table--wide" in html
    assert ">Quarter</a>" not in table and ">Trust type</a>" not in table
    scores = [
        row.split("</td>")[5].rsplit(">", 1)[1] for row in table.split("<tbody")[1].split("<tr")[1:]
    ]
    assert scores and all(re.fullmatch(r"\d\.\d\d", s) for s in scores), scores[:5]
    rows = list(
        csv.reader(io.StringIO(client.get(url + "&download=league").content.decode("utf-8-sig")))
    )
    assert rows[0][-2:] == ["Quarter", "Trust type"] and rows[1][-2] == "Q2 2025/26"


def test_region_actions_show_dates_and_owners_plainly(client, national_data):  # noqa: F811
    from oversight.autonomy.models import OversightAction

    rha = Trust.objects.get(code="RHA")
    OversightAction.objects.create(
        organisation=rha,
        kind="test-stocktake",
        title="Diagnostic stocktake",
        due_date=datetime.date(2027, 3, 2),
    )
    OversightAction.objects.create(
        organisation=rha,
        kind="test-plan",
        title="Recovery plan",
        board_owner_required=True,
        due_date=datetime.date(2027, 1, 31),
    )
    user = get_user_model().objects.create_user("director")
    grant_role(user=user, role=Role.REGIONAL, actor="test", region=rha.region)
    client.force_login(user)
    url = f"/regions/{rha.region.ods_code}/?period=2025-26-q2"
    html = client.get(url).content.decode()
    actions = html.split('id="table-actions"')[1].split("</table>")[0]
    assert "31 Jan 2027" in actions and "2 Mar 2027" in actions
    assert "2027-01-31" not in actions
    assert "Not needed" in actions and "Needed, not yet named" in actions
    download = client.get(url + "&download=actions").content.decode("utf-8-sig")
    assert "2027-01-31" in download and "31 Jan 2027" not in download


def test_what_would_move_it_names_the_metrics_that_do_it_alone():
    from oversight.dashboards.presenters import leverage_line, reach_text

    leverage = [
        {
            "metric_id": "OF1",
            "name": "A",
            "score": 3.5,
            "improved_score": 2.5,
            "average_change": -0.06,
        },
        {
            "metric_id": "OF2",
            "name": "B",
            "score": 3.0,
            "improved_score": 2.0,
            "average_change": -0.05,
        },
        {
            "metric_id": "OF3",
            "name": "C",
            "score": 2.0,
            "improved_score": 1.5,
            "average_change": -0.01,
        },
    ]
    boundaries = {"segment": 3, "to_better": 0.05, "to_worse": 0.2}
    assert reach_text(boundaries, leverage) == (
        "To reach segment 2 the average must fall by 0.05: improving any one of A (OF1) or "
        "B (OF2) by a quarter of its pool does it."
    )
    assert "no single metric" in reach_text({"segment": 3, "to_better": 0.5}, leverage)
    assert reach_text({"segment": 1, "to_better": None}, leverage) == ""
    assert leverage_line(leverage[0]) == "A (OF1): score 3.50 → 2.50, the average falls by 0.06"

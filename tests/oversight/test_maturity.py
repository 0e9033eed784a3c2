"""System maturity: criteria from the policy, the level the lowest rating unless
overridden with a reason, dated, and read by the evaluation of the freedom it gates."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model

from oversight.autonomy.errors import AutonomyError
from oversight.autonomy.maturity import maturity_on, maturity_policy, record_maturity_assessment
from oversight.autonomy.policy import load_autonomy_policy, spec_of
from oversight.engine.autonomy import Facts, evaluate
from oversight.models import Freedom
from systems.models import AuditEvent, IntegratedCareBoard, Role, Trust
from systems.services import grant_role

DAY = datetime.date(2026, 6, 30)


@pytest.fixture
def icb(reference_data):
    load_autonomy_policy(actor="test")
    return IntegratedCareBoard.objects.get(code="QT1")


def all_rated(rating: str, **different: str) -> dict[str, dict[str, str]]:
    _, criteria = maturity_policy()
    return {
        c["slug"]: {
            "rating": different.get(c["slug"].replace("-", "_"), rating),
            "evidence": "Seen",
        }
        for c in criteria
    }


def test_the_criteria_come_from_the_policy(icb):
    scale, criteria = maturity_policy()
    assert scale == ["emerging", "developing", "maturing", "thriving"]
    assert len(criteria) == 7 and criteria[0]["name"] == "A system partnership board"


def test_the_level_is_the_lowest_rating(icb):
    row = record_maturity_assessment(
        icb=icb,
        assessed_on=DAY,
        ratings=all_rated("thriving", streamlined_commissioning="developing"),
        actor="test",
    )
    assert row.computed_level == row.level == "developing"
    assert AuditEvent.objects.filter(action="maturity.recorded", object_id=str(row.pk)).exists()


def test_an_override_needs_a_reason(icb):
    with pytest.raises(AutonomyError, match="give the reason"):
        record_maturity_assessment(
            icb=icb, assessed_on=DAY, ratings=all_rated("developing"), level="maturing", actor="t"
        )
    row = record_maturity_assessment(
        icb=icb,
        assessed_on=DAY,
        ratings=all_rated("developing"),
        level="maturing",
        reason="Board-to-board review found the plans in place since the ratings",
        actor="test",
    )
    assert (row.computed_level, row.level) == ("developing", "maturing")
    assert row.override_reason.startswith("Board-to-board")


def test_an_incomplete_or_wrong_assessment_is_refused_and_stores_nothing(icb):
    ratings = all_rated("maturing")
    ratings.pop("capital-estates")
    ratings["capabilities"] = {"rating": "excellent"}
    with pytest.raises(AutonomyError) as refused:
        record_maturity_assessment(icb=icb, assessed_on=DAY, ratings=ratings, actor="test")
    assert "not rated: Capital and estates plans" in str(refused.value)
    assert "ratings must be one of emerging" in str(refused.value)
    trust = Trust.objects.get(code="RHA")
    with pytest.raises(AutonomyError, match="is not an ICB"):
        record_maturity_assessment(
            icb=trust, assessed_on=DAY, ratings=all_rated("maturing"), actor="test"
        )
    analyst = get_user_model().objects.create_user("analyst")
    grant_role(user=analyst, role=Role.ICB_ANALYST, icb=icb, actor="test")
    with pytest.raises(AutonomyError, match="regional or national role"):
        record_maturity_assessment(
            icb=icb, assessed_on=DAY, ratings=all_rated("maturing"), actor=analyst
        )
    assert maturity_on([icb.pk], DAY) == {}


def test_the_latest_assessment_on_or_before_a_day_applies(icb):
    record_maturity_assessment(
        icb=icb, assessed_on=DAY, ratings=all_rated("developing"), actor="test"
    )
    record_maturity_assessment(
        icb=icb,
        assessed_on=DAY + datetime.timedelta(days=60),
        ratings=all_rated("maturing"),
        actor="test",
    )
    assert maturity_on([icb.pk], DAY) == {icb.pk: "developing"}
    assert maturity_on([icb.pk], DAY + datetime.timedelta(days=90)) == {icb.pk: "maturing"}


@pytest.mark.parametrize(
    ("segment", "maturity", "eligible"),
    [
        (2, "maturing", True),
        (1, "thriving", True),
        (2, "developing", False),
        (3, "maturing", False),
        (2, None, False),
    ],
)
def test_the_freedom_needs_both_segment_and_maturity(icb, segment, maturity, eligible):
    spec = spec_of(Freedom.objects.get(slug="system-led-oversight"))
    facts = Facts(
        code="QT1",
        kind="icb",
        adjusted_segments=(segment,),
        final_segment=segment,
        icb_segment=segment,
        system_maturity=maturity,
    )
    assert evaluate(spec, facts).eligible is eligible


def test_the_region_records_maturity_on_the_icbs_decisions_page(client, icb):
    director = get_user_model().objects.create_user("director")
    grant_role(user=director, role=Role.REGIONAL, region=icb.region, actor="test")
    client.force_login(director)
    page = client.get(f"/organisations/{icb.code}/decisions/").content.decode()
    assert "System maturity" in page and "Record a system maturity assessment" in page
    _, criteria = maturity_policy()
    url = f"/organisations/{icb.code}/decisions/maturity/"
    refused = client.post(url, {"assessed_on": "2026-06-30"}, follow=True).content.decode()
    assert "Choose a system partnership board." in refused
    data = {"assessed_on_day": "30", "assessed_on_month": "6", "assessed_on_year": "2026"}
    data |= {f"rating_{i}": "maturing" for i in range(len(criteria))}
    data |= {"evidence_0": "Board terms of reference agreed in May"}
    done = client.post(url, data, follow=True).content.decode()
    assert "System maturity recorded: maturing" in done
    assert maturity_on([icb.pk], DAY) == {icb.pk: "maturing"}
    icb_page = client.get(f"/organisations/{icb.code}/").content.decode()
    assert "<strong>Maturing</strong>, assessed 30 June 2026" in icb_page

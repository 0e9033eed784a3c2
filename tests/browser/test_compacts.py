"""The director's year with a system, in a real browser: record the board-to-board meeting
and agree a compact with three commitments; after the next published run, see the one off
track under "Needs you"; record the system's maturity and confirm the freedom it earns."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command

from delegation.services import record_icb_segment
from oversight.autonomy.policy import load_autonomy_policy
from oversight.demo import demo_rows
from oversight.inputs import InputRow, record_inputs
from oversight.models import ReportingPeriod
from oversight.runs import run_segmentation
from oversight.services import load_methodologies
from systems.models import IntegratedCareBoard, Trust
from systems.services import load_reference_data

from .conftest import assert_accessible
from .test_journeys import sign_in

pytestmark = pytest.mark.browser

TRUST = "RRK"  # University Hospitals Birmingham, hosted by NHS Birmingham and Solihull ICB


def publish(label: str, values: dict[str, float]) -> None:
    """NHS England publishes ``label``: demo inputs, with ``values`` for the trust."""
    period = ReportingPeriod.objects.by_key(label)
    trust = Trust.objects.get(code=TRUST)
    rows = [
        r
        for r in demo_rows(period)
        if not (r.organisation_id == trust.pk and r.metric_id in values)
    ]
    rows += [InputRow(trust.pk, m, "value", value=v) for m, v in values.items()]
    record_inputs(period=period, rows=rows, source="synthetic demo data", actor="test")
    run_segmentation(period=period, actor="test", replicates=20, publish=True, reason="test")


@pytest.fixture
def year(live_server, settings, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    load_reference_data()
    load_methodologies()
    load_autonomy_policy(actor="test")
    publish("Q1 2025/26", {"OF0013": 76.0, "OF0023": 60.0})
    record_icb_segment(
        actor="test",
        icb=IntegratedCareBoard.objects.get(code="QHL"),
        segment=2,
        source="Synthetic",
        as_of=datetime.date(2025, 5, 1),
    )
    call_command("load_demo_users", verbosity=0)
    return live_server.url


def fill_date(form, name: str, day: datetime.date) -> None:
    form.locator(f"input[name={name}_day]").fill(str(day.day))
    form.locator(f"input[name={name}_month]").fill(str(day.month))
    form.locator(f"input[name={name}_year]").fill(str(day.year))


def add_commitment(page, **fields) -> None:
    page.locator("#add-commitment summary").click()
    form = page.locator("#add-commitment form")
    form.locator("select[name=organisation]").select_option(fields.pop("organisation"))
    for name in ("metric_id", "direction"):
        if name in fields:
            form.locator(f"select[name={name}]").select_option(fields.pop(name))
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    assert "Commitment added" in page.locator("main").inner_text()


def test_the_director_agrees_a_compact_and_acts_on_it(year, page):
    site = year
    sign_in(page, site, "midlands-director", "regional-demo")
    page.click("text=My region")
    page.click("text=All compacts")
    assert page.locator("h1").inner_text() == "System compacts"
    page.select_option("select[name=icb]", "QHL")
    page.fill("input[name=financial_year]", "2025/26")
    page.click("text=Open the compact")
    assert page.locator("h1").inner_text() == "Compact 2025/26"
    assert_accessible(page)

    meeting = page.locator("form[action$='/meeting/']")
    fill_date(meeting, "held_on", datetime.date(2025, 3, 20))
    meeting.locator("textarea[name=attendees]").fill(
        "Chair of the ICB, Chair, NHS Birmingham and Solihull ICB\n"
        "Regional director, Regional director, NHS England Midlands"
    )
    meeting.locator("input[name=minutes_reference]").fill("B2B-QHL-2025-03")
    meeting.locator("button[type=submit]").click()
    assert "Board-to-board meeting of 20 March 2025 recorded (2 attendees)" in page.content()

    add_commitment(
        page,
        organisation=TRUST,
        title="Four-hour A&E on the agreed trajectory",
        metric_id="OF0013",
        direction="at_least",
        target="80",
        q1="75",
        q2="78",
        accountable_name="Chief executive of UHB",
        accountable_role="Chief executive",
    )
    add_commitment(
        page,
        organisation=TRUST,
        title="More patients treated within 18 weeks",
        metric_id="OF0023",
        direction="at_least",
        target="55",
        accountable_name="Chief operating officer of UHB",
        accountable_role="Chief operating officer",
    )
    add_commitment(
        page,
        organisation="QHL",
        title="One system elective hub",
        accountable_name="Chief executive of the ICB",
        accountable_role="Chief executive",
    )
    status = page.locator("form[action$='/status/']")
    status.locator("select[name=to]").select_option("agreed")
    status.locator("input[name=reason]").fill("Agreed at the board-to-board meeting")
    status.locator("button[type=submit]").click()
    assert "The compact is now agreed." in page.content()
    commitments = page.locator("#table-commitments").inner_text()
    assert commitments.count("On track") == 2  # against Q1, published already
    assert_accessible(page)

    # The system's maturity: every criterion maturing.
    page.goto(site + "/organisations/QHL/decisions/")
    page.locator("summary", has_text="Record a system maturity assessment").click()
    form = page.locator("form[action$='/decisions/maturity/']")
    fill_date(form, "assessed_on", datetime.date(2025, 9, 1))
    for select in form.locator("select[name^=rating_]").all():
        select.select_option("maturing")
    form.locator("button[type=submit]").click()
    assert "System maturity recorded: maturing" in page.content()
    assert_accessible(page)

    # NHS England publishes Q2: A&E falls short of its Q2 point.
    publish("Q2 2025/26", {"OF0013": 74.5, "OF0023": 61.0})

    page.click("text=My region")
    panel = page.locator("#needs-you")
    off = panel.locator("a", has_text="compact commitment off track")
    assert off.count() == 1 and "1" in off.inner_text()
    assert_accessible(page)
    off.click()
    assert page.locator("h1").inner_text() == "Compact 2025/26"
    table = page.locator("#table-commitments").inner_text()
    assert "Off track" in table and "74.5 in Q2 2025/26 against at least 78" in table

    page.click("text=My region")
    page.locator("#needs-you a", has_text="to confirm").click()
    if "#table-freedoms" in page.url:
        page.locator("#table-freedoms tbody a", has_text="Birmingham and Solihull").first.click()
    assert page.locator("h1").inner_text() == "NHS Birmingham and Solihull Integrated Care Board"
    assert "<strong>Maturing</strong>" in page.content()
    form = page.locator(
        "form.inline-decision",
        has=page.locator("text=Confirm"),
    ).first
    form.locator("input[name=reason]").fill("Maturing system in segment 2")
    form.locator("button[value=confirm]").click()
    assert "Check before you confirm this freedom" in page.locator("h1").inner_text()
    assert_accessible(page)
    page.click("text=Yes, confirm this freedom")
    assert "System oversight and scrutiny led by the system" in page.content()
    assert "Granted" in page.content()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site + "/compacts/QHL/2025-26/")
    assert_accessible(page)
    page.screenshot(path="/tmp/compact-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path="/tmp/compact-desktop.png", full_page=True)

"""The journeys people take, in a real browser, each ending with an accessibility check."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from oversight.autonomy.policy import load_autonomy_policy
from oversight.demo import demo_rows
from oversight.inputs import record_inputs
from oversight.models import MetricUpload, ReportingPeriod
from oversight.runs import run_segmentation
from oversight.services import load_methodologies
from systems.services import load_reference_data

from .conftest import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server, settings, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    load_reference_data()
    load_methodologies()
    load_autonomy_policy(actor="test")
    for label in ("Q1 2025/26", "Q2 2025/26"):
        period = ReportingPeriod.objects.by_key(label)
        record_inputs(
            period=period, rows=demo_rows(period), source="synthetic demo data", actor="test"
        )
        run_segmentation(period=period, actor="test", replicates=20, publish=True, reason="test")
    call_command("load_demo_users", verbosity=0)
    return live_server.url


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def test_regional_director_reviews_their_region(site, page):
    sign_in(page, site, "midlands-director", "regional-demo")
    page.click("text=My region")
    assert page.locator("h1").inner_text().startswith("Midlands")
    assert page.locator(".synthetic-banner").count() == 1
    page.select_option("#peer_group", "mental-health-and-community")
    page.click("text=Filter")
    rows = page.locator("#table-organisations tbody tr")
    assert rows.count() > 3
    assert "Acute trust" not in page.locator("#table-organisations").inner_text()
    page.locator("#table-organisations tbody a", has_text="Nottinghamshire Healthcare").click()
    assert page.locator("h1").inner_text() == "Nottinghamshire Healthcare NHS Foundation Trust"
    assert page.locator("#table-metrics tbody tr").count() >= 8
    with page.expect_download() as download:
        history = page.locator(".dashboard-table", has=page.locator("#table-history"))
        history.locator("a", has_text="CSV").click()
    assert download.value.suggested_filename.startswith("organisation-RHA-history")
    first_line = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()[0]
    assert first_line.startswith("Period")
    # A table that fits its column has no scroll hint and no extra tab stop.
    history = page.locator(".dashboard-table", has=page.locator("#table-history"))
    assert not history.locator(".dashboard-table__hint").is_visible()
    assert history.locator(".nhsuk-scroll__content").get_attribute("tabindex") is None
    assert_accessible(page)


def test_analyst_uploads_a_broken_file_then_a_good_one(site, page, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "org_code,metric_id,period,value\nRHA,OF0082,Q2 2025/26,lots\nRKL,OF0082,Q2 2025/26,4.1\n"
    )
    good = tmp_path / "good.csv"
    good.write_text("org_code,metric_id,period,value\nRHA,OF0082,Q2 2025/26,4.4\n")
    sign_in(page, site, "notts-analyst", "analyst-demo")
    page.click("text=Uploads")
    page.set_input_files("input[type=file]", str(broken))
    page.click("text=Upload and check")
    summary = page.locator(".nhsuk-error-summary")
    assert "2 problems in this file: nothing was stored" in summary.inner_text()
    assert "Row 2, value: Not a number" in summary.inner_text()
    assert "Row 3, org_code: Outside your scope" in summary.inner_text()
    assert_accessible(page)

    page.click("text=Upload another file")
    page.set_input_files("input[type=file]", str(good))
    page.click("text=Upload and check")
    page.wait_for_function(
        "document.getElementById('status-tag') && "
        "document.getElementById('status-tag').innerText === 'Done'",
        timeout=30000,
    )
    assert "Rows for Q2 2025/26" in page.content()
    assert MetricUpload.objects.filter(status="done").count() == 1
    assert_accessible(page)


def test_pages_at_mobile_width_are_accessible(site, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, site, "national", "national-demo")
    for url in (
        "/national/",
        "/regions/Y60/",
        "/league-tables/?peer_group=acute",
        "/organisations/RHA/",
        "/uploads/",
        "/reconciliation/",
        "/delegation/",
        "/delegation/icbs/QT1/",
        "/delegation/regions/Y60/approvals/",
    ):
        page.goto(site + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"{url} scrolls sideways ({width}px)"
        # The "More" toggle has one chevron: nhsuk-frontend's ::after, no icon of ours.
        toggle = page.locator("#toggle-menu")
        assert toggle.locator("svg").count() == 0
        after = toggle.evaluate("t => getComputedStyle(t, '::after').content")
        assert after not in ("none", "normal"), after
        # Charts keep a readable plot height on a phone.
        for chart, least in (("#segments-chart", 300), ("#history-chart", 220)):
            if page.locator(chart).count():
                height = page.locator(chart).bounding_box()["height"]
                assert height >= least, f"{url}: {chart} is {height}px high"
        assert_accessible(page)
    context.close()


def test_wide_tables_show_that_they_scroll(site, browser):
    """A table wider than the page says so (a shaded edge and a hint), takes the keyboard,
    and its headings wrap to two lines at most, so no gap opens under the caption."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, site, "national", "national-demo")
    page.goto(site + "/league-tables/?peer_group=acute")
    league = page.locator(".dashboard-table", has=page.locator("#table-league"))
    scroll = league.locator(".nhsuk-scroll")
    assert "nhsuk-scroll--scrollable-right" in scroll.get_attribute("class")
    hint = league.locator(".dashboard-table__hint")
    assert hint.is_visible() and "Scroll sideways" in hint.inner_text()
    content = league.locator(".nhsuk-scroll__content")
    assert content.get_attribute("tabindex") == "0"
    content.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "document.querySelector('#table-league').parentElement.scrollLeft > 0", timeout=5000
    )
    caption = page.locator("#table-league caption").bounding_box()
    head = page.locator("#table-league thead").bounding_box()
    assert head["height"] <= 60, f"header row {head['height']}px high"
    assert head["y"] - (caption["y"] + caption["height"]) <= 16
    body = page.locator("#table-league tbody td").first.inner_text()
    assert body.strip().isdigit()
    assert_accessible(page)
    context.close()


def test_delegation_request_waits_for_the_regions_approval(site, page):
    """An analyst raises a spend-changing request under the segment 3 condition; the
    Midlands director finds it in their approval queue and approves it with a reason; the
    analyst then marks it as started."""
    import datetime

    from delegation.services import (
        bring_into_force,
        create_agreement,
        load_delegation_data,
        record_icb_segment,
        record_signature_made_elsewhere,
    )
    from systems.models import IntegratedCareBoard

    load_delegation_data(actor="test")
    notts = IntegratedCareBoard.objects.get(code="QT1")
    agreement = create_agreement(actor="test", icb=notts, financial_year="2026/27")
    record_signature_made_elsewhere(
        actor="test", agreement=agreement, signatory="director", signed_on=datetime.date.today()
    )
    bring_into_force(actor="test", agreement=agreement)
    record_icb_segment(actor="test", icb=notts, segment=3, source="Oversight letter")

    sign_in(page, site, "notts-analyst", "analyst-demo")
    page.goto(site + "/delegation/icbs/QT1/")
    assert "In force" in page.locator(".nhsuk-summary-list").inner_text()
    page.click("text=Raise a commissioning change request")
    page.click("text=Raise request")  # empty: every problem listed, nothing stored
    summary = page.locator(".nhsuk-error-summary")
    assert "Choose the delegated services the change affects." in summary.inner_text()
    assert_accessible(page)
    page.fill("#id_title", "Extra critical care beds")
    page.check("label:has-text('Adult critical care')")
    page.fill("#id_description", "Four more level 3 beds.")
    page.fill("#id_annual_spend_effect", "1250000")
    page.check("label:has-text('Yes')")
    page.fill("#id_intended_start_0", "4")
    page.fill("#id_intended_start_1", "1")
    page.fill("#id_intended_start_2", "2027")
    page.click("text=Raise request")
    assert "Awaiting the region's decision" in page.locator("h1 + dl").inner_text()
    assert page.locator("text=Mark as started").count() == 0
    page.context.clear_cookies()

    sign_in(page, site, "midlands-director", "regional-demo")
    page.click("text=My region")
    page.click("text=1 change request awaiting your decision")
    assert page.locator("h1").inner_text() == "Approval queue"
    assert_accessible(page)
    card = page.locator(".nhsuk-card", has_text="Extra critical care beds")
    card.locator("text=Approve").click()  # no reason: refused, nothing changes
    assert "Give the reason for the decision." in page.locator(".nhsuk-error-summary").inner_text()
    card = page.locator(".nhsuk-card", has_text="Extra critical care beds")
    card.locator("input[name=reason]").fill("Within the regional envelope")
    card.locator("text=Approve").click()
    assert "Check before you approve this change request" in page.locator("h1").inner_text()
    assert_accessible(page)
    page.click("text=Yes, approve this change request")
    assert "Nothing is waiting for a decision." in page.content()
    assert "Within the regional envelope" in page.locator("#table-decided").inner_text()
    assert_accessible(page)
    page.context.clear_cookies()

    sign_in(page, site, "notts-analyst", "analyst-demo")
    page.goto(site + "/delegation/icbs/QT1/")
    page.locator("#table-requests a", has_text="Extra critical care beds").click()
    page.click("text=Mark as started")
    assert "Started" in page.locator("h1 + dl").inner_text()
    assert_accessible(page)

"""A director's and an analyst's day, in a real browser at desktop and phone width: where
each lands, what needs them, finding any trust, reading why it is where it is, and the
notice that an upload has ended."""

from __future__ import annotations

import re

import pytest

from .conftest import assert_accessible
from .test_journeys import sign_in, site  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_the_director_starts_on_what_needs_them_and_finds_any_trust(
    site,  # noqa: F811
    browser,
    width,
    height,
):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    sign_in(page, site, "midlands-director", "regional-demo")
    assert re.search(r"/regions/\w+/$", page.url), page.url
    panel = page.locator("#needs-you")
    assert panel.bounding_box()["y"] < height, "the panel is above the fold"
    assert "at a glance" in page.content()
    assert_accessible(page)

    to_confirm = panel.locator("a", has_text="to confirm")
    if to_confirm.count():
        to_confirm.first.click()
        if "#table-freedoms" in page.url:
            page.locator("#table-freedoms tbody a").first.click()
        form = page.locator("form.inline-decision", has=page.locator("text=Confirm")).first
        form.locator("input[name=reason]").fill("Meets the criteria this quarter")
        form.locator("button[value=confirm]").click()
        assert "Check before you confirm this freedom" in page.locator("h1").inner_text()
        assert_accessible(page)
        page.click("text=Yes, confirm this freedom")
        assert "Granted" in page.content() or "granted" in page.content()

    page.fill("#search-field", "leeds community")
    page.press("#search-field", "Enter")
    page.wait_for_url(re.compile(r"/search/"))
    assert "Leeds Community Healthcare NHS Trust" in page.locator("main").inner_text()
    assert_accessible(page)
    page.locator(".search-results a", has_text="Leeds Community Healthcare").click()
    assert page.locator("h1").inner_text() == "Leeds Community Healthcare NHS Trust"
    main = page.locator("main").inner_text()
    assert "outside the organisations your roles cover" in main
    assert "Why: every metric" in main and "Oversight actions" not in main
    assert_accessible(page)

    page.goto(site + "/league-tables/?peer_group=mental-health-and-community")
    page.locator("#table-league tbody a").last.click()
    assert page.locator("h1").count() == 1 and "Segment history" in page.content()
    context.close()


def test_the_analyst_finds_the_catalogue_uploads_and_is_told(site, page, tmp_path):  # noqa: F811
    good = tmp_path / "good.csv"
    good.write_text("org_code,metric_id,period,value\nRHA,OF0082,Q2 2025/26,4.6\n")
    sign_in(page, site, "notts-analyst", "analyst-demo")
    assert "/organisations/QT1/" in page.url
    assert page.locator("header >> text=My ICB").count() == 1
    page.click("header >> text=Uploads")
    page.click("text=metric catalogue")
    assert "OF0082" in page.locator("main").inner_text()
    assert_accessible(page)
    page.go_back()
    page.set_input_files("input[type=file]", str(good))
    page.click("text=Upload and check")
    page.wait_for_selector("#status-tag:has-text('Done')", timeout=60_000)
    upload_url = page.url
    page.click("header >> text=Notifications")
    notice = page.locator(".notice", has_text="done").first
    assert "good.csv" in notice.inner_text()
    assert_accessible(page)
    page.click("text=Change how you are e-mailed")
    page.click("text=Save")  # nothing chosen yet is kept: the daily digest
    assert_accessible(page)
    page.click("header >> text=Notifications")
    notice = page.locator(".notice", has_text="done").first
    notice.locator("button", has_text="Open").click()
    assert page.url == upload_url
    assert_accessible(page)


def test_the_national_team_sets_a_methodologys_thresholds(site, page):  # noqa: F811
    from oversight.models import Methodology
    from systems.models import AuditEvent

    methodology = Methodology.objects.get(slug="nof-2026-27")
    sign_in(page, site, "national", "national-demo")
    assert page.url.endswith("/national/")
    page.goto(f"{site}/admin/oversight/methodology/{methodology.pk}/change/")
    for name, value in (("t1", "2.1"), ("t2", "2.4"), ("t3", "2.75")):
        page.fill(f"#id_{name}", value)
    page.locator("input[name=_save]").click()  # no reason: refused, nothing changes
    assert "A reason is required" in page.locator("#content").inner_text(), page.locator(
        ".errorlist"
    ).all_inner_texts()
    page.fill("#id_thresholds_reason", "NHS England's published 2026/27 thresholds")
    page.locator("input[name=_save]").click()
    page.wait_for_url(re.compile(r"/admin/oversight/methodology/$"))
    methodology.refresh_from_db()
    thresholds = (methodology.threshold_1, methodology.threshold_2, methodology.threshold_3)
    assert [str(t) for t in thresholds] == ["2.1000", "2.4000", "2.7500"]
    assert AuditEvent.objects.filter(object_id=str(methodology.pk)).exists()

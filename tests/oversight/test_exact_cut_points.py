"""Cut points and thresholds kept exactly as given (NHS England's 2.325 stays 2.325):
reading, showing, pinning, setting thresholds, and the segments they give."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from oversight.cut_points import (
    CutPointError,
    format_cut_point,
    format_cut_points,
    parse_cut_point,
    parse_cut_points,
)
from oversight.engine import segment_of
from oversight.inputs import InputRow, record_inputs
from oversight.models import (
    InputKind,
    Methodology,
    OrganisationAssessment,
    ReportingPeriod,
    SegmentationRun,
)
from oversight.runs import run_segmentation
from oversight.selectors import explain
from oversight.services import pin_cut_points, set_thresholds
from systems.models import AuditEvent, Organisation, PeerGroup, Role
from systems.services import grant_role

# --- Reading and showing (no database) ----------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("2.325", Decimal("2.325")),
        ("2.05", Decimal("2.05")),
        (" 2.0650 ", Decimal("2.0650")),
        ("2", Decimal("2")),
        (2.325, Decimal("2.325")),  # a float is read through its shortest text
        (Decimal("2.3375"), Decimal("2.3375")),
    ],
)
def test_cut_points_are_read_exactly(given, kept):
    assert parse_cut_point(given) == kept


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["2.05", "2.32501", "2.62"], "2.32501 has more than 4 decimal places"),
        (["2.05", "two", "2.62"], "two is not a number"),
        (["2.05", "", "2.62"], r"\(blank\) is not a number"),
        (["2.05", "nan", "2.62"], "nan is not a number"),
        (["2.05", "2.325"], "expected three numbers T1 T2 T3; got 2"),
        (["2.5", "2.4", "2.9"], r"must rise strictly \(T1 < T2 < T3\); got 2.5, 2.4, 2.9"),
        (["2.5", "2.5", "2.9"], "must rise strictly"),
        (["0.5", "2.4", "2.9"], "must lie within 1 to 4; 0.5 does not"),
        (["2", "2.4", "4.25"], "must lie within 1 to 4; 4.25 does not"),
    ],
)
def test_cut_points_that_cannot_be_kept_exactly_are_refused(given, message):
    with pytest.raises(CutPointError, match=message):
        parse_cut_points(given)


def test_bounds_are_allowed():
    assert parse_cut_points(["1", "2.5", "4"]) == (Decimal(1), Decimal("2.5"), Decimal(4))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("2.3250"), "2.325"),
        (2.325, "2.325"),
        (Decimal("2.0500"), "2.05"),
        (2.05, "2.05"),
        (2, "2.00"),
        (Decimal("2.3375"), "2.3375"),
        (2.3374999999999999, "2.3375"),  # binary noise of a computed quartile
        (Decimal("2.0650"), "2.065"),
        (None, ""),
    ],
)
def test_cut_points_show_their_given_precision(value, shown):
    assert format_cut_point(value) == shown


def test_three_cut_points_shown_together():
    assert format_cut_points((2.05, 2.325, 2.62)) == "2.05, 2.325, 2.62"
    assert format_cut_points(None) == ""


def test_a_cut_point_between_hundredths_splits_averages_on_either_side():
    cut = (2.05, 2.325, 2.62)
    assert segment_of(2.33, cut) == 3
    assert segment_of(2.32, cut) == 2
    assert segment_of(2.06, cut) == 2
    assert segment_of(2.05, cut) == 1
    assert segment_of(2.07, (2.065, 2.325, 2.62)) == 2
    assert segment_of(2.06, (2.065, 2.325, 2.62)) == 1


# --- Pinning, in the database -------------------------------------------------------------


def two_trusts() -> tuple[Organisation, Organisation]:
    a, b = Organisation.objects.filter(peer_group=PeerGroup.MENTAL_HEALTH_AND_COMMUNITY).order_by(
        "code"
    )[:2]
    return a, b


def give_averages(period: ReportingPeriod, averages: dict[Organisation, float]) -> None:
    """Each organisation's only score is a supplied one, so its average is that score."""
    record_inputs(
        period=period,
        rows=[InputRow(org.pk, "OF1041", InputKind.SCORE, value=v) for org, v in averages.items()],
        source="test",
        actor="test",
    )


def segments(run: SegmentationRun) -> dict[str, int | None]:
    return dict(
        OrganisationAssessment.objects.filter(run=run, segmented=True).values_list(
            "organisation__code", "unadjusted_segment"
        )
    )


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_pin_command_keeps_2_325_and_a_run_applies_it(methodologies):
    period = ReportingPeriod.objects.by_key("Q1 2025/26")
    above, below = two_trusts()
    give_averages(period, {above: 2.33, below: 2.32})
    out = run_command(
        "pin_cut_points",
        "--period",
        "Q1 2025/26",
        "2.05",
        "2.325",
        "2.62",
        "--reason",
        "NHS England's published boundaries",
    )
    assert "Pinned cut points for Q1 2025/26: 2.05, 2.325, 2.62." in out
    period.refresh_from_db()
    assert (period.pinned_t1, period.pinned_t2, period.pinned_t3) == (
        Decimal("2.05"),
        Decimal("2.325"),
        Decimal("2.62"),
    )
    event = AuditEvent.objects.get(action="cut_points.pinned")
    assert event.after["cut_points"] == ["2.05", "2.325", "2.62"]
    assert event.actor_label == "manage.py pin_cut_points"
    assert event.reason == "NHS England's published boundaries"

    out = run_command("segment", "--period", "Q1 2025/26", "--replicates", "0", "--publish")
    assert "Cut points (pinned): 2.05, 2.325, 2.62" in out
    run = SegmentationRun.objects.get()
    assert (run.cut_point_1, run.cut_point_2, run.cut_point_3) == (
        Decimal("2.05"),
        Decimal("2.325"),
        Decimal("2.62"),
    )
    assert segments(run) == {above.code: 3, below.code: 2}

    # What was applied is shown as given: the export, the explanation and the API.
    rows = {
        r["org_code"]: r
        for r in csv.DictReader(
            io.StringIO(run_command("export_assessments", "--period", "Q1 2025/26"))
        )
    }
    assert rows[above.code]["average_score"] == "2.33"
    assert [rows[above.code][f"cut_point_{i}"] for i in (1, 2, 3)] == ["2.05", "2.325", "2.62"]
    assert rows[above.code]["cut_points_source"] == "pinned"
    period.refresh_from_db()
    assert explain(above, period).cut_points_text == "2.05, 2.325, 2.62"


def test_pages_and_api_show_the_cut_points_applied_as_given(client, methodologies):
    period = ReportingPeriod.objects.by_key("Q1 2025/26")
    above, below = two_trusts()
    give_averages(period, {above: 2.33, below: 2.32})
    pin_cut_points(period=period, cut_points=("2.05", "2.325", "2.62"), reason="r", actor="t")
    # ``period`` predates the pin: the run reads the pin as stored.
    run = run_segmentation(period=period, actor="test", replicates=0, publish=True, reason="test")
    assert run.cut_points_source == "pinned"
    user = get_user_model().objects.create_user("national-reader")
    grant_role(user=user, role=Role.NATIONAL, actor="test")
    client.force_login(user)

    page = client.get(f"/organisations/{above.code}/?period={period.slug}").content.decode()
    assert "2.05, 2.325, 2.62 (pinned)" in page
    league = client.get(
        f"/league-tables/?period={period.slug}&peer_group={PeerGroup.MENTAL_HEALTH_AND_COMMUNITY}"
    ).content.decode()
    assert "Cut points applied to the average score: 2.05, 2.325, 2.62 (pinned)" in league

    body = client.get(f"/api/v1/runs/{run.pk}/").json()
    assert body["cut_points"] == [2.05, 2.325, 2.62]
    assert body["cut_points_by_peer_group"][PeerGroup.MENTAL_HEALTH_AND_COMMUNITY]["t2"] == 2.325
    assert client.get(f"/api/v1/periods/{period.slug}/").json()["pinned_cut_points"] == [
        2.05,
        2.325,
        2.62,
    ]


def test_a_refused_pin_changes_nothing(methodologies):
    period = ReportingPeriod.objects.by_key("Q1 2025/26")
    pin_cut_points(period=period, cut_points=("2.05", "2.325", "2.62"), reason="x", actor="t")
    events = AuditEvent.objects.count()
    for values, message in (
        (("2.05", "2.32501", "2.62"), "2.32501 has more than 4 decimal places"),
        (("2.05", "x", "2.62"), "x is not a number"),
        (("2.5", "2.4", "2.9"), "must rise strictly"),
        (("2.5", "2.6", "4.1"), "within 1 to 4"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("pin_cut_points", "--period", "Q1 2025/26", *values, "--reason", "y")
    with pytest.raises(CutPointError, match="A reason is required"):
        pin_cut_points(period=period, cut_points=("2.1", "2.3", "2.6"), reason=" ", actor="t")
    period.refresh_from_db()
    assert period.pinned_cut_points == (2.05, 2.325, 2.62)
    assert period.pin_reason == "x"
    assert AuditEvent.objects.count() == events


def test_computed_quartiles_are_stored_exactly(methodologies):
    period = ReportingPeriod.objects.by_key("Q1 2025/26")
    orgs = list(
        Organisation.objects.filter(peer_group=PeerGroup.MENTAL_HEALTH_AND_COMMUNITY).order_by(
            "code"
        )[:4]
    )
    give_averages(period, dict(zip(orgs, (2.01, 2.02, 2.03, 2.35), strict=True)))
    run = run_segmentation(period=period, actor="test", replicates=0, publish=True, reason="test")
    assert run.cut_points_source == "computed"
    # 25th, 50th and 75th percentiles (linear) of 2.01, 2.02, 2.03, 2.35.
    assert (run.cut_point_1, run.cut_point_2, run.cut_point_3) == (
        Decimal("2.0175"),
        Decimal("2.025"),
        Decimal("2.11"),
    )
    group = run.cut_points_by_peer_group[PeerGroup.MENTAL_HEALTH_AND_COMMUNITY]
    assert format_cut_points((group["t1"], group["t2"], group["t3"])) == "2.0175, 2.025, 2.11"


# --- Thresholds ---------------------------------------------------------------------------


def test_set_thresholds_command_and_a_2026_27_run_uses_them(methodologies):
    period = ReportingPeriod.objects.by_key("Q1 2026/27")
    above, below = two_trusts()
    give_averages(period, {above: 2.33, below: 2.32})
    out = run_command(
        "set_thresholds",
        "--methodology",
        "nof-2026-27",
        "2.05",
        "2.325",
        "2.62",
        "--reason",
        "Published by NHS England",
    )
    assert "Set the thresholds of nof-2026-27: 2.05, 2.325, 2.62." in out
    methodology = Methodology.objects.get(slug="nof-2026-27")
    assert methodology.threshold_2 == Decimal("2.325")
    event = AuditEvent.objects.get(action="methodology.thresholds_set")
    assert event.before == {"thresholds": None}
    assert event.after == {"thresholds": ["2.05", "2.325", "2.62"]}
    assert event.actor_label == "manage.py set_thresholds"
    assert event.reason == "Published by NHS England"
    assert event.at is not None

    run = run_segmentation(period=period, actor="test", replicates=0, publish=True, reason="test")
    assert run.cut_points_source == "fixed"
    assert run.cut_point_2 == Decimal("2.325")
    assert segments(run) == {above.code: 3, below.code: 2}


def test_refused_thresholds_change_nothing(methodologies):
    events = AuditEvent.objects.count()
    for values, message in (
        (["2.05", "2.32501", "2.62"], "2.32501 has more than 4 decimal places"),
        (["2.05", "abc", "2.62"], "abc is not a number"),
        (["2.6", "2.4", "2.9"], "Thresholds must rise strictly"),
        (["0.9", "2.4", "2.9"], "Thresholds must lie within 1 to 4; 0.9 does not"),
        (["2.05", "2.62"], "expected three numbers"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("set_thresholds", "--methodology", "nof-2026-27", *values, "--reason", "r")
    with pytest.raises(CommandError, match="A reason is required"):
        call_command(
            "set_thresholds", "--methodology", "nof-2026-27", "2", "2.3", "2.6", "--reason", ""
        )
    with pytest.raises(CommandError, match="nof-2025-26 segments by quartiles"):
        call_command(
            "set_thresholds", "--methodology", "nof-2025-26", "2", "2.3", "2.6", "--reason", "r"
        )
    with pytest.raises(CommandError, match="No methodology 'nof-2099'"):
        call_command(
            "set_thresholds", "--methodology", "nof-2099", "2", "2.3", "2.6", "--reason", "r"
        )
    assert Methodology.objects.get(slug="nof-2026-27").thresholds is None
    assert AuditEvent.objects.count() == events


def test_thresholds_can_be_unset_again(methodologies):
    m = Methodology.objects.get(slug="nof-2026-27")
    set_thresholds(methodology=m, thresholds=["2", "2.3", "2.6"], reason="r", actor="t")
    out = run_command("set_thresholds", "--methodology", "nof-2026-27", "--clear", "--reason", "w")
    assert "Unset the thresholds of nof-2026-27." in out
    assert Methodology.objects.get(slug="nof-2026-27").thresholds is None
    assert AuditEvent.objects.filter(action="methodology.thresholds_unset").count() == 1


# --- The admin forms go through the services ----------------------------------------------


def admin_form_data(response) -> dict[str, str]:
    """What the admin change page would post back unchanged (main form and inlines)."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data: dict[str, str] = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = str(value)
    return data


def test_admin_sets_thresholds_through_the_service(admin_client, methodologies):
    m = Methodology.objects.get(slug="nof-2026-27")
    url = f"/admin/oversight/methodology/{m.pk}/change/"
    data = admin_form_data(admin_client.get(url))
    bad = admin_client.post(url, {**data, "t1": "2.05", "t2": "2.32501", "t3": "2.62"})
    assert bad.status_code == 200
    assert "2.32501 has more than 4 decimal places" in bad.content.decode()
    no_reason = admin_client.post(url, {**data, "t1": "2.05", "t2": "2.325", "t3": "2.62"})
    assert "A reason is required" in no_reason.content.decode()
    assert Methodology.objects.get(pk=m.pk).thresholds is None

    good = {**data, "t1": "2.05", "t2": "2.325", "t3": "2.62", "thresholds_reason": "Published"}
    assert admin_client.post(url, good).status_code == 302
    m.refresh_from_db()
    assert (m.threshold_1, m.threshold_2, m.threshold_3) == (
        Decimal("2.05"),
        Decimal("2.325"),
        Decimal("2.62"),
    )
    event = AuditEvent.objects.get(action="methodology.thresholds_set")
    assert event.after == {"thresholds": ["2.05", "2.325", "2.62"]}
    assert event.reason == "Published"
    # Shown again as given, and listed as given.
    page = admin_client.get(url).content.decode()
    assert 'value="2.325"' in page
    assert "2.05, 2.325, 2.62" in admin_client.get("/admin/oversight/methodology/").content.decode()


def test_admin_refuses_thresholds_for_a_quartile_methodology(admin_client, methodologies):
    m = Methodology.objects.get(slug="nof-2025-26")
    url = f"/admin/oversight/methodology/{m.pk}/change/"
    data = admin_form_data(admin_client.get(url))
    page = admin_client.post(
        url, {**data, "t1": "2", "t2": "2.3", "t3": "2.6", "thresholds_reason": "r"}
    ).content.decode()
    assert "nof-2025-26 segments by quartiles" in page
    assert Methodology.objects.get(pk=m.pk).thresholds is None


def test_admin_pins_cut_points_through_the_service(admin_client, methodologies):
    period = ReportingPeriod.objects.by_key("Q1 2025/26")
    url = f"/admin/oversight/reportingperiod/{period.pk}/change/"
    data = admin_form_data(admin_client.get(url))
    bad = admin_client.post(
        url,
        {**data, "t1": "2.05", "t2": "2.32501", "t3": "2.62", "cut_points_reason": "r"},
    )
    assert "2.32501 has more than 4 decimal places" in bad.content.decode()
    period.refresh_from_db()
    assert period.pinned_cut_points is None

    good = {**data, "t1": "2.05", "t2": "2.325", "t3": "2.62", "cut_points_reason": "Published"}
    assert admin_client.post(url, good).status_code == 302
    period.refresh_from_db()
    assert period.pinned_t2 == Decimal("2.325")
    assert period.pin_reason == "Published"
    assert AuditEvent.objects.filter(action="cut_points.pinned").count() == 1
    listing = admin_client.get("/admin/oversight/reportingperiod/").content.decode()
    assert "2.05, 2.325, 2.62" in listing

    # All three blank again: the pin is cleared, through the service.
    data = admin_form_data(admin_client.get(url))
    cleared = {**data, "t1": "", "t2": "", "t3": "", "cut_points_reason": "Full data loaded"}
    assert admin_client.post(url, cleared).status_code == 302
    period.refresh_from_db()
    assert period.pinned_cut_points is None
    assert AuditEvent.objects.filter(action="cut_points.cleared").count() == 1

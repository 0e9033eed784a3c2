"""Segmentation runs through the database: the worked example, commands, current-run switch."""

import csv
import io
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from oversight.exports import ASSESSMENT_COLUMNS, NHSE_LEAGUE_COLUMNS
from oversight.inputs import record_inputs
from oversight.models import (
    MetricScore,
    OrganisationAssessment,
    ReportingPeriod,
    RunStatus,
    SegmentationRun,
)
from oversight.runs import publish_run, run_segmentation
from oversight.selectors import explain
from oversight.services import pin_cut_points
from systems.models import AuditEvent, Organisation
from tests.conftest import EXAMPLES, nhse_file_rows

# Also run on SQLite, the embedded default of `make run`.
pytestmark = pytest.mark.sqlite

EXAMPLE = EXAMPLES / "nof-synthetic-mhc-q2-2025-26.csv"
EXPECTED = EXAMPLES / "nof-synthetic-mhc-q2-2025-26.expected.csv"


@pytest.fixture
def q2(methodologies):
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    record_inputs(
        period=period, rows=nhse_file_rows(EXAMPLE, period), source=EXAMPLE.name, actor="test"
    )
    return pin_cut_points(
        period=period, cut_points=(2.00, 2.35, 2.70), reason="Worked example", actor="test"
    )


def run_command(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_worked_example_reproduced_through_the_database(q2):
    run = run_segmentation(period=q2, actor="test", replicates=200, publish=True, reason="test")
    assert run.status == RunStatus.COMPLETED
    assert run.cut_points == (2.00, 2.35, 2.70)
    assert run.cut_points_source == "pinned"
    got = {
        row["org_code"]: row
        for row in csv.DictReader(
            io.StringIO(run_command("export_assessments", "--period", "Q2 2025/26"))
        )
    }
    ranks = {
        a.organisation.code: a.league_rank
        for a in OrganisationAssessment.objects.filter(
            run=run, league_rank__isnull=False
        ).select_related("organisation")
    }
    with open(EXPECTED, encoding="utf-8") as fh:
        expected = list(csv.DictReader(fh))
    assert len(expected) == 14
    for exp in expected:
        row = got[exp["org_code"]]
        assert int(row["metric_count"]) == int(exp["metric_count"]), exp["org_code"]
        assert float(row["average_score"]) == pytest.approx(float(exp["average_score"])), exp[
            "org_code"
        ]
        for column in (
            "unadjusted_segment",
            "financial_override",
            "adjusted_segment",
            "final_segment",
        ):
            assert row[column] == exp[column], (exp["org_code"], column)
        assert ranks[exp["org_code"]] == int(exp["league_rank"]), exp["org_code"]


def test_export_assessments_columns(q2):
    run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    header = run_command("export_assessments", "--period", "2025-26-q2").splitlines()[0].split(",")
    assert header[: len(ASSESSMENT_COLUMNS)] == ASSESSMENT_COLUMNS
    assert header[len(ASSESSMENT_COLUMNS) :] == [
        "domain_access_to_services",
        "domain_effectiveness_and_experience",
        "domain_patient_safety",
        "domain_people_and_workforce",
        "domain_finance_and_productivity",
        "cut_point_1",
        "cut_point_2",
        "cut_point_3",
        "cut_points_source",
        "partial_pool_scores",
    ]


def test_export_league_table_in_nhse_format(q2, tmp_path):
    call_command(
        "segment",
        "--period",
        "Q2 2025/26",
        "--replicates",
        "300",
        "--publish",
        stdout=io.StringIO(),
    )
    target = tmp_path / "league.csv"
    call_command(
        "export_league_table",
        "--period",
        "Q2 2025/26",
        "--peer-group",
        "mental-health-and-community",
        "--format",
        "nhse",
        "--output",
        str(target),
        stderr=io.StringIO(),
    )
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, as NHS England publishes"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == NHSE_LEAGUE_COLUMNS
    assert [r["Trust_code"] for r in rows[:4]] == ["RHA", "RKL", "R1A", "G6V2S"]
    r1a = rows[2]
    assert r1a["Quarter"] == "Q2 2025/26"
    assert r1a["Trust_type"] == "Mental health and community trust"
    assert r1a["Segment"] == "3"
    assert r1a["Trust_in_financial_deficit"] == "Yes"
    assert r1a["Rank"] == "3"
    low, high = r1a["Likely_range_of_average_score"].split(" to ")
    assert float(low) <= 1.93 <= float(high)
    rank_low, rank_high = map(int, r1a["Likely_range_of_rank"].split(" to "))
    assert 1 <= rank_low <= rank_high <= 14
    assert {r["Region"] for r in rows} <= {
        "London",
        "South West",
        "South East",
        "Midlands",
        "East",
        "North West",
        "North East and Yorkshire",
    }


def test_rerun_on_unchanged_inputs_is_identical(q2):
    first = run_segmentation(period=q2, actor="test", replicates=200, publish=True, reason="test")
    second = run_segmentation(period=q2, actor="test", replicates=200, publish=True, reason="test")
    assert first.pk != second.pk
    assert first.inputs_fingerprint == second.inputs_fingerprint
    assert first.seed == second.seed

    def snapshot(run):
        fields = [
            "organisation_id",
            "metric_count",
            "average_score",
            "unadjusted_segment",
            "adjusted_segment",
            "final_segment",
            "average_range_low",
            "average_range_high",
            "league_rank",
            "rank_range_low",
            "rank_range_high",
            "domain_scores",
        ]
        return list(
            OrganisationAssessment.objects.filter(run=run)
            .order_by("organisation_id")
            .values(*fields)
        )

    assert snapshot(first) == snapshot(second)
    scores = lambda run: list(  # noqa: E731
        MetricScore.objects.filter(run=run)
        .order_by("organisation_id", "metric_id")
        .values("organisation_id", "metric_id", "score", "rank", "pool_size", "status")
    )
    assert scores(first) == scores(second)


def test_new_run_is_provisional_until_published_and_earlier_runs_stay(q2):
    first = run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    second = run_segmentation(period=q2, actor="test", replicates=0)
    q2.refresh_from_db()
    assert (q2.current_run_id, q2.latest_run_id) == (first.pk, second.pk)
    assert (first.state, second.state) == ("published", "provisional")
    assert SegmentationRun.objects.filter(period=q2).count() == 2
    assert OrganisationAssessment.objects.filter(run=first).count() == first.organisation_count
    assert AuditEvent.objects.filter(action="segmentation.completed").count() == 2
    event = AuditEvent.objects.filter(action="segmentation.completed").first()
    assert event.before == {"latest_run": first.pk}
    assert event.after["latest_run"] == second.pk

    publish_run(run=second, actor="test", reason="Newer data")
    q2.refresh_from_db()
    first.refresh_from_db()
    assert q2.current_run_id == second.pk and first.state == "superseded"
    published = AuditEvent.objects.filter(action="run.published").first()
    assert published.before == {"published_run": first.pk}
    assert published.reason == "Newer data"


def test_failed_run_keeps_the_previous_current_run(q2):
    good = run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    with (
        mock.patch("oversight.runs.run_engine", side_effect=RuntimeError("disk on fire")),
        pytest.raises(RuntimeError),
    ):
        run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    q2.refresh_from_db()
    assert q2.current_run_id == good.pk
    failed = SegmentationRun.objects.exclude(pk=good.pk).get()
    assert failed.status == RunStatus.FAILED
    assert failed.error == "RuntimeError: disk on fire"
    assert not OrganisationAssessment.objects.filter(run=failed).exists()


def test_failure_while_storing_rolls_back_results(q2):
    good = run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    with (
        mock.patch("oversight.runs._complete", side_effect=RuntimeError("lost connection")),
        pytest.raises(RuntimeError),
    ):
        run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    failed = SegmentationRun.objects.exclude(pk=good.pk).get()
    assert failed.status == RunStatus.FAILED
    assert not MetricScore.objects.filter(run=failed).exists(), (
        "results are written whole or not at all"
    )
    q2.refresh_from_db()
    assert q2.current_run_id == good.pk


def test_only_if_changed_skips_unchanged_inputs(q2):
    first = run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    q2.refresh_from_db()
    again = run_segmentation(
        period=q2, actor="test", replicates=0, only_if_changed=True, publish=True, reason="t"
    )
    assert again.pk == first.pk
    rha = Organisation.objects.get(code="RHA")
    from oversight.inputs import InputRow
    from oversight.models import InputKind

    record_inputs(
        period=q2,
        rows=[InputRow(rha.pk, "OF1005", InputKind.SCORE, value=4.0)],
        source="fix",
        actor="test",
    )
    changed = run_segmentation(
        period=q2, actor="test", replicates=0, only_if_changed=True, publish=True, reason="t"
    )
    assert changed.pk != first.pk


def test_segment_command_prints_summary(q2):
    out = run_command("segment", "--period", "Q2 2025/26", "--replicates", "50")
    run = SegmentationRun.objects.get()
    assert f"Run {run.pk} completed for Q2 2025/26 (nof-2025-26)" in out
    assert "Organisations segmented: 14" in out
    assert "Segment counts: segment 1: 1, segment 2: 1, segment 3: 8, segment 4: 4" in out
    assert "Cut points (pinned): 2.00, 2.35, 2.70" in out


def test_segment_command_errors(methodologies):
    with pytest.raises(CommandError, match="No reporting period 'Q1 2030/31'"):
        call_command("segment", "--period", "Q1 2030/31")
    with pytest.raises(CommandError, match="not a period"):
        call_command("segment", "--period", "last quarter")
    with pytest.raises(CommandError, match="nof-2026-27 has no fixed thresholds set"):
        call_command("segment", "--period", "Q1 2026/27")
    assert not SegmentationRun.objects.exists()


def test_pinned_cut_points_allow_a_2026_27_run(methodologies):
    out = run_command(
        "pin_cut_points",
        "--period",
        "Q1 2026/27",
        "1.9",
        "2.4",
        "2.9",
        "--reason",
        "Published boundaries",
    )
    assert "Pinned cut points for Q1 2026/27: 1.90, 2.40, 2.90" in out
    period = ReportingPeriod.objects.by_key("Q1 2026/27")
    assert period.pin_reason == "Published boundaries"
    assert period.pinned_by_label == "manage.py pin_cut_points"
    run = run_segmentation(period=period, actor="test", replicates=0, publish=True, reason="test")
    assert run.cut_points_source == "pinned"
    event = AuditEvent.objects.get(action="cut_points.pinned")
    assert event.after["cut_points"] == ["1.90", "2.40", "2.90"]
    assert event.reason == "Published boundaries"


def test_pin_cut_points_validation(methodologies):
    with pytest.raises(CommandError, match="must rise strictly"):
        call_command(
            "pin_cut_points", "--period", "Q4 2025/26", "2.5", "2.4", "2.9", "--reason", "x"
        )
    with pytest.raises(CommandError, match="expected three numbers T1 T2 T3; got 1"):
        call_command("pin_cut_points", "--period", "Q4 2025/26", "2.5", "--reason", "x")
    with pytest.raises(CommandError, match="a is not a number"):
        call_command("pin_cut_points", "--period", "Q4 2025/26", "a", "b", "c", "--reason", "x")
    with pytest.raises(CommandError, match="A reason is required"):
        call_command("pin_cut_points", "--period", "Q4 2025/26", "2", "2.5", "3", "--reason", " ")
    assert ReportingPeriod.objects.by_key("Q4 2025/26").pinned_cut_points is None


def test_clear_pinned_cut_points(q2):
    out = run_command(
        "pin_cut_points", "--period", "Q2 2025/26", "--clear", "--reason", "Full data now loaded"
    )
    assert "Cleared" in out
    q2.refresh_from_db()
    assert q2.pinned_cut_points is None
    run = run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    assert run.cut_points_source == "computed"


def test_exports_before_any_run_fail_clearly(methodologies):
    with pytest.raises(CommandError, match="has not been segmented yet"):
        call_command("export_assessments", "--period", "Q4 2025/26")
    with pytest.raises(CommandError, match="No peer group 'hospital'"):
        call_command("export_league_table", "--period", "Q4 2025/26", "--peer-group", "hospital")


def test_explanation(q2):
    run_segmentation(period=q2, actor="test", replicates=100, publish=True, reason="test")
    rkl = Organisation.objects.get(code="RKL")
    e = explain(rkl, q2)
    assert e.assessment.average_score == pytest.approx(2.34)
    assert e.cut_points == (2.0, 2.35, 2.7)
    assert e.boundaries["segment"] == 2
    # 2.34 is 0.01 below t2 = 2.35: the smallest rise that moves it down a segment is 0.02.
    assert e.boundaries["to_worse"] == pytest.approx(0.02)
    assert {m.metric_id for m in e.metrics} >= {"OF1005", "OF1080", "OF1079"}
    excluded = {m.metric_id for m in e.metrics if m.score is not None and not m.included}
    assert excluded == {"OF1079", "OF1081"}
    assert e.leverage, "metrics with most leverage listed"
    assert all(item["average_change"] <= 0 for item in e.leverage)
    assert e.leverage == sorted(e.leverage, key=lambda item: item["average_change"])


def test_programme_membership_is_judged_per_stay(q2):
    import datetime

    from oversight.models import ProgrammeMembership
    from oversight.selectors import programme_members_on

    rkl = Organisation.objects.get(code="RKL")
    ProgrammeMembership.objects.create(
        organisation=rkl,
        entered_on=datetime.date(2024, 4, 1),
        left_on=datetime.date(2025, 1, 1),
        entry_reason="first stay",
        recorded_by_label="test",
    )
    assert not programme_members_on(q2.end_date).filter(pk=rkl.pk).exists()
    ProgrammeMembership.objects.create(
        organisation=rkl,
        entered_on=datetime.date(2025, 7, 1),
        entry_reason="re-entered",
        recorded_by_label="test",
    )
    assert programme_members_on(q2.end_date).filter(pk=rkl.pk).exists()
    run = run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    assessment = OrganisationAssessment.objects.get(run=run, organisation=rkl)
    assert (assessment.adjusted_segment, assessment.final_segment, assessment.in_programme) == (
        2,
        5,
        True,
    )


def test_admin_pages_for_runs_and_policy(admin_client, q2):
    run = run_segmentation(period=q2, actor="test", replicates=0, publish=True, reason="test")
    for url in [
        "/admin/oversight/methodology/",
        f"/admin/oversight/methodology/{q2.methodology_id}/change/",
        "/admin/oversight/metricdefinition/",
        "/admin/oversight/reportingperiod/",
        f"/admin/oversight/reportingperiod/{q2.pk}/change/",
        "/admin/oversight/segmentationrun/",
        f"/admin/oversight/segmentationrun/{run.pk}/change/",
        "/admin/oversight/organisationassessment/",
        "/admin/oversight/metricscore/",
        "/admin/oversight/metricvalue/",
        "/admin/oversight/programmemembership/",
    ]:
        assert admin_client.get(url).status_code == 200, url
    # Pins are read-only here: they go through pin_cut_points, which validates them.
    page = admin_client.get(f"/admin/oversight/reportingperiod/{q2.pk}/change/").content.decode()
    assert 'name="pinned_t1"' not in page

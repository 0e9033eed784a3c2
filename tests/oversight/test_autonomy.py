"""Earned autonomy and the oversight response, over several quarters, on PostgreSQL."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from oversight.autonomy.policy import load_autonomy_policy
from oversight.autonomy.services import (
    AutonomyError,
    close_action,
    confirm_grant,
    enter_programme,
    leave_programme,
    record_aft_step,
    record_capability,
    record_cqc_rating,
)
from oversight.engine.autonomy import Facts, FreedomSpec, evaluate
from oversight.inputs import InputRow, record_inputs
from oversight.models import (
    FreedomEvaluation,
    FreedomGrant,
    GrantEvent,
    InputKind,
    Notification,
    OversightAction,
    ReportingPeriod,
    SupportLevel,
)
from oversight.runs import run_segmentation
from oversight.services import pin_cut_points
from systems.models import AuditEvent, Organisation, Role
from systems.services import grant_role

METRICS = ("OF1005", "OF1041", "OF1063", "OF1016")
SCORE_FOR_SEGMENT = {1: 1.5, 2: 2.2, 3: 2.5, 4: 3.5}
A, B, C = "RHA", "RKL", "RX4"  # three mental health trusts in three regions


@pytest.fixture
def universe(methodologies):
    load_autonomy_policy(actor="test")
    for code in (A, B):
        org = Organisation.objects.get(code=code)
        record_cqc_rating(
            organisation=org, rating="Good", published_on=datetime.date(2024, 6, 1), actor="test"
        )
        record_capability(
            organisation=org,
            financial_year="2025/26",
            assessor="region",
            areas={},
            overall=1,
            actor="test",
        )
    return {c: Organisation.objects.get(code=c) for c in (A, B, C)}


def quarter(label: str, segments: dict[str, int], deficit: frozenset = frozenset()):
    period = ReportingPeriod.objects.by_key(label)
    ids = dict(Organisation.objects.filter(code__in=segments).values_list("code", "id"))
    rows = [
        InputRow(ids[code], metric, InputKind.SCORE, value=SCORE_FOR_SEGMENT[segment])
        for code, segment in segments.items()
        for metric in METRICS
    ] + [
        InputRow(ids[code], "OF5004", InputKind.OVERRIDE_FLAG, value=float(code in deficit))
        for code in segments
    ]
    record_inputs(period=period, rows=rows, source="test", actor="test")
    period = pin_cut_points(period=period, cut_points=(2.0, 2.35, 2.7), reason="test", actor="test")
    return run_segmentation(period=period, actor="test", replicates=0, publish=True, reason="test")


def grant(code: str, slug: str) -> FreedomGrant:
    return FreedomGrant.objects.filter(organisation__code=code, freedom__slug=slug).latest("id")


def test_aft_eligibility_needs_two_periods_and_a_deficit_revokes_at_once(universe):
    quarter("Q1 2025/26", {A: 1})
    assert not FreedomGrant.objects.filter(freedom__slug="aft-eligibility").exists()
    first = FreedomEvaluation.objects.get(freedom__slug="aft-eligibility", organisation__code=A)
    failing = [c for c in first.criteria if not c["passed"]]
    assert [c["name"] for c in failing] == ["adjusted segment in each of the last 2 period(s)"]

    run = quarter("Q2 2025/26", {A: 1})
    aft = grant(A, "aft-eligibility")
    assert aft.status == "granted" and aft.created_by_run == run
    evaluation = FreedomEvaluation.objects.get(
        run=run, freedom__slug="aft-eligibility", organisation__code=A
    )
    assert evaluation.eligible and all(c["passed"] for c in evaluation.criteria)

    quarter("Q3 2025/26", {A: 1}, deficit=frozenset({A}))
    aft.refresh_from_db()
    assert aft.status == "revoked"
    assert aft.status_reason.startswith("Revoked at once: financial override")
    assert [e.status_to for e in aft.events.all()] == ["granted", "revoked"]


def test_a_slide_puts_a_freedom_at_risk_and_a_second_run_revokes_it(universe):
    quarter("Q1 2025/26", {B: 1})
    quarter("Q2 2025/26", {B: 1})
    aft = grant(B, "aft-eligibility")
    assert aft.status == "granted"

    q3 = quarter("Q3 2025/26", {B: 3})
    aft.refresh_from_db()
    assert aft.status == "at_risk" and aft.at_risk_since == q3.period
    assert "adjusted segment" in aft.status_reason
    stocktake = OversightAction.objects.get(organisation__code=B, kind="diagnostic_stocktake")
    assert stocktake.status == "open" and stocktake.opened_by_run == q3

    # The same period again changes nothing (idempotent).
    counts = (GrantEvent.objects.count(), OversightAction.objects.count())
    run_segmentation(period=q3.period, actor="test", replicates=0, publish=True, reason="test")
    aft.refresh_from_db()
    assert aft.status == "at_risk"
    assert (GrantEvent.objects.count(), OversightAction.objects.count()) == counts

    quarter("Q4 2025/26", {B: 2})
    aft.refresh_from_db()
    assert aft.status == "revoked"
    assert aft.status_reason.startswith("Not eligible for a second period")
    # A better segment does not close the action: a person does, with a note.
    stocktake.refresh_from_db()
    assert stocktake.status == "open"
    with pytest.raises(AutonomyError, match="needs a note"):
        close_action(action=stocktake, actor="region", note=" ")
    close_action(action=stocktake, actor="region", note="Stocktake held on 3 March")
    assert stocktake.events.last().change == "closed"


def test_programme_entry_means_segment_5_and_opens_actions(universe):
    quarter("Q1 2025/26", {C: 4})
    assert list(
        OversightAction.objects.filter(organisation__code=C).values_list("kind", flat=True)
    ) == ["recovery_plan"]
    enter_programme(
        organisation=universe[C],
        entered_on=datetime.date(2025, 7, 1),
        reason="Segment 4 with low capability",
        actor="national",
    )
    run = quarter("Q2 2025/26", {C: 4})
    support = SupportLevel.objects.get(run=run, organisation__code=C)
    assert (support.final_segment, support.level) == (5, "Provider Improvement Programme")
    kinds = sorted(
        OversightAction.objects.filter(organisation__code=C).values_list("kind", flat=True)
    )
    assert kinds == ["independent_diagnostic", "recovery_plan"]
    recovery = OversightAction.objects.get(organisation__code=C, kind="recovery_plan")
    assert recovery.board_owner_required and recovery.due_date
    assert AuditEvent.objects.filter(action="programme.entered").count() == 1

    with pytest.raises(AutonomyError, match="must leave after"):
        leave_programme(
            organisation=universe[C],
            left_on=datetime.date(2025, 6, 1),
            reason="Recovered",
            actor="national",
        )
    leave_programme(
        organisation=universe[C],
        left_on=datetime.date(2025, 12, 1),
        reason="Exit criteria met",
        actor="national",
    )
    run = quarter("Q4 2025/26", {C: 3})
    assert SupportLevel.objects.get(run=run, organisation__code=C).final_segment == 3
    with pytest.raises(AutonomyError, match="not in the programme"):
        leave_programme(
            organisation=universe[C],
            left_on=datetime.date(2026, 1, 1),
            reason="again",
            actor="national",
        )


def test_a_freedom_parameter_is_data_changed_with_a_reason(universe):
    out = io.StringIO()
    call_command(
        "set_freedom_parameter",
        "--freedom",
        "aft-eligibility",
        "consecutive_periods",
        "3",
        "--reason",
        "Three quarters from 2026",
        stdout=out,
    )
    assert "applies from the next run" in out.getvalue()
    event = AuditEvent.objects.get(action="freedom.changed")
    assert event.before["criteria"]["consecutive_periods"] == 2
    assert event.after["criteria"]["consecutive_periods"] == 3
    quarter("Q1 2025/26", {A: 1})
    quarter("Q2 2025/26", {A: 1})
    assert not FreedomGrant.objects.filter(freedom__slug="aft-eligibility").exists()
    quarter("Q3 2025/26", {A: 1})
    assert grant(A, "aft-eligibility").status == "granted"


def test_lead_planning_needs_the_regional_directors_confirmation(universe):
    quarter("Q1 2025/26", {A: 1, B: 1})
    proposed = grant(A, "lead-planning")
    assert proposed.status == "proposed"
    users = get_user_model().objects
    own = users.create_user("own-director")
    grant_role(user=own, role=Role.REGIONAL, region=universe[A].region, actor="test")
    other = users.create_user("other-director")
    grant_role(user=other, role=Role.REGIONAL, region=universe[B].region, actor="test")
    with pytest.raises(AutonomyError, match="permission"):
        confirm_grant(grant=proposed, actor=other, reason="Strong relationships")
    confirmed = confirm_grant(grant=proposed, actor=own, reason="Strong local relationships")
    assert confirmed.status == "granted" and confirmed.confirmed_by_label == "own-director"
    with pytest.raises(AutonomyError, match="not proposed"):
        confirm_grant(grant=proposed, actor=own, reason="again")


def test_aft_steps_and_what_follows_aft_status(universe):
    quarter("Q1 2025/26", {A: 1})
    quarter("Q2 2025/26", {A: 1})
    aft = grant(A, "aft-eligibility")
    with pytest.raises(AutonomyError, match="within five years"):
        record_aft_step(
            grant=aft,
            actor="national",
            nominated_on=datetime.date(2025, 10, 1),
            panel_decision="approved",
            panel_decided_on=datetime.date(2025, 11, 1),
            reassessment_due=datetime.date(2031, 1, 1),
        )
    record_aft_step(
        grant=aft,
        actor="national",
        nominated_on=datetime.date(2025, 10, 1),
        panel_decision="approved",
        panel_decided_on=datetime.date(2025, 11, 1),
        reassessment_due=datetime.date(2030, 11, 1),
    )
    quarter("Q3 2025/26", {A: 1})
    assert grant(A, "capital-reinvestment").status == "granted"
    assert grant(A, "iho-contract").status == "granted"


def test_people_in_scope_are_told_when_a_segment_moves(universe):
    users = get_user_model().objects
    own = users.create_user("own", email="own@example.nhs.uk")
    grant_role(user=own, role=Role.REGIONAL, region=universe[B].region, actor="test")
    elsewhere = users.create_user("elsewhere")
    grant_role(user=elsewhere, role=Role.REGIONAL, region=universe[A].region, actor="test")
    quarter("Q1 2025/26", {B: 1})
    quarter("Q2 2025/26", {B: 3})
    subjects = list(Notification.objects.filter(user=own).values_list("subject", flat=True))
    assert f"{B}: Segment 1 → 3" in subjects
    assert any("Diagnostic stocktake" in s for s in subjects)
    assert not Notification.objects.filter(user=elsewhere, organisation__code=B).exists()


def test_engine_reports_every_criterion():
    spec = FreedomSpec(
        slug="x",
        name="X",
        applies_to="provider",
        grant="automatic",
        criteria={
            "max_adjusted_segment": 2,
            "consecutive_periods": 2,
            "not_in_deficit": True,
            "cqc_overall_in": ["Good"],
        },
    )
    result = evaluate(
        spec,
        Facts(
            code="A",
            kind="provider",
            adjusted_segments=(1, 3),
            financial_override=True,
            cqc_overall="Good",
        ),
    )
    assert not result.eligible
    assert [c.passed for c in result.criteria] == [False, False, True]
    assert result.revoke_at_once.startswith("financial override")


def test_freedoms_in_the_admin_are_validated_and_audited(universe, admin_client):
    quarter("Q1 2025/26", {A: 1, C: 4})
    for url in (
        "/admin/oversight/freedom/",
        "/admin/oversight/freedomgrant/",
        f"/admin/oversight/freedomgrant/{grant(A, 'lead-planning').pk}/change/",
        "/admin/oversight/oversightaction/",
        "/admin/oversight/freedomevaluation/",
        "/admin/oversight/cqcrating/",
        "/admin/oversight/capabilityassessment/",
    ):
        assert admin_client.get(url).status_code == 200, url
    from oversight.models import Freedom

    aft = Freedom.objects.get(slug="aft-eligibility")
    form = {
        "name": aft.name,
        "applies_to": aft.applies_to,
        "grant": aft.grant,
        "criteria": '{"max_adjusted_segment": 2, "consecutive_periods": 3}',
        "revoke_at_once_on": '["programme", "financial_override"]',
        "active": "on",
    }
    url = f"/admin/oversight/freedom/{aft.pk}/change/"
    bad = admin_client.post(url, {**form, "criteria": '{"shoe_size": 9}'})
    assert "unknown criteria shoe_size" in bad.content.decode()
    assert admin_client.post(url, form).status_code == 302
    aft.refresh_from_db()
    assert aft.criteria["consecutive_periods"] == 3
    assert AuditEvent.objects.filter(action="freedom.changed", object_id=str(aft.pk)).exists()


def test_cqc_overall_ratings_arrive_in_the_template(universe, tmp_path):
    from oversight.uploads.services import process_upload, receive_upload
    from tests.uploads.files import csv_bytes

    content = csv_bytes(
        ["org_code", "metric_id", "period", "value", "reporting_date"],
        [
            [C, "CQC_OVERALL", "Q1 2025/26", "Outstanding", "2025-05-01"],
            [C, "CQC_OVERALL", "Q2 2025/26", "4", "2025-05-01"],
            [A, "CQC_OVERALL", "Q1 2025/26", "Good", ""],
        ],
    )
    received = receive_upload(content=content, filename="cqc.csv", actor="t", enqueue=False)
    upload = process_upload(upload_id=received.upload.pk)
    assert [(e["row"], e["message"][:28]) for e in upload.errors] == [
        (3, "Expected a CQC rating: Outst"),
        (4, "A CQC overall rating needs r"),
    ]
    good = csv_bytes(
        ["org_code", "metric_id", "period", "value", "reporting_date"],
        [[C, "CQC_OVERALL", "Q1 2025/26", "outstanding", "2025-05-01"]],
    )
    received = receive_upload(content=good, filename="cqc2.csv", actor="t", enqueue=False)
    assert process_upload(upload_id=received.upload.pk).status == "done"
    from oversight.autonomy.response import latest_cqc_ratings

    assert latest_cqc_ratings()[universe[C].pk] == "Outstanding"
    assert latest_cqc_ratings()[universe[A].pk] == "Good"  # recorded by a national user
    run = quarter("Q1 2025/26", {C: 1})
    assert not any("CQC_OVERALL" in w for w in run.warnings)


def test_decisions_on_the_organisation_page(universe, client):
    quarter("Q1 2025/26", {A: 1, B: 3})
    users = get_user_model().objects
    director = users.create_user("page-director")
    grant_role(user=director, role=Role.REGIONAL, region=universe[A].region, actor="test")
    client.force_login(director)
    proposed = grant(A, "lead-planning")
    html = client.get(f"/organisations/{A}/").content.decode()
    assert "Reason for your decision" in html
    url = f"/organisations/{A}/grants/{proposed.pk}/decide/"
    client.post(url, {"decision": "confirm", "reason": ""})
    proposed.refresh_from_db()
    assert proposed.status == "proposed"  # a reason is required
    decision = {"decision": "confirm", "reason": "Strong local relationships"}
    assert "Check before you confirm this freedom" in client.post(url, decision).content.decode()
    proposed.refresh_from_db()
    assert proposed.status == "proposed"  # not until confirmed
    client.post(url, {**decision, "confirmed": "yes"})
    proposed.refresh_from_db()
    assert proposed.status == "granted"
    # Another region's organisation: not found.
    stocktake = OversightAction.objects.get(organisation__code=B, kind="diagnostic_stocktake")
    assert (
        client.post(f"/organisations/{B}/actions/{stocktake.pk}/close/", {"note": "x"}).status_code
        == 404
    )
    other = users.create_user("other-page-director")
    grant_role(user=other, role=Role.REGIONAL, region=universe[B].region, actor="test")
    client.force_login(other)
    assert "Close action" in client.get(f"/organisations/{B}/").content.decode()
    client.post(f"/organisations/{B}/actions/{stocktake.pk}/close/", {"note": "Held in March"})
    stocktake.refresh_from_db()
    assert stocktake.status == "closed"

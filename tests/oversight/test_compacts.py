"""System compacts: the system unit, the compact's steps and who may take them, and
tracking commitments against constructed published and provisional runs."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model

from delegation.services import record_icb_segment
from oversight.autonomy.maturity import maturity_policy, record_maturity_assessment
from oversight.autonomy.policy import load_autonomy_policy
from oversight.autonomy.services import confirm_grant
from oversight.compacts import selectors
from oversight.compacts.models import CommitmentEvaluation, CompactStatus, TrackStatus
from oversight.compacts.services import (
    CompactError,
    create_compact,
    decide_commitment,
    move_compact,
    propose_commitment,
    record_meeting,
    request_support,
    update_support,
)
from oversight.compacts.tracking import judge, preview
from oversight.demo import demo_rows
from oversight.inputs import InputRow, record_inputs
from oversight.models import (
    FreedomGrant,
    GrantStatus,
    MetricDefinition,
    Notification,
    ReportingPeriod,
)
from oversight.runs import run_segmentation
from systems.models import AuditEvent, IntegratedCareBoard, Role, Trust
from systems.selectors import NoSuchSystem, system_on
from systems.services import grant_role

YEAR = "2025/26"
MEETING = [{"name": "A Chair", "role": "Chair", "organisation": "ICB"}]


def person(name: str, role: str, **scope):
    user = get_user_model().objects.create_user(name, email=f"{name}@example.org")
    grant_role(user=user, role=role, actor="test", **scope)
    return user


@pytest.fixture
def setting(methodologies):
    """A Midlands system in 2025/26, a trust of it, a metric that trust reports (higher is
    better), the regional director and the ICB's analyst."""
    load_autonomy_policy(actor="test")
    trust = Trust.objects.get(code="RRK")
    icb = trust.host_icb_on(datetime.date(2025, 4, 1))
    period = ReportingPeriod.objects.by_key("Q1 2025/26")
    metric = (
        MetricDefinition.objects.filter(
            methodology=period.methodology, direction="higher", contextual=False
        )
        .exclude(value_id="")
        .filter(peer_groups__contains=[trust.peer_group])
        .first()
    )
    return {
        "trust": trust,
        "icb": icb,
        "metric": metric,
        "director": person("director", Role.REGIONAL, region=icb.region),
        "analyst": person("analyst", Role.ICB_ANALYST, icb=icb),
    }


def publish_quarter(label: str, trust, metric, value, *, publish=True, **extra):
    """Demo inputs for every trust in ``label`` with ``trust``'s ``metric`` set to
    ``value`` (None: no value), then a run (published unless asked not to)."""
    period = ReportingPeriod.objects.by_key(label)
    rows = [
        r
        for r in demo_rows(period)
        if not (r.organisation_id == trust.pk and r.metric_id == metric.value_id)
    ]
    if value is not None:
        rows.append(InputRow(trust.pk, metric.value_id, "value", value=value, **extra))
    record_inputs(period=period, rows=rows, source="test", actor="test")
    return run_segmentation(period=period, actor="national", replicates=0, publish=publish)


def off_track(setting):
    return selectors.compacts_overview([setting["icb"].pk], YEAR, datetime.date.today()).off_track


def agreed(setting, **commitment):
    compact = create_compact(icb=setting["icb"], financial_year=YEAR, actor=setting["director"])
    record_meeting(
        compact=compact,
        held_on=datetime.date(2025, 3, 20),
        attendees=MEETING,
        actor=setting["director"],
    )
    made = propose_commitment(
        compact=compact,
        organisation=setting["trust"],
        title="Hold the metric",
        accountable_name="B Chief",
        accountable_role="Chief executive",
        accountable_email="chief@example.org",
        actor=setting["director"],
        **commitment,
    )
    move_compact(
        compact=compact, to=CompactStatus.AGREED, reason="Agreed", actor=setting["director"]
    )
    return compact, made


def test_the_system_is_the_icb_and_the_trusts_it_hosts_that_day(reference_data):
    old = IntegratedCareBoard.objects.filter(close_date=datetime.date(2026, 4, 1)).first()
    unit = system_on(old, datetime.date(2025, 6, 1))
    assert unit.members[0] == old
    assert all(t.host_icb_on(datetime.date(2025, 6, 1)) == old for t in unit.trusts)
    with pytest.raises(NoSuchSystem, match="did not exist on 01 April 2026; on that day it"):
        system_on(old, datetime.date(2026, 4, 1))


def test_a_compact_goes_from_draft_to_agreed_to_in_year_to_closed(setting):
    director, analyst, icb = setting["director"], setting["analyst"], setting["icb"]
    compact = create_compact(icb=icb, financial_year=YEAR, actor=director)
    assert set(compact.parties.values_list("code", flat=True)) >= {icb.code, "RRK"}
    with pytest.raises(CompactError, match="already has a compact for 2025/26"):
        create_compact(icb=icb, financial_year=YEAR, actor=director)
    with pytest.raises(CompactError, match="not a financial year"):
        create_compact(icb=icb, financial_year="2025-26", actor=director)
    with pytest.raises(CompactError, match="needs a regional or national role"):
        create_compact(icb=icb, financial_year="2026/27", actor=analyst)
    # The analyst proposes; the region must decide before the compact can be agreed.
    proposed = propose_commitment(
        compact=compact,
        organisation=setting["trust"],
        title="Fewer long waits",
        accountable_name="C Lead",
        accountable_role="Chief operating officer",
        actor=analyst,
    )
    assert proposed.status == "proposed"
    support = request_support(
        compact=compact, description="Elective recovery team", owner="", actor=analyst
    )
    with pytest.raises(CompactError, match="Record the board-to-board meeting"):
        move_compact(compact=compact, to="agreed", reason="Agreed", actor=director)
    record_meeting(
        compact=compact, held_on=datetime.date(2025, 3, 20), attendees=MEETING, actor=director
    )
    with pytest.raises(CompactError, match="1 proposed commitment still to accept"):
        move_compact(compact=compact, to="agreed", reason="Agreed", actor=director)
    with pytest.raises(CompactError, match="needs a regional or national role"):
        decide_commitment(commitment=proposed, accept=True, reason="", actor=analyst)
    decide_commitment(commitment=proposed, accept=True, reason="", actor=director)
    with pytest.raises(CompactError, match="Give the reason"):
        move_compact(compact=compact, to="agreed", reason=" ", actor=director)
    with pytest.raises(CompactError, match="cannot become in year"):
        move_compact(compact=compact, to="in_year", reason="Year began", actor=director)
    move_compact(compact=compact, to="agreed", reason="Agreed at the meeting", actor=director)
    compact.refresh_from_db()
    assert compact.agreed_on == datetime.date(2025, 3, 20)
    with pytest.raises(CompactError, match="in year from 01 April 2025"):
        move_compact(
            compact=compact,
            to="in_year",
            reason="Year began",
            actor=director,
            today=datetime.date(2025, 3, 31),
        )
    move_compact(compact=compact, to="in_year", reason="Year began", actor=director)
    update_support(support=support, status="provided", reason="Team in place", actor=director)
    move_compact(compact=compact, to="closed", reason="Year ended", actor=director)
    with pytest.raises(CompactError, match="is closed"):
        request_support(compact=compact, description="More", owner="", actor=director)
    assert list(compact.events.values_list("status_to", flat=True)) == [
        "draft",
        "agreed",
        "in_year",
        "closed",
    ]
    assert AuditEvent.objects.filter(action__startswith="compact.").count() >= 9


def test_bad_commitments_are_refused_and_store_nothing(setting):
    director, icb = setting["director"], setting["icb"]
    compact = create_compact(icb=icb, financial_year=YEAR, actor=director)
    other = Trust.objects.exclude(pk__in=compact.parties.values("pk")).first()
    base = {
        "compact": compact,
        "title": "X",
        "accountable_name": "A",
        "accountable_role": "B",
        "actor": director,
    }
    with pytest.raises(CompactError, match=f"{other.code} is not a party"):
        propose_commitment(organisation=other, **base)
    with pytest.raises(CompactError, match="OF9999 is not a metric of 2025/26"):
        propose_commitment(
            organisation=setting["trust"],
            metric_id="OF9999",
            target=1,
            direction="at_least",
            **base,
        )
    with pytest.raises(CompactError, match="give the target for"):
        propose_commitment(
            organisation=setting["trust"],
            metric_id=setting["metric"].score_id,
            direction="at_least",
            **base,
        )
    with pytest.raises(CompactError, match="'Q5' is not a quarter"):
        propose_commitment(
            organisation=setting["trust"],
            metric_id=setting["metric"].score_id,
            target=1,
            direction="at_least",
            trajectory={"Q5": 1},
            **base,
        )
    with pytest.raises(CompactError, match="due date 01 April 2026 is outside 2025/26"):
        propose_commitment(organisation=setting["trust"], due_on=datetime.date(2026, 4, 1), **base)
    assert not compact.commitments.exists()


def test_a_late_compact_is_flagged(setting):
    compact = create_compact(
        icb=setting["icb"], financial_year="2026/27", actor=setting["director"]
    )
    assert not compact.is_late(datetime.date(2026, 3, 31))
    assert compact.is_late(datetime.date(2026, 4, 1))
    overview = selectors.compacts_overview(
        [setting["icb"].pk], "2026/27", datetime.date(2026, 4, 2)
    )
    assert overview.late == [compact]


@pytest.mark.parametrize(
    ("direction", "value", "expected", "status"),
    [
        ("at_least", 90.0, 85.0, TrackStatus.ON_TRACK),
        ("at_least", 85.0, 85.0, TrackStatus.ON_TRACK),
        ("at_least", 84.9, 85.0, TrackStatus.OFF_TRACK),
        ("at_most", 4.0, 5.0, TrackStatus.ON_TRACK),
        ("at_most", 5.1, 5.0, TrackStatus.OFF_TRACK),
        ("at_least", None, 5.0, TrackStatus.NOT_MEASURABLE),
    ],
)
def test_judging_a_value(direction, value, expected, status):
    got = judge(
        direction=direction, expected=expected, source="the target", value=value, period_label="Q1"
    )
    assert got.status == status


@pytest.mark.django_db(transaction=False)
def test_a_commitment_turns_on_track_off_track_and_not_measurable(setting):
    trust, metric, director = setting["trust"], setting["metric"], setting["director"]
    compact, made = agreed(
        setting,
        metric_id=metric.score_id,
        target=90.0,
        direction="at_least",
        trajectory={"Q1": 80, "Q2": 85},
    )
    q1 = publish_quarter("Q1 2025/26", trust, metric, 82.0)
    [first] = CommitmentEvaluation.objects.filter(commitment=made, run=q1)
    assert first.status == TrackStatus.ON_TRACK
    assert first.value == 82.0 and first.expected == 80.0
    assert "against at least 80 (the Q1 trajectory)" in first.reason
    # Q2: below its trajectory → off track; the region, the ICB and the accountable
    # person with an account are told once.
    chief = get_user_model().objects.create_user("chief", email="chief@example.org")
    q2 = publish_quarter("Q2 2025/26", trust, metric, 83.0)
    second = CommitmentEvaluation.objects.get(commitment=made, run=q2)
    assert second.status == TrackStatus.OFF_TRACK and second.expected == 85.0
    told = Notification.objects.filter(subject__contains="Compact commitment off track")
    assert set(told.values_list("user__username", flat=True)) >= {"director", "analyst", "chief"}
    assert told.filter(user=chief).count() == 1
    [off] = off_track(setting)
    assert off.commitment == made and off.evaluation.run == q2
    # Quarter by quarter.
    [view] = selectors.commitments_with_history(compact)
    assert [e.status for e in view.history] == [TrackStatus.ON_TRACK, TrackStatus.OFF_TRACK]
    # Q3: no value for the trust → not yet measurable, and why.
    q3 = publish_quarter("Q3 2025/26", trust, metric, None)
    third = CommitmentEvaluation.objects.get(commitment=made, run=q3)
    assert third.status == TrackStatus.NOT_MEASURABLE
    assert third.reason == "No value yet for Q3 2025/26."
    assert off_track(setting) == []
    # Q4: the value given is for a period before the compact's year → reporting lag.
    q4 = publish_quarter(
        "Q4 2025/26",
        trust,
        metric,
        95.0,
        reporting_date=datetime.date(2024, 12, 31),
        reporting_period_text="Q3 2024/25",
    )
    fourth = CommitmentEvaluation.objects.get(commitment=made, run=q4)
    assert fourth.status == TrackStatus.NOT_MEASURABLE
    assert fourth.reason.startswith("Reporting lag: the latest value is for Q3 2024/25")
    assert director  # the region took every step


def test_a_metric_not_reported_for_the_organisation_is_not_measurable(setting):
    trust = setting["trust"]
    period = ReportingPeriod.objects.by_key("Q1 2025/26")
    elsewhere = (
        MetricDefinition.objects.filter(methodology=period.methodology)
        .exclude(peer_groups__contains=[trust.peer_group])
        .first()
    )
    _, made = agreed(setting, metric_id=elsewhere.score_id, target=1.0, direction="at_least")
    run = publish_quarter("Q1 2025/26", trust, setting["metric"], 50.0)
    evaluation = CommitmentEvaluation.objects.get(commitment=made, run=run)
    assert evaluation.status == TrackStatus.NOT_MEASURABLE
    assert f"is not reported for {trust.code}" in evaluation.reason


def test_a_provisional_run_previews_without_storing(setting):
    trust, metric = setting["trust"], setting["metric"]
    _, made = agreed(setting, metric_id=metric.score_id, target=90.0, direction="at_least")
    publish_quarter("Q1 2025/26", trust, metric, 70.0)
    stored = CommitmentEvaluation.objects.count()
    notices = Notification.objects.count()
    run = publish_quarter("Q1 2025/26", trust, metric, 95.0, publish=False)
    assert run.published_at is None
    judged = preview(run)
    assert judged[made.pk].status == TrackStatus.ON_TRACK
    assert CommitmentEvaluation.objects.count() == stored
    assert Notification.objects.count() == notices
    [off] = off_track(setting)  # still off track officially
    assert off.commitment == made
    assert selectors.provisional_run(YEAR).pk == run.pk


def test_a_commitment_added_to_an_agreed_compact_is_tracked_against_published_runs(setting):
    trust, metric = setting["trust"], setting["metric"]
    publish_quarter("Q1 2025/26", trust, metric, 70.0)
    compact, made = agreed(setting, metric_id=metric.score_id, target=60.0, direction="at_least")
    assert made.evaluations.get().status == TrackStatus.ON_TRACK  # tracked on agreement
    later = propose_commitment(
        compact=compact,
        organisation=trust,
        title="Higher still",
        accountable_name="B",
        accountable_role="C",
        metric_id=metric.value_id,
        target=75.0,
        direction="at_least",
        actor=setting["director"],
    )
    assert later.evaluations.get().status == TrackStatus.OFF_TRACK


def test_the_freedom_is_proposed_when_segment_and_maturity_allow_and_revoked_by_the_usual_path(
    setting,
):
    icb, director, trust, metric = (
        setting["icb"],
        setting["director"],
        setting["trust"],
        setting["metric"],
    )
    _, criteria = maturity_policy()
    record_icb_segment(
        actor=director, icb=icb, segment=2, source="Test", as_of=datetime.date(2025, 5, 1)
    )
    record_maturity_assessment(
        icb=icb,
        assessed_on=datetime.date(2025, 6, 1),
        ratings={c["slug"]: "developing" for c in criteria},
        actor=director,
    )
    publish_quarter("Q1 2025/26", trust, metric, 70.0)
    assert not FreedomGrant.objects.filter(
        organisation=icb, freedom__slug="system-led-oversight"
    ).exists()
    record_maturity_assessment(
        icb=icb,
        assessed_on=datetime.date(2025, 9, 1),
        ratings={c["slug"]: "maturing" for c in criteria},
        actor=director,
    )
    publish_quarter("Q2 2025/26", trust, metric, 71.0)
    grant = FreedomGrant.objects.get(organisation=icb, freedom__slug="system-led-oversight")
    assert grant.status == GrantStatus.PROPOSED
    confirm_grant(grant=grant, actor=director, reason="Board-to-board agreed")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.GRANTED
    # Maturity falls: at risk after the next run, revoked after the one after.
    record_maturity_assessment(
        icb=icb,
        assessed_on=datetime.date(2025, 12, 1),
        ratings={c["slug"]: "developing" for c in criteria},
        actor=director,
    )
    publish_quarter("Q3 2025/26", trust, metric, 72.0)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.AT_RISK
    publish_quarter("Q4 2025/26", trust, metric, 73.0)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED

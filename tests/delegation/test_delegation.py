"""Delegated specialised services on PostgreSQL: the catalogue as data, agreements and who
may sign them, the automatic segment 3/4 condition, change requests and regional approval,
merger lineage and collaboration arrangements."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from delegation.models import (
    AgreementCondition,
    AgreementStatus,
    ConditionRule,
    DelegationAgreement,
    IcbSegment,
    RequestStatus,
    SegmentSource,
    ServiceStatus,
    SpecialisedService,
)
from delegation.selectors import current_icb_segments, delegated_from, without_collaboration
from delegation.services import (
    DelegationDataError,
    DelegationError,
    add_developmental_arrangement,
    add_service,
    advance_agreements,
    bring_into_force,
    change_service,
    create_agreement,
    create_collaboration,
    decide_change_request,
    load_delegation_data,
    raise_change_request,
    record_icb_segment,
    retire_service,
    schedule_service,
    set_condition_segments,
    sign_agreement,
    start_change_request,
)
from oversight.inputs import InputRow, record_inputs
from oversight.models import InputKind, Notification, ReportingPeriod
from oversight.runs import run_segmentation
from oversight.services import pin_cut_points
from systems.models import AuditEvent, IntegratedCareBoard, Region, Role
from systems.services import grant_role

NOTTS = "QT1"  # NHS Nottingham and Nottinghamshire ICB (Midlands)
SCORE_FOR_SEGMENT = {1: 1.5, 2: 2.2, 3: 2.5, 4: 3.5}
ICB_METRICS = ("OF1023", "OF1013")


def person(username: str, role: str, **scope):
    user = get_user_model().objects.create_user(username, email=f"{username}@nhs.example")
    grant_role(user=user, role=role, actor="test", **scope)
    return user


@pytest.fixture
def world(methodologies):
    load_delegation_data(actor="test")
    midlands = Region.objects.get(ods_code="Y60")
    notts = IntegratedCareBoard.objects.get(code=NOTTS)
    return {
        "notts": notts,
        "midlands_director": person("mid", Role.REGIONAL, region=midlands),
        "london_director": person("lon", Role.REGIONAL, region=Region.objects.get(ods_code="Y56")),
        "east_director": person("eoe", Role.REGIONAL, region=Region.objects.get(ods_code="Y61")),
        "analyst": person("ana", Role.ICB_ANALYST, icb=notts),
        "national": person("nat", Role.NATIONAL),
        "service": SpecialisedService.objects.get(name="Adult critical care"),
    }


def in_force(world, icb=None, year="2026/27", director=None):
    icb = icb or world["notts"]
    agreement = create_agreement(actor=world["national"], icb=icb, financial_year=year)
    sign_agreement(actor=director or world["midlands_director"], agreement=agreement)
    return bring_into_force(actor="test", agreement=agreement)


def icb_quarter(label: str, segment: int, icb: str = NOTTS):
    """A 2026/27 quarter in which ``icb`` is segmented from supplied scores."""
    period = ReportingPeriod.objects.by_key(label)
    org_id = IntegratedCareBoard.objects.get(code=icb).pk
    rows = [
        InputRow(org_id, m, InputKind.SCORE, value=SCORE_FOR_SEGMENT[segment]) for m in ICB_METRICS
    ]
    record_inputs(period=period, rows=rows, source="test", actor="test")
    period = pin_cut_points(period=period, cut_points=(2.0, 2.35, 2.7), reason="test", actor="test")
    return run_segmentation(period=period, actor="test", replicates=0, publish=True, reason="test")


def request_for(world, **overrides):
    fields = {
        "actor": world["analyst"],
        "icb": world["notts"],
        "services": [world["service"]],
        "title": "Extra adult critical care beds",
        "description": "Four more level 3 beds at the major trauma centre.",
        "annual_spend_effect": "1250000",
        "changes_overall_spend": True,
        "intended_start": datetime.date(2027, 1, 4),
        **overrides,
    }
    return raise_change_request(**fields)


# --- Catalogue and timeline as data -----------------------------------------------------------


def test_catalogue_and_timeline_load_from_data(world):
    assert SpecialisedService.objects.count() == 20
    assert set(SpecialisedService.objects.values_list("status", flat=True)) == {"delegable"}
    midlands = Region.objects.get(ods_code="Y60")
    london = Region.objects.get(ods_code="Y56")
    assert delegated_from(midlands.pk, "2024") == datetime.date(2024, 4, 1)
    assert delegated_from(london.pk, "2024") == datetime.date(2025, 4, 1)
    assert delegated_from(london.pk, "2025") == datetime.date(2025, 4, 1)
    assert ConditionRule.objects.get().segments == [3, 4]
    events = AuditEvent.objects.count()
    assert load_delegation_data(actor="again")["services_created"] == 0
    assert AuditEvent.objects.count() == events  # idempotent: nothing changed, nothing written


def test_a_bad_catalogue_file_loads_nothing(world, tmp_path):
    bad = tmp_path / "services.csv"
    bad.write_text(
        "name,code,programme_of_care,status,highly_specialised,tranche,source\n"
        "New service A,,,delegable,no,2025,\n"
        "Rare disease service,,,delegable,yes,2025,\n"
        ",,,retained,no,,\n"
        "Another,,,retained,no,2024,\n"
        "Adult critical care,,,sometimes,no,2024,\n"
    )
    with pytest.raises(DelegationDataError) as caught:
        load_delegation_data(actor="test", services_path=bad)
    text = "\n".join(caught.value.problems)
    assert "row 3: a highly specialised service is always retained" in text
    assert "row 4, column name" in text
    assert "row 5: a retained service is never delegated, so it has no tranche" in text
    assert "row 6: status must be one of delegable, retained" in text
    assert not SpecialisedService.objects.filter(name="New service A").exists()


def test_national_users_add_rename_and_retire_services_without_code(world):
    nat = world["national"]
    service = add_service(
        actor=nat,
        name="Paediatric critical care",
        status="delegable",
        tranche="2025",
        programme_of_care="Women and children",
        reason="added to the 70",
    )
    service = change_service(
        actor=nat,
        service=service,
        name="Paediatric intensive care",
        reason="renamed in the 2026 list",
    )
    assert service.name == "Paediatric intensive care"
    with pytest.raises(DelegationError, match="highly specialised service is always retained"):
        add_service(
            actor=nat, name="X", status="delegable", tranche="2024", highly_specialised=True
        )
    with pytest.raises(DelegationError, match="permission"):
        add_service(actor=world["midlands_director"], name="Y", status="retained")
    retire_service(actor=nat, service=service, on=datetime.date(2026, 4, 1), reason="merged")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "delegation.service_added",
        "delegation.service_changed",
        "delegation.service_retired",
    } <= actions


# --- Agreements -------------------------------------------------------------------------------


def test_only_the_icbs_own_regional_director_signs(world):
    agreement = create_agreement(
        actor=world["national"], icb=world["notts"], financial_year="2026/27"
    )
    assert agreement.schedule.count() == 20
    for wrong in (world["london_director"], world["national"], world["analyst"], "a command"):
        with pytest.raises(DelegationError, match="Only a regional director of Midlands"):
            sign_agreement(actor=wrong, agreement=agreement)
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.DRAFT
    sign_agreement(actor=world["midlands_director"], agreement=agreement)
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.SIGNED
    assert agreement.signed_by_label == "mid"
    assert AuditEvent.objects.filter(action="delegation.agreement_signed").count() == 1


def test_a_retained_service_is_refused_with_a_clear_error(world):
    retained = add_service(
        actor=world["national"],
        name="Highly specialised service X",
        status=ServiceStatus.RETAINED,
        highly_specialised=True,
    )
    agreement = create_agreement(
        actor=world["national"], icb=world["notts"], financial_year="2026/27", services=[]
    )
    with pytest.raises(DelegationError) as caught:
        schedule_service(
            actor=world["national"],
            agreement=agreement,
            service=retained,
            effective_from=datetime.date(2026, 4, 1),
        )
    assert str(caught.value) == (
        "Highly specialised service X is a highly specialised service retained by NHS England "
        "as direct commissioner; it can never be delegated in an agreement."
    )
    assert not agreement.schedule.exists()
    with pytest.raises(DelegationError, match="delegates no services"):
        sign_agreement(actor=world["midlands_director"], agreement=agreement)


def test_services_follow_the_regions_timeline(world):
    london_icb = IntegratedCareBoard.objects.get(code="QKK")
    agreement = create_agreement(
        actor=world["national"], icb=london_icb, financial_year="2024/25", services=[]
    )
    with pytest.raises(DelegationError, match="delegated in London from 1 April 2025"):
        schedule_service(
            actor=world["national"],
            agreement=agreement,
            service=world["service"],
            effective_from=datetime.date(2024, 4, 1),
        )
    # The default schedule of a London 2024/25 agreement is empty (joint committee that year).
    other = create_agreement(
        actor=world["national"],
        icb=IntegratedCareBoard.objects.get(code="QMF"),
        financial_year="2024/25",
    )
    assert other.schedule.count() == 0


def test_developmental_arrangements_are_recorded(world):
    agreement = create_agreement(
        actor=world["national"], icb=world["notts"], financial_year="2026/27"
    )
    item = add_developmental_arrangement(
        actor=world["midlands_director"],
        agreement=agreement,
        category="readiness_action",
        text="Clinical network leads in post for cardiac services",
        agreed_by="National Moderation Panel",
        review_date=datetime.date(2026, 10, 1),
    )
    assert agreement.developmental_arrangements.get() == item
    with pytest.raises(DelegationError, match="category must be one of"):
        add_developmental_arrangement(
            actor=world["midlands_director"],
            agreement=agreement,
            category="hope",
            text="x",
            agreed_by="y",
            review_date=datetime.date(2026, 10, 1),
        )


def test_merger_lineage_and_obligations_pass_to_the_successor(world):
    east = world["east_director"]
    old = [
        in_force(world, IntegratedCareBoard.objects.get(code=code), "2025/26", east)
        for code in ("QHG", "QUE")
    ]
    central_east = IntegratedCareBoard.objects.get(code="S1Y5D")
    new = create_agreement(actor=world["national"], icb=central_east, financial_year="2026/27")
    assert set(new.predecessors.all()) == set(old)
    sign_agreement(actor=east, agreement=new)
    bring_into_force(actor=east, agreement=new)
    for agreement in old:
        agreement.refresh_from_db()
        assert agreement.status == AgreementStatus.ENDED
        assert agreement.ended_on == datetime.date(2026, 3, 31)
        assert "merged into NHS Central East Integrated Care Board" in agreement.end_reason
        assert list(agreement.successors.all()) == [new]
    with pytest.raises(DelegationError, match="does not exist on 1 April 2026"):
        create_agreement(
            actor=world["national"],
            icb=IntegratedCareBoard.objects.get(code="QHG"),
            financial_year="2026/27",
        )


def test_daily_step_brings_agreements_into_force_and_ends_them(world):
    agreement = create_agreement(
        actor=world["national"], icb=world["notts"], financial_year="2025/26"
    )
    sign_agreement(actor=world["midlands_director"], agreement=agreement)
    assert advance_agreements(today=datetime.date(2025, 4, 1)) == {"in_force": 1, "ended": 0}
    assert advance_agreements(today=datetime.date(2026, 4, 1)) == {"in_force": 0, "ended": 1}
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ENDED


# --- The condition, the requests and the region's decision ------------------------------------


def test_segment_3_condition_approval_and_recovery(world):
    """The whole story: segment 3 → condition → a spend-changing request waits → the wrong
    region cannot approve → the right one approves with a reason → it can start; the ICB
    recovers to 2 → condition lifted → a new request is noted without approval."""
    agreement = in_force(world)
    run = icb_quarter("Q1 2026/27", 3)
    segment = current_icb_segments([world["notts"].pk])[world["notts"].pk]
    assert (segment.segment, segment.source_kind, segment.run_id) == (3, SegmentSource.RUN, run.pk)
    condition = AgreementCondition.objects.get(agreement=agreement)
    assert condition.in_force and condition.applied_because == segment

    request = request_for(world)
    assert request.status == RequestStatus.AWAITING_DECISION
    assert request.needs_approval and request.condition == condition
    with pytest.raises(DelegationError, match="before it is made or any change process begins"):
        start_change_request(actor=world["analyst"], request=request)
    with pytest.raises(DelegationError, match="Only a regional director of Midlands"):
        decide_change_request(
            actor=world["london_director"], request=request, approve=True, reason="fine"
        )
    with pytest.raises(DelegationError, match="Give the reason"):
        decide_change_request(
            actor=world["midlands_director"], request=request, approve=True, reason=" "
        )
    decide_change_request(
        actor=world["midlands_director"],
        request=request,
        approve=True,
        reason="Affordable within the regional envelope",
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Notification.objects.filter(user=world["analyst"], subject__contains="approved")
    start_change_request(
        actor=world["analyst"], request=request, started_on=datetime.date(2027, 1, 4)
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.STARTED
    assert [e.status_to for e in request.events.all()] == ["awaiting", "approved", "started"]

    # Not changing overall spend: noted even under the condition.
    same_spend = request_for(world, changes_overall_spend=False, annual_spend_effect="0")
    assert same_spend.status == RequestStatus.NOTED

    icb_quarter("Q2 2026/27", 2)
    condition.refresh_from_db()
    assert not condition.in_force
    assert "now in segment 2" in condition.lift_reason
    later = request_for(world, title="Outreach clinic")
    assert later.status == RequestStatus.NOTED and not later.needs_approval
    start_change_request(actor=world["analyst"], request=later)
    actions = list(
        AuditEvent.objects.filter(action__startswith="delegation.").values_list("action", flat=True)
    )
    for expected in (
        "delegation.condition_applied",
        "delegation.change_request_raised",
        "delegation.change_request_approved",
        "delegation.change_request_started",
        "delegation.condition_lifted",
    ):
        assert expected in actions


def test_rerunning_a_period_changes_nothing(world):
    agreement = in_force(world)
    run = icb_quarter("Q1 2026/27", 4)
    before = (IcbSegment.objects.count(), AgreementCondition.objects.count())
    again = run_segmentation(
        period=run.period, actor="test", replicates=0, publish=True, reason="test"
    )
    assert again.pk != run.pk
    assert (IcbSegment.objects.count(), AgreementCondition.objects.count()) == before
    assert AgreementCondition.objects.get(agreement=agreement).in_force


def test_recorded_segment_applies_where_icbs_are_not_segmented(world):
    agreement = in_force(world, year="2025/26")
    with pytest.raises(DelegationError, match="permission"):
        record_icb_segment(
            actor=world["london_director"], icb=world["notts"], segment=3, source="letter"
        )
    with pytest.raises(DelegationError, match="Say where the segment comes from"):
        record_icb_segment(
            actor=world["midlands_director"], icb=world["notts"], segment=3, source=""
        )
    record_icb_segment(
        actor=world["midlands_director"],
        icb=world["notts"],
        segment=3,
        source="Regional oversight meeting, 12 November 2025",
        as_of=datetime.date(2025, 11, 12),
    )
    condition = AgreementCondition.objects.get(agreement=agreement)
    assert condition.in_force
    assert condition.applied_because.source_kind == SegmentSource.RECORDED
    # A later recorded segment applies; the earlier one stays in the history.
    record_icb_segment(
        actor=world["national"],
        icb=world["notts"],
        segment=2,
        source="National review",
        as_of=datetime.date(2026, 1, 20),
    )
    condition.refresh_from_db()
    assert not condition.in_force
    assert IcbSegment.objects.filter(icb=world["notts"]).count() == 2


def test_lifting_the_condition_releases_waiting_requests(world):
    in_force(world)
    icb_quarter("Q1 2026/27", 3)
    waiting = request_for(world)
    assert waiting.status == RequestStatus.AWAITING_DECISION
    icb_quarter("Q2 2026/27", 1)
    waiting.refresh_from_db()
    assert waiting.status == RequestStatus.NOTED
    assert Notification.objects.filter(
        user=world["analyst"], subject__contains="approval no longer needed"
    ).exists()


def test_the_condition_is_policy_data(world):
    agreement = in_force(world)
    icb_quarter("Q1 2026/27", 3)
    rule = ConditionRule.objects.get()
    set_condition_segments(actor=world["national"], rule=rule, segments=[4], reason="test change")
    assert not AgreementCondition.objects.get(agreement=agreement).in_force
    event = AuditEvent.objects.get(action="delegation.condition_rule_changed")
    assert event.before["segments"] == [3, 4] and event.after["segments"] == [4]


def test_a_request_names_delegated_services_and_a_real_amount(world):
    with pytest.raises(DelegationError, match="no delegation agreement in force"):
        request_for(world)
    in_force(world)
    retained = add_service(actor=world["national"], name="Retained thing", status="retained")
    with pytest.raises(DelegationError, match="Not delegated to NHS Nottingham"):
        request_for(world, services=[retained])
    with pytest.raises(DelegationError, match="amount in pounds"):
        request_for(world, annual_spend_effect="lots")
    with pytest.raises(DelegationError, match="permission"):
        request_for(world, actor=world["midlands_director"])
    request = request_for(world, annual_spend_effect="£-1,200,000.50")
    assert request.annual_spend_effect == Decimal("-1200000.50")


def test_icbs_with_an_agreement_and_no_collaboration_are_flagged(world):
    in_force(world)
    derby = IntegratedCareBoard.objects.get(code="QJ2")
    in_force(world, derby)
    assert without_collaboration([world["notts"].pk, derby.pk]) == [derby, world["notts"]]
    create_collaboration(
        actor=world["midlands_director"],
        name="East Midlands joint committee",
        kind="joint_committee",
        members=[world["notts"], derby],
        formed_on=datetime.date(2024, 4, 1),
        services=[world["service"]],
    )
    assert without_collaboration([world["notts"].pk, derby.pk]) == []
    with pytest.raises(DelegationError, match="at least two"):
        create_collaboration(
            actor=world["national"],
            name="Alone",
            kind="other",
            members=[derby],
            formed_on=datetime.date(2024, 4, 1),
        )


def test_nothing_is_half_done_when_a_step_fails(world):
    agreement = create_agreement(
        actor=world["national"], icb=world["notts"], financial_year="2026/27"
    )
    events = AuditEvent.objects.count()
    with pytest.raises(DelegationError):
        sign_agreement(actor=world["london_director"], agreement=agreement)
    assert AuditEvent.objects.count() == events
    assert DelegationAgreement.objects.get(pk=agreement.pk).status == AgreementStatus.DRAFT


def test_waiting_requests_carry_on_under_the_next_years_agreement(world):
    old = in_force(world, year="2025/26")
    record_icb_segment(
        actor=world["midlands_director"],
        icb=world["notts"],
        segment=4,
        source="Regional review",
        as_of=datetime.date(2026, 1, 10),
    )
    waiting = request_for(world, intended_start=datetime.date(2026, 3, 2))
    assert waiting.status == RequestStatus.AWAITING_DECISION
    new = in_force(world, year="2026/27")
    old.refresh_from_db()
    waiting.refresh_from_db()
    assert old.status == AgreementStatus.ENDED
    assert waiting.status == RequestStatus.AWAITING_DECISION  # still needs the region
    assert waiting.agreement == new
    assert waiting.condition == AgreementCondition.objects.get(agreement=new, lifted_at=None)

"""Published and provisional runs: an upload changes nobody's official position; a
national user's publication does, once, with its consequences and notices."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from delegation.models import AgreementCondition, IcbSegment
from oversight.autonomy.models import FreedomGrant, OversightAction, SupportLevel
from oversight.autonomy.policy import load_autonomy_policy
from oversight.demo import demo_rows
from oversight.inputs import record_inputs
from oversight.models import (
    MetricScore,
    MetricValue,
    Notification,
    OrganisationAssessment,
    ReportingPeriod,
    SegmentationRun,
)
from oversight.preview import preview_of
from oversight.runs import PublicationRefused, publish_run, run_segmentation
from oversight.uploads.services import process_upload, receive_upload
from systems.models import AuditEvent, Role, Trust
from systems.services import grant_role
from tests.uploads.files import template_file


@pytest.fixture
def published(methodologies):
    """Synthetic inputs for every real trust, two quarters, each published."""
    load_autonomy_policy(actor="test")
    for label in ("Q1 2025/26", "Q2 2025/26"):
        period = ReportingPeriod.objects.by_key(label)
        record_inputs(period=period, rows=demo_rows(period), source="demo", actor="test")
        run_segmentation(period=period, actor="national", replicates=0, publish=True)
    return ReportingPeriod.objects.by_key("Q2 2025/26")


def _person(name: str, role: str, **scope):
    user = get_user_model().objects.create_user(name, email=f"{name}@example.org")
    grant_role(user=user, role=role, actor="test", **scope)
    return user


def _official_state(period: ReportingPeriod) -> dict:
    """Everything an upload must leave alone."""
    period.refresh_from_db()
    return {
        "published_run": period.current_run_id,
        "segments": sorted(
            OrganisationAssessment.objects.filter(run_id=period.current_run_id).values_list(
                "organisation_id", "final_segment"
            )
        ),
        "grants": sorted(FreedomGrant.objects.values_list("pk", "status")),
        "actions": OversightAction.objects.count(),
        "support": SupportLevel.objects.count(),
        "conditions": sorted(AgreementCondition.objects.values_list("pk", "lifted_at")),
        "icb_segments": IcbSegment.objects.count(),
        # Notices about organisations (the uploader's own notice about their upload is not
        # a change of anyone's position).
        "notifications": Notification.objects.filter(organisation__isnull=False).count(),
        "frozen": period.frozen_cut_points,
    }


def _analyst_upload(period: ReportingPeriod):
    """An ICB analyst uploads much worse staff and cost figures for three of their own
    trusts."""
    sample = Trust.objects.get(code="RHA")
    icb = sample.host_icb_on(period.end_date)
    analyst = _person("analyst", Role.ICB_ANALYST, icb=icb)
    own = sorted(t.code for t in Trust.objects.all() if t.host_icb_on(period.end_date) == icb)[:3]
    worst = {"OF0082": "19.5", "OF0061": "1.0", "OF0084": "1.0", "OF0086": "45"}
    content = template_file(
        [[code, metric, period.label, value] for code in own for metric, value in worst.items()]
    )
    received = receive_upload(content=content, filename="mine.csv", actor=analyst)
    upload = process_upload(upload_id=received.upload.pk)
    return analyst, icb, own, upload


def _scores(run_id: int) -> set[tuple[str, tuple]]:
    return {
        (code, (metric, score, rank, size))
        for code, metric, score, rank, size in MetricScore.objects.filter(
            run_id=run_id
        ).values_list("organisation__code", "metric_id", "score", "rank", "pool_size")
    }


def test_an_analysts_upload_changes_no_official_position(published):
    q2 = published
    before = _official_state(q2)
    assert before["frozen"] is not None  # the published run's cut points are kept

    analyst, _icb, own, upload = _analyst_upload(q2)
    assert upload.status == "done", upload.errors
    assert _official_state(q2) == before

    q2.refresh_from_db()
    provisional = q2.latest_run
    assert provisional.pk != q2.current_run_id and provisional.state == "provisional"
    assert provisional.cut_points_source == "frozen"
    assert provisional.cut_points == before["frozen"]
    assert provisional in upload.runs.all()

    # The cut points and the published run's pools are held still: no organisation
    # outside the analyst's ICB moves, and none keeps anything but its published scores.
    assert provisional.ranked_against_id == before["published_run"]
    everyone = preview_of(provisional)
    moved = {m.code for m in everyone.moves}
    assert moved and moved <= set(own), moved
    assert all(m.cause == "its own data changed" for m in everyone.moves)
    assert everyone.pools.startswith("Ranks were worked against the pools of published run")
    published_scores = _scores(before["published_run"])
    provisional_scores = _scores(provisional.pk)
    differ = {code for code, _ in set(published_scores) ^ set(provisional_scores)}
    assert differ and differ <= set(own), differ

    # A national user may still rank every pool afresh: then others' ranks move too.
    afresh = run_segmentation(period=q2, actor="national", replicates=0, fresh_pools=True)
    assert afresh.ranked_against_id is None
    assert preview_of(afresh).pools.startswith("Every pool was ranked afresh")
    assert _official_state(q2) == before
    # Seen by the analyst: the moves within their scope, the rest counted only.
    mine = preview_of(provisional, analyst)
    visible = {m.code for m in mine.moves}
    assert set(own) & moved <= visible
    assert len(visible) + mine.moves_elsewhere == len(moved)


def test_publishing_applies_the_consequences_once_and_notifies_once(published):
    q2 = published
    national = _person("director", Role.NATIONAL)
    _analyst_upload(q2)
    q2.refresh_from_db()
    provisional = q2.latest_run
    moved = {m.code for m in preview_of(provisional).moves}
    notices_before = Notification.objects.count()

    with pytest.raises(PublicationRefused, match="give a reason"):
        publish_run(run=provisional, actor=national, reason="")
    assert not AuditEvent.objects.filter(action="run.published", object_id=provisional.pk)

    publish_run(run=provisional, actor=national, reason="Corrected sickness absence")
    q2.refresh_from_db()
    assert q2.current_run_id == provisional.pk
    published_segments = dict(
        OrganisationAssessment.objects.filter(run=provisional).values_list(
            "organisation__code", "final_segment"
        )
    )
    assert all(published_segments[c] for c in moved)
    event = AuditEvent.objects.get(action="run.published", object_id=str(provisional.pk))
    assert event.reason == "Corrected sickness absence" and event.actor_label == "director"
    sent = Notification.objects.count() - notices_before
    assert sent > 0
    moves = Notification.objects.filter(subject__contains="Segment", body__contains="published")
    assert {n.organisation.code for n in moves} >= moved

    # The same position published again (a re-run on unchanged inputs): nobody is told twice.
    again = run_segmentation(period=q2, actor="national", replicates=0)
    publish_run(run=again, actor=national, reason="Re-run, nothing changed")
    assert Notification.objects.count() - notices_before == sent


def test_older_failed_or_already_published_runs_are_refused(published):
    q2 = published
    q2.refresh_from_db()
    current = q2.current_run
    with pytest.raises(PublicationRefused, match="already the published run"):
        publish_run(run=current, actor="national", reason="again")
    newer = run_segmentation(period=q2, actor="national", replicates=0)
    publish_run(run=newer, actor="national", reason="newer")
    with pytest.raises(PublicationRefused, match="older than run"):
        publish_run(run=current, actor="national", reason="back")
    current.refresh_from_db()
    assert current.state == "superseded"


def test_pages_and_api_say_which_results_they_show(published, client):
    q2 = published
    _analyst_upload(q2)
    q2.refresh_from_db()
    national = _person("reader", Role.NATIONAL)
    client.force_login(national)

    page = client.get("/national/", {"period": q2.slug})
    assert b'data-run-state="published"' in page.content
    assert b"see the provisional results" in page.content
    page = client.get("/national/", {"period": q2.slug, "run": "provisional"})
    assert b'data-run-state="provisional"' in page.content
    run_page = client.get(f"/runs/{q2.latest_run_id}/")
    assert b"What publishing it would change" in run_page.content

    api = client.get(
        "/api/v1/league-tables/",
        {"period": q2.slug, "peer_group": "acute", "run": "provisional"},
    )
    assert api.status_code == 200
    assert api["X-Results-Run"].startswith(f"id={q2.latest_run_id}; state=provisional")
    bad = client.get(
        "/api/v1/league-tables/", {"period": q2.slug, "peer_group": "acute", "run": "x"}
    )
    assert bad.status_code == 400 and "run" in bad.json()["errors"][0]["field"]
    assessments = client.get("/api/v1/assessments/", {"period": q2.slug, "run": "provisional"})
    assert {r["run_state"] for r in assessments.json()["results"]} == {"provisional"}

    refused = client.post(f"/api/v1/runs/{q2.latest_run_id}/publish/", {}, "application/json")
    assert refused.status_code == 400 and "give a reason" in str(refused.json())
    done = client.post(
        f"/api/v1/runs/{q2.latest_run_id}/publish/", {"reason": "ok"}, "application/json"
    )
    assert done.status_code == 200 and done.json()["state"] == "published"


def test_a_period_with_no_published_run_says_so(methodologies, client):
    q1 = ReportingPeriod.objects.by_key("Q1 2025/26")
    record_inputs(period=q1, rows=demo_rows(q1), source="demo", actor="test")
    run_segmentation(period=q1, actor="test", replicates=0)
    client.force_login(_person("reader", Role.NATIONAL))
    page = client.get("/league-tables/", {"period": q1.slug})
    assert b"No published results for Q1 2025/26 yet" in page.content
    out = call_command_text("export_assessments", "--period", "Q1 2025/26", expect_error=True)
    assert "no published results yet" in out
    assert MetricValue.objects.filter(period=q1).exists()
    assert SegmentationRun.objects.get().state == "provisional"


def call_command_text(*args, expect_error: bool = False) -> str:
    import io

    from django.core.management import CommandError

    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except CommandError as exc:
        if not expect_error:
            raise
        return str(exc)
    return out.getvalue()

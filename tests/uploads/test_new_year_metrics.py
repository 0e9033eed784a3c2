"""A new year's metrics from NHS England's own file: refused while unknown (naming every
id and how to add it), added as supplied scores by ``add_metrics_from_file``, then
imported and segmented; for trusts and, from 2026/27, for ICBs, whose segments feed the
delegation condition with no manual recording."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from delegation.models import AgreementCondition, IcbSegment, SegmentSource
from oversight.exports import NHSE_TRUST_TYPE
from oversight.models import (
    MetricDefinition,
    MetricScore,
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
    UploadStatus,
)
from oversight.runs import publish_run, run_segmentation
from oversight.services import pin_cut_points
from oversight.uploads.metric_additions import MetricsNotAdded, add_metrics_from_file
from oversight.uploads.services import process_upload, receive_upload
from oversight.uploads.validation import NHSE_COLUMNS
from systems.models import AuditEvent, Organisation, OrganisationKind, existed_on_q
from tests.delegation import test_delegation

from .files import csv_bytes

QUARTER = "Q1 2026/27"
world = test_delegation.world  # the fixture: reference data, delegation data, people
in_force = test_delegation.in_force
NEW_TRUST_METRICS = {
    # score id: (value id or "", description, domain, sub-domain, units)
    "OF1201": (
        "OF0201",
        "Percentage of adults in contact with community mental health services for 28 days",
        "Access to services",
        "Mental health care",
        "%",
    ),
    "OF1202": (
        "",
        "Restrictive practice: restraint rate per 1,000 occupied bed days",
        "Patient safety",
        "Safety culture",
        "rate",
    ),
}
NEW_ICB_METRICS = {
    "OF1301": (
        "OF0301",
        "Percentage of the ICB's population registered with a GP practice "
        "with an online appointment offer",
        "Access to services",
        "Primary care",
        "%",
    ),
    "OF1302": (
        "",
        "ICB running-cost allowance variance",
        "Finance and productivity",
        "Finance",
        "score",
    ),
}


def line(org: Organisation, metric_id: str, value, definition, **overrides) -> list:
    _, description, domain, sub_domain, units = definition
    cells = dict.fromkeys(NHSE_COLUMNS, "")
    cells.update(
        {
            "Quarter": QUARTER,
            "Region": org.region.short_name,
            "Trust_type": NHSE_TRUST_TYPE[org.peer_group],
            "Trust_code": org.code,
            "Trust_name": org.name,
            "Domain": domain,
            "Sub-domain": sub_domain,
            "Metric_ID": metric_id,
            "Metric_description": description,
            "Reporting_date": "Month 3 2026/27",
            "Units": units if metric_id.startswith("OF0") else "score",
            "Value": value,
        }
    )
    cells.update(overrides)
    return [cells[c] for c in NHSE_COLUMNS]


def new_year_file(orgs: list[Organisation], metrics: dict, **overrides) -> bytes:
    """Each organisation's supplied scores for ``metrics`` (1 to 4, varied) and the value
    of each metric that has a value id."""
    lines = []
    for i, org in enumerate(orgs):
        for j, (score_id, definition) in enumerate(sorted(metrics.items())):
            value_id = definition[0]
            if value_id:
                lines.append(line(org, value_id, f"{40 + 3 * i}.5", definition, **overrides))
            score = 1 + ((i + 2 * j) % 4)
            lines.append(line(org, score_id, f"{score}.0", definition, **overrides))
    return csv_bytes(NHSE_COLUMNS, lines)


def open_in(period: ReportingPeriod, **filters) -> list[Organisation]:
    return list(
        Organisation.objects.filter(existed_on_q(period.end_date), **filters)
        .select_related("region")
        .order_by("code")
    )


def upload(content: bytes, filename: str):
    received = receive_upload(content=content, filename=filename, actor="analyst")
    assert received.created, received.message
    return process_upload(upload_id=received.upload.pk)


@pytest.fixture
def q1_2026(methodologies):
    return ReportingPeriod.objects.by_key(QUARTER)


def added_through_the_command(path) -> str:
    out = io.StringIO()
    call_command(
        "add_metrics_from_file",
        "--methodology",
        "nof-2026-27",
        str(path),
        "--reason",
        "NHS England's 2026/27 technical specification adds these metrics",
        stdout=out,
    )
    return out.getvalue()


def test_a_new_years_trust_metrics_are_refused_added_imported_and_segmented(q1_2026, tmp_path):
    trusts = open_in(
        q1_2026, kind=OrganisationKind.TRUST, peer_group="mental-health-and-community"
    )[:12]
    content = new_year_file(trusts, NEW_TRUST_METRICS)
    path = tmp_path / "nof-mhc-q1-2026-27.csv"
    path.write_bytes(content)

    refused = upload(content, path.name)
    assert refused.status == UploadStatus.INVALID
    head = refused.errors[0]
    assert (head["row"], head["column"]) == (1, "Metric_ID")
    assert "not in the nof-2026-27 catalogue: OF0201, OF1201, OF1202." in head["message"]
    assert "manage.py add_metrics_from_file --methodology nof-2026-27" in head["message"]
    assert {e["column"] for e in refused.errors} == {"Metric_ID"}
    assert not MetricValue.objects.exists()

    out = added_through_the_command(path)
    assert "Added 2 supplied-score metrics to nof-2026-27: OF1201, OF1202" in out
    assert "value ids stored, not scored: OF0201" in out
    added = {
        m.score_id: m
        for m in MetricDefinition.objects.filter(
            methodology__slug="nof-2026-27", score_id__in=NEW_TRUST_METRICS
        )
    }
    assert set(added) == {"OF1201", "OF1202"}
    first = added["OF1201"]
    assert (first.method, first.value_id, first.peer_groups) == (
        "supplied",
        "OF0201",
        ["mental-health-and-community"],
    )
    assert (first.domain, first.sub_domain, first.units) == (
        "Access to services",
        "Mental health care",
        "score",
    )
    assert first.name.startswith("Percentage of adults in contact")
    assert added["OF1202"].value_id == ""
    event = AuditEvent.objects.get(action="methodology.metrics_added")
    assert event.reason.startswith("NHS England's 2026/27")
    assert [m["score_id"] for m in event.after["added"]] == ["OF1201", "OF1202"]
    assert event.after["file"] == path.name

    with pytest.raises(CommandError, match="already in the nof-2026-27 catalogue"):
        added_through_the_command(path)

    imported = upload(content, "again-" + path.name)
    assert imported.status == UploadStatus.DONE, imported.errors[:3]
    # 2026/27 thresholds are unset: the period waits for its cut points.
    assert (
        imported.summary["not_segmented"]
        and "pin_cut_points" in (imported.summary["not_segmented"][0])
    )
    period = pin_cut_points(period=q1_2026, cut_points=(2.0, 2.35, 2.7), reason="t", actor="t")
    run = run_segmentation(period=period, actor="test", replicates=0)
    assessed = {
        a.organisation.code: a
        for a in OrganisationAssessment.objects.filter(run=run, segmented=True).select_related(
            "organisation"
        )
    }
    assert set(assessed) == {t.code for t in trusts}
    for i, trust in enumerate(trusts):
        scores = [1 + (i % 4), 1 + ((i + 2) % 4)]
        assert assessed[trust.code].average_score == pytest.approx(sum(scores) / 2)
        assert assessed[trust.code].metric_count == 2
    assert {a.unadjusted_segment for a in assessed.values()} >= {1, 4}
    # The value is stored with its metric but never scored: the supplied score is used.
    assert MetricValue.objects.current().filter(metric_id="OF0201").count() == 12
    statuses = set(
        MetricScore.objects.filter(
            run=run, metric_id="OF1201", organisation__code__in=assessed
        ).values_list("status", flat=True)
    )
    assert statuses == {"supplied"}


def test_incomplete_definitions_are_refused_and_nothing_is_added(q1_2026, tmp_path):
    trusts = open_in(q1_2026, kind=OrganisationKind.TRUST, peer_group="ambulance")[:3]
    content = new_year_file(trusts, {"OF1203": ("", "", "Patient safety", "", "")})
    with pytest.raises(MetricsNotAdded) as refused:
        add_metrics_from_file(
            methodology="nof-2026-27",
            content=content,
            filename="incomplete.csv",
            reason="t",
            actor="t",
        )
    problem = refused.value.problems[0]
    assert (problem.row, problem.column) == (2, "Metric_description")
    assert "OF1203 has no Metric_description" in problem.message
    assert "row 2, column Metric_description" in refused.value.message

    wrong = new_year_file(
        trusts, {"OF1204": ("", "A metric", "Wellbeing", "", "")}, Trust_type="Hospice"
    )
    with pytest.raises(MetricsNotAdded) as refused:
        add_metrics_from_file(
            methodology="nof-2026-27", content=wrong, filename="w.csv", reason="t", actor="t"
        )
    assert [(p.column, p.value) for p in refused.value.problems] == [
        ("Domain", "Wellbeing"),
        ("Trust_type", "Hospice"),
    ]
    value_only = csv_bytes(
        NHSE_COLUMNS, [line(trusts[0], "OF0205", "3", ("", "A value", "Patient safety", "", ""))]
    )
    with pytest.raises(MetricsNotAdded, match="no score OF1205"):
        add_metrics_from_file(
            methodology="nof-2026-27", content=value_only, filename="v.csv", reason="t", actor="t"
        )
    with pytest.raises(MetricsNotAdded, match="A reason is required"):
        add_metrics_from_file(
            methodology="nof-2026-27", content=content, filename="x.csv", reason=" ", actor="t"
        )
    assert not MetricDefinition.objects.filter(score_id__in=["OF1203", "OF1204"]).exists()
    assert not AuditEvent.objects.filter(action="methodology.metrics_added").exists()


def test_an_icb_metric_set_segments_icbs_and_feeds_the_delegation_condition(
    q1_2026,
    world,
    tmp_path,
):
    agreement = in_force(world)
    icbs = open_in(q1_2026, kind=OrganisationKind.ICB)
    notts = next(i for i in icbs if i.code == "QT1")
    others = [i for i in icbs if i.code != "QT1"]
    # Fourth in the file, Nottingham and Nottinghamshire scores 4 and 2: an average of
    # 3.00, segment 4, under which its delegation agreement takes the spending condition.
    icbs = [*others[:3], notts, *others[3:9]]
    content = new_year_file(icbs, NEW_ICB_METRICS)
    path = tmp_path / "nof-icb-q1-2026-27.csv"
    path.write_bytes(content)

    refused = upload(content, path.name)
    assert refused.status == UploadStatus.INVALID
    assert "OF0301, OF1301, OF1302" in refused.errors[0]["message"]

    out = added_through_the_command(path)
    assert "OF1301, OF1302" in out and "peer groups icb" in out
    pin_cut_points(period=q1_2026, cut_points=(2.0, 2.35, 2.7), reason="t", actor="t")
    imported = upload(content, "again-" + path.name)
    assert imported.status == UploadStatus.DONE, imported.errors[:3]
    run = ReportingPeriod.objects.get(pk=q1_2026.pk).latest_run
    assert run is not None and run in imported.runs.all()
    # Published by the national team, the ICB segments follow with no one recording them.
    publish_run(run=run, actor="national", reason="2026/27 Q1")
    segments = dict(
        OrganisationAssessment.objects.filter(run=run, segmented=True).values_list(
            "organisation__code", "final_segment"
        )
    )
    assert set(segments) == {i.code for i in icbs}
    # Recorded from the run, with no one recording them by hand.
    computed = {
        s.icb.code: s.segment for s in IcbSegment.objects.filter(run=run).select_related("icb")
    }
    assert computed == segments
    assert set(IcbSegment.objects.values_list("source_kind", flat=True)) == {SegmentSource.RUN}
    assert segments["QT1"] == 4
    condition = AgreementCondition.objects.get(agreement=agreement)
    assert condition.in_force


def test_the_methodology_admin_page_adds_a_files_metrics(q1_2026, admin_client):
    methodology = q1_2026.methodology
    change = admin_client.get(f"/admin/oversight/methodology/{methodology.pk}/change/")
    url = f"/admin/oversight/methodology/{methodology.pk}/add-metrics-from-file/"
    assert url in change.content.decode()
    action = admin_client.post(
        "/admin/oversight/methodology/",
        {"action": "add_metrics_from_a_file", "_selected_action": [methodology.pk]},
    )
    assert action.status_code == 302 and action["Location"] == url
    assert admin_client.get(url).status_code == 200

    trusts = open_in(q1_2026, kind=OrganisationKind.TRUST, peer_group="ambulance")[:3]
    content = new_year_file(trusts, {"OF1210": ("", "", "Patient safety", "", "")})
    page = admin_client.post(
        url, {"file": SimpleUploadedFile("bad.csv", content), "reason": "New metric"}
    )
    assert page.status_code == 200
    assert "Row 2, column Metric_description: OF1210 has no Metric_description" in (
        page.content.decode()
    )
    content = new_year_file(
        trusts, {"OF1210": ("", "Hear and treat rate", "Patient safety", "Flow", "%")}
    )
    done = admin_client.post(
        url, {"file": SimpleUploadedFile("ok.csv", content), "reason": "New metric"}
    )
    assert done.status_code == 302
    added = MetricDefinition.objects.get(methodology=methodology, score_id="OF1210")
    assert (added.method, added.peer_groups) == ("supplied", ["ambulance"])
    event = AuditEvent.objects.get(action="methodology.metrics_added")
    assert (event.reason, event.actor_label) == ("New metric", "admin")

"""A value for a nationally pooled metric from a provider outside the metric's peer
groups (an acute trust reporting community waits, OF0005) is accepted and ranked in the
national pool; it counts in the provider's own average only when the metric says so."""

from __future__ import annotations

from oversight.models import MetricScore, MetricUpload, UploadStatus
from oversight.runs import publish_run
from oversight.selectors import explain
from oversight.uploads.services import process_upload, receive_upload
from systems.models import Organisation

from .files import template_file


def _upload(rows):
    received = receive_upload(content=template_file(rows), filename="v.csv", actor="analyst")
    return process_upload(upload_id=received.upload.pk)


def test_an_acute_trusts_community_value_is_ranked_but_not_averaged(q2):
    upload = _upload(
        [
            ["R0A", "OF0005", "Q2 2025/26", "1.5"],  # acute: outside OF0005's peer group
            ["R1A", "OF0005", "Q2 2025/26", "9.0"],
            ["R1D", "OF0005", "Q2 2025/26", "2.0"],
            ["R1A", "OF0082", "Q2 2025/26", "5.0"],
            ["R1D", "OF0082", "Q2 2025/26", "6.0"],
            ["R0A", "OF0082", "Q2 2025/26", "4.0"],
        ]
    )
    assert upload.status == UploadStatus.DONE, upload.errors
    q2.refresh_from_db()
    publish_run(run=q2.latest_run, actor="test", reason="test")
    q2.refresh_from_db()
    scores = {
        (s.organisation.code, s.metric_id): s
        for s in MetricScore.objects.filter(run_id=q2.current_run_id).select_related("organisation")
    }
    r0a = scores[("R0A", "OF1005")]
    assert (r0a.status, r0a.rank, r0a.pool_size, r0a.score) == ("scored", 1, 3, 1.0)
    assert not r0a.included
    assert scores[("R1D", "OF1005")].score == 2.5  # second of three in the national pool
    lines = {m.metric_id: m for m in explain(Organisation.objects.get(code="R0A"), q2).metrics}
    assert "outside the metric's peer groups" in lines["OF1005"].pool_note


def test_a_peer_group_metric_from_another_peer_group_is_still_refused(q2):
    received = receive_upload(
        content=template_file([["R0A", "OF0017", "Q2 2025/26", "30"]]),
        filename="v.csv",
        actor="analyst",
    )
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.INVALID
    assert "OF0017 applies to ambulance" in str(MetricUpload.objects.get(pk=upload.pk).errors)

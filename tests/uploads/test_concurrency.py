"""Two uploads for the same period at once end as if one came after the other."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from oversight.models import MetricUpload, MetricValue, ReportingPeriod, UploadStatus
from oversight.runs import prepare_run
from oversight.services import load_methodologies, pin_cut_points
from oversight.uploads.services import process_upload, receive_upload
from systems.models import Organisation
from systems.services import load_reference_data

from .files import template_file


@pytest.mark.django_db(transaction=True)
def test_two_uploads_for_one_period_at_once():
    load_reference_data()
    load_methodologies()
    period = ReportingPeriod.objects.by_key("Q2 2025/26")
    pin_cut_points(period=period, cut_points=(2.0, 2.35, 2.7), reason="test", actor="t")
    codes = list(
        Organisation.objects.existing_on(period.end_date)
        .filter(peer_group="mental-health-and-community", kind="trust")
        .order_by("code")
        .values_list("code", flat=True)[:30]
    )
    first = template_file(
        [[c, "OF0082", "Q2 2025/26", f"{4 + i / 10:.1f}"] for i, c in enumerate(codes)]
    )
    second = template_file(
        [[c, "OF0084", "Q2 2025/26", f"{6 + i / 20:.2f}"] for i, c in enumerate(codes)]
        + [[c, "OF0082", "Q2 2025/26", "7.5"] for c in codes[:5]]
    )
    uploads = [
        receive_upload(content=content, filename=name, actor="t", enqueue=False).upload
        for name, content in (("a.csv", first), ("b.csv", second))
    ]
    start = threading.Barrier(2)
    failures = []

    def work(upload_id: int) -> None:
        try:
            start.wait()
            process_upload(upload_id=upload_id, actor="t")
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(u.pk,)) for u in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures

    done = list(MetricUpload.objects.order_by("imported_at"))
    assert [u.status for u in done] == [UploadStatus.DONE, UploadStatus.DONE], [
        u.errors[:2] for u in done
    ]
    # As one after the other, in the order they were imported: the later upload's
    # value is current for the five codes both touched; nothing else was replaced.
    later = done[1].original_name
    overlap = dict(
        MetricValue.objects.current()
        .filter(period=period, metric_id="OF0082", organisation__code__in=codes[:5])
        .values_list("organisation__code", "value")
    )
    if later == "b.csv":
        assert set(overlap.values()) == {7.5}
    else:
        assert sorted(overlap.values()) == [4.0, 4.1, 4.2, 4.3, 4.4]
    assert MetricValue.objects.current().filter(period=period).count() == 60
    assert MetricValue.objects.filter(superseded_at__isnull=False).count() == 5
    # The current run reflects everything stored, whichever upload segmented last.
    period.refresh_from_db()
    assert period.latest_run.inputs_fingerprint == prepare_run(period).inputs_fingerprint

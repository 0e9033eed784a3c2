"""NHS England's data file in the shapes it is published in: the real release of two
quarters, a re-issue of the same quarters, text where a number might be, a quarter that
is not a period here. Every file goes through the upload service as the page and the API
send it."""

from __future__ import annotations

import pathlib

import pytest

from oversight.models import MetricValue, OrganisationAssessment, UploadStatus
from oversight.uploads.services import process_upload, receive_upload
from systems.models import Organisation

from .files import nhse_file, nhse_line

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "nhse"
PUBLISHED = DATA / "nof-mental-health-and-community-trust-data-q1-q2-2025-26.csv"


def upload(content: bytes, filename: str, **kwargs):
    received = receive_upload(content=content, filename=filename, actor="analyst", **kwargs)
    assert received.created, received.message
    return process_upload(upload_id=received.upload.pk)


def test_the_published_release_imports_both_quarters_with_no_errors(q1, q2):
    content = PUBLISHED.read_bytes()
    u = upload(content, PUBLISHED.name)
    assert u.status == UploadStatus.DONE, (u.errors[:3], u.failure_reason)
    assert u.errors == [] and u.error_count == 0
    assert u.detected_format == "nhse" and u.encoding == "utf-8-sig"
    # 4,502 rows, each stored, plus NHS England's league rank of each trust-quarter.
    assert u.row_count == 4502
    assert u.summary["by_period"] == {"Q1 2025/26": 2303, "Q2 2025/26": 2321}
    assert u.summary["created"] == u.summary["rows"] == 4502 + 122
    # Only renamed trusts are warned about; nothing is refused or dropped.
    assert {w["column"] for w in u.warnings} == {"Trust_name"}
    for period in (q1, q2):
        period.refresh_from_db()
        assert period.latest_run is not None and period.latest_run in u.runs.all()
        assert (
            OrganisationAssessment.objects.filter(run=period.latest_run, segmented=True)
            .values("organisation")
            .count()
            == 61
        )
    # Reporting dates NHS England writes as text are kept as written.
    texts = set(
        MetricValue.objects.current()
        .filter(period=q2)
        .values_list("reporting_period_text", flat=True)
    )
    assert {"Month 6 2025", "Oct 24 - Sep 25 vs Oct 23 - Sep 24", "2024/25"} <= texts


def test_a_reissued_release_replaces_values_without_duplicates(q1, q2):
    content = PUBLISHED.read_bytes()
    first = upload(content, PUBLISHED.name, segment=False)
    assert first.status == UploadStatus.DONE
    current = MetricValue.objects.current().count()

    # NHS England re-issues the release with one trust's sickness absence revised.
    lines = content.decode("utf-8-sig").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if ",R1A," in line and ",OF0082," in line)
    cells = lines[at].split(",")
    revised_value = str(float(cells[12]) + 0.5)
    cells[12] = revised_value
    lines[at] = ",".join(cells)
    reissued = ("\ufeff" + "".join(lines)).encode("utf-8")
    second = upload(reissued, "reissued-" + PUBLISHED.name, segment=False)
    assert second.status == UploadStatus.DONE, second.errors[:3]
    assert (second.summary["created"], second.summary["superseded"]) == (1, 1)
    assert second.summary["unchanged"] == second.summary["rows"] - 1
    assert MetricValue.objects.current().count() == current
    value = MetricValue.objects.current().get(
        period__label=cells[0], organisation__code="R1A", metric_id="OF0082"
    )
    assert value.value == float(revised_value) and value.upload_id == second.pk
    assert (
        MetricValue.objects.filter(
            period__label=cells[0], organisation__code="R1A", metric_id="OF0082"
        ).count()
        == 2
    )  # the earlier value is kept, superseded


def test_text_values_are_kept_as_text_and_not_refused(q2):
    org = Organisation.objects.select_related("region").get(code="RHA")
    content = nhse_file(
        [
            nhse_line("Q2 2025/26", org, "OF0081", "-0.2", reporting="Month 12 2025/26"),
            nhse_line("Q2 2025/26", org, "OF0079", "Month 12 2025/26"),
            nhse_line("Q2 2025/26", org, "OF5002", "Q2 2025/26"),
        ]
    )
    u = upload(content, "text.csv", segment=False)
    assert u.status == UploadStatus.DONE, u.errors
    stored = {v.metric_id: v for v in MetricValue.objects.current().filter(organisation=org)}
    assert stored["OF0081"].value == -0.2
    assert stored["OF0081"].reporting_period_text == "Month 12 2025/26"
    assert (stored["OF0079"].value, stored["OF0079"].text) == (None, "Month 12 2025/26")
    assert (stored["OF5002"].value, stored["OF5002"].text) == (None, "Q2 2025/26")
    assert any("kept as text" in w["message"] for w in u.warnings)


def test_a_text_that_is_not_a_period_is_still_refused(q2):
    org = Organisation.objects.select_related("region").get(code="RHA")
    u = upload(nhse_file([nhse_line("Q2 2025/26", org, "OF0079", "lots")]), "bad.csv")
    assert u.status == UploadStatus.INVALID
    assert [(e["row"], e["column"], e["message"][:13]) for e in u.errors] == [
        (2, "Value", "Not a number:")
    ]


@pytest.mark.parametrize("quarter", ["Q1 2031/32", "Q5 2025/26"])
def test_a_quarter_that_is_not_a_period_here_is_named_and_nothing_is_stored(q2, quarter):
    org = Organisation.objects.select_related("region").get(code="RHA")
    content = nhse_file(
        [
            nhse_line("Q2 2025/26", org, "OF0082", "4.8"),
            nhse_line(quarter, org, "OF0082", "4.9"),
        ]
    )
    u = upload(content, "quarters.csv")
    assert u.status == UploadStatus.INVALID
    assert [(e["row"], e["column"], e["value"]) for e in u.errors] == [(3, "Quarter", quarter)]
    message = u.errors[0]["message"]
    if quarter.startswith("Q1"):
        assert "This period does not exist here" in message
        assert "periods.yaml" in message and "load_methodologies" in message
    else:
        assert "Not a period" in message
    assert not MetricValue.objects.exists()

"""Every hostile file of the corpus is refused, quickly, with a message that says what is
wrong and where, and nothing is stored. Through the real services on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from oversight.models import MetricValue, UploadStatus
from oversight.uploads.services import UploadRefused, process_upload, receive_upload
from systems.models import AuditEvent

from .corpus import CASES, Hostile

SECONDS = 5.0


def test_the_corpus_has_at_least_sixty_files():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


def refuse(case: Hostile) -> tuple[list[dict], float]:
    """The case's problems and the seconds from receipt to refusal."""
    content = case.build()
    started = time.perf_counter()
    try:
        received = receive_upload(
            content=content, filename=case.filename, actor="test", enqueue=False
        )
    except UploadRefused as refused:
        assert case.refused_at_receipt, f"{case.name}: refused at receipt: {refused}"
        return [{"message": str(refused), "row": None}], time.perf_counter() - started
    assert not case.refused_at_receipt, f"{case.name}: kept, though it should be refused"
    upload = process_upload(upload_id=received.upload.pk)
    seconds = time.perf_counter() - started
    assert upload.status == UploadStatus.INVALID, (case.name, upload.status, upload.failure_reason)
    assert upload.errors, case.name
    assert AuditEvent.objects.filter(action="upload.rejected", object_id=str(upload.pk)).exists()
    return upload.errors, seconds


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file_is_refused_quickly_with_its_reason(case, methodologies, settings):
    for name, value in case.settings.items():
        setattr(settings, name, value)
    problems, seconds = refuse(case)
    assert any(case.expect in p["message"] for p in problems), (case.name, problems[:3])
    assert seconds < SECONDS, f"{case.name}: {seconds:.2f} s"
    assert not MetricValue.objects.exists()
    # The list a person reads stays short, whatever the file: the first problems of each
    # kind, with the count of the rest.
    assert len(problems) <= 1_000
    assert all(len(p["message"]) < 2_000 for p in problems)


def test_an_excel_serial_date_in_a_workbook_is_a_date(methodologies):
    from .corpus import GOOD, T, workbook

    content = workbook([[*T, "reporting_date"], [*GOOD, 45838]])
    received = receive_upload(content=content, filename="s.xlsx", actor="t", enqueue=False)
    upload = process_upload(upload_id=received.upload.pk)
    assert upload.status == UploadStatus.DONE, upload.errors
    value = MetricValue.objects.get(upload=upload)
    assert str(value.reporting_date) == "2025-06-30"
    assert value.reporting_period_text == ""


def test_periods_written_as_text_are_kept_as_text(methodologies):
    from .corpus import GOOD_LINE, T, template

    for number, text in enumerate(("Jun-25", "Month 12 2025/26", "Q4 2024-25", "2024/25")):
        line = GOOD_LINE.replace("4.8", f"4.{number}")
        content = template(line + "," + text, header=",".join(T) + ",reporting_date")
        received = receive_upload(content=content, filename="p.csv", actor="t", enqueue=False)
        upload = process_upload(upload_id=received.upload.pk)
        assert upload.status == UploadStatus.DONE, upload.errors
        assert MetricValue.objects.get(upload=upload).reporting_period_text == text

"""NHS England's league-table file: detected from its header (both releases), stored as
NHS England's published results beside ours, never changing our results, and every bad
cell named with its row, column and what was expected."""

from __future__ import annotations

import pathlib

import pytest
from django.contrib.auth import get_user_model

from oversight.exports import NHSE_TRUST_TYPE
from oversight.metric_ids import (
    PUBLISHED_AVERAGE_HIGH_ID,
    PUBLISHED_AVERAGE_LOW_ID,
    PUBLISHED_DEFICIT_ID,
    PUBLISHED_RANK_HIGH_ID,
    PUBLISHED_RANK_ID,
    PUBLISHED_RANK_LOW_ID,
)
from oversight.models import (
    InputKind,
    MetricValue,
    OrganisationAssessment,
    ReportingPeriod,
    SegmentationRun,
    UploadStatus,
)
from oversight.runs import publish_run
from oversight.uploads.league import LEAGUE_COLUMNS
from oversight.uploads.selectors import reconciliation
from oversight.uploads.services import process_upload, receive_upload
from systems.models import Organisation, Role
from systems.services import grant_role

from .files import csv_bytes

PUBLISHED = (
    pathlib.Path(__file__).resolve().parent.parent
    / "data"
    / "nhse"
    / "nof-mental-health-and-community-trust-data-q1-q2-2025-26.csv"
)
# Real mental health and community trusts of the published file; synthetic results.
CODES = ["R1A", "R1D", "R1L", "RAT", "RGD", "RHA", "RJ8", "RKL", "RLY", "RMY"]


def league_row(org: Organisation, i: int, quarter: str = "Q2 2025/26") -> list:
    average = 1.85 + 0.15 * i
    segment = 1 if average <= 2.05 else 2 if average <= 2.35 else 3 if average <= 2.65 else 4
    return [
        quarter,
        org.region.short_name,
        NHSE_TRUST_TYPE[org.peer_group],
        "Mental Health and Learning Disability",
        org.code,
        org.name,
        f"{average:.2f}",
        f"{average - 0.25:.2f} to {average + 0.3:.2f}",
        str(segment),
        "Yes" if i % 3 == 0 else "No",
        str(i + 1),
        f"{max(1, i - 2)} to {i + 4}",
    ]


def league_file(first_column: str = "Quarter", rows: list[list] | None = None) -> bytes:
    """A synthetic league table for real trust codes; NHS England's two header releases
    differ only in the first column's name."""
    if rows is None:
        orgs = Organisation.objects.select_related("region").in_bulk(CODES, field_name="code")
        rows = [league_row(orgs[code], i) for i, code in enumerate(CODES)]
    return csv_bytes([first_column, *LEAGUE_COLUMNS[1:]], rows)


def upload(content: bytes, filename: str):
    received = receive_upload(content=content, filename=filename, actor="analyst")
    assert received.created, received.message
    return process_upload(upload_id=received.upload.pk)


def ours(period: ReportingPeriod) -> list[tuple]:
    return list(
        OrganisationAssessment.objects.filter(run=period.current_run)
        .order_by("organisation_id")
        .values_list("organisation_id", "average_score", "adjusted_segment", "league_rank")
    )


@pytest.fixture
def segmented(q1, q2):
    """Our own results for Q2 2025/26, from NHS England's published data file."""
    data = upload(PUBLISHED.read_bytes(), PUBLISHED.name)
    assert data.status == UploadStatus.DONE
    for run in data.runs.all():
        publish_run(run=run, actor="national", reason="NHS England's published data file")
    return ReportingPeriod.objects.get(pk=q2.pk)


def test_a_league_table_is_stored_as_published_and_never_changes_our_results(segmented, client):
    runs, before = SegmentationRun.objects.count(), ours(segmented)
    u = upload(league_file(), "nof-league-table-q2-2025-26.csv")
    assert u.status == UploadStatus.DONE, u.errors[:3]
    assert u.detected_format == "league" and u.errors == []
    assert "our results are unchanged" in u.stage_detail
    assert u.summary["by_kind"] == {"published": 10 * 8}
    # Nothing recomputed; our results exactly as they were.
    assert SegmentationRun.objects.count() == runs and not u.runs.exists()
    segmented.refresh_from_db()
    assert ours(segmented) == before

    rha = {
        v.metric_id: v.value
        for v in MetricValue.objects.current().filter(
            period=segmented, organisation__code="RHA", upload=u
        )
    }
    assert set(MetricValue.objects.filter(upload=u).values_list("kind", flat=True)) == {
        InputKind.PUBLISHED
    }
    assert rha == {
        "OF5002": 2.6,
        PUBLISHED_AVERAGE_LOW_ID: 2.35,
        PUBLISHED_AVERAGE_HIGH_ID: 2.9,
        "OF5000": 3,
        PUBLISHED_DEFICIT_ID: 0,
        PUBLISHED_RANK_ID: 6,
        PUBLISHED_RANK_LOW_ID: 3,
        PUBLISHED_RANK_HIGH_ID: 9,
    }

    table = reconciliation(segmented)
    row = next(r for r in table.rows if r.code == "RHA")
    cells = {label: (mine, theirs) for label, mine, theirs, _ in row.cells}
    assert cells["Average score"][1] == "2.60"
    assert cells["Adjusted segment"][1] == 3
    assert cells["League-table rank"][1] == 6
    assert cells["Likely range of average score"][1] == "2.35 to 2.90"
    assert cells["Likely range of rank"][1] == "3 to 9"
    assert cells["Financial override (in deficit)"][1] == "No"
    mine = OrganisationAssessment.objects.get(run=segmented.current_run, organisation__code="RHA")
    assert cells["Average score"][0] == f"{mine.average_score:.2f}"
    assert cells["Likely range of rank"][0] == (f"{mine.rank_range_low} to {mine.rank_range_high}")

    user = get_user_model().objects.create_user("national", password="x")
    grant_role(user=user, role=Role.NATIONAL, actor="test")
    client.force_login(user)
    html = client.get(f"/reconciliation/?period={segmented.slug}").content.decode()
    assert "Likely range of rank" in html and "2.35 to 2.90" in html
    exported = client.get(f"/reconciliation/?period={segmented.slug}&format=csv").content
    assert b"published_average_range" in exported and b"2.35 to 2.90" in exported


def test_the_later_release_headed_reporting_date_is_the_same_table(segmented):
    first = upload(league_file("Quarter"), "league.csv")
    later = upload(league_file("Reporting_date"), "league-reissued.csv")
    assert later.status == UploadStatus.DONE, later.errors[:3]
    assert later.detected_format == "league"
    # The same results again: nothing new, nothing duplicated.
    assert (later.summary["created"], later.summary["superseded"]) == (0, 0)
    assert later.summary["unchanged"] == first.summary["rows"] == 80
    assert MetricValue.objects.current().filter(metric_id=PUBLISHED_RANK_LOW_ID).count() == 10


BAD_CELLS = [
    # (column, bad value, what the message says is expected)
    ("Average_score", "abc", "Expected a number from 1 to 4, such as 2.35."),
    ("Average_score", "4.5", "Expected a number from 1 to 4, such as 2.35."),
    (
        "Likely_range_of_average_score",
        "2.10 - 2.60",
        "Expected two scores from 1 to 4 written 'low to high', such as '2.10 to 2.60'.",
    ),
    ("Segment", "5", "Expected a segment: a whole number from 1 to 4."),
    ("Segment", "2.5", "Expected a segment: a whole number from 1 to 4."),
    ("Trust_in_financial_deficit", "Maybe", "Expected Yes or No."),
    ("Rank", "0", "Expected a rank: a whole number from 1."),
    (
        "Likely_range_of_rank",
        "9 to 3",
        "Expected two ranks written 'low to high', such as '3 to 12'.",
    ),
    ("Trust_code", "ZZZ99", "Unknown organisation code"),
    ("Quarter", "Q2 2031/32", "This period does not exist here"),
]


@pytest.mark.parametrize(
    "column, bad, expected", BAD_CELLS, ids=[f"{c}={b}" for c, b, _ in BAD_CELLS]
)
def test_every_bad_cell_is_named_and_nothing_is_stored(q2, column, bad, expected):
    orgs = Organisation.objects.select_related("region").in_bulk(CODES[:3], field_name="code")
    rows = [league_row(orgs[code], i) for i, code in enumerate(CODES[:3])]
    rows[1][LEAGUE_COLUMNS.index(column)] = bad
    u = upload(league_file(rows=rows), "bad-league.csv")
    assert u.status == UploadStatus.INVALID
    assert [(e["row"], e["column"], e["value"]) for e in u.errors] == [(3, column, bad)]
    assert u.errors[0]["message"].startswith(expected), u.errors[0]["message"]
    assert not MetricValue.objects.exists()


def test_a_trust_twice_in_a_quarter_with_different_results_is_refused(q2):
    org = Organisation.objects.select_related("region").get(code="RHA")
    same, other = league_row(org, 1), league_row(org, 2)
    u = upload(league_file(rows=[same, list(same), other]), "dup.csv")
    assert u.status == UploadStatus.INVALID
    assert [(e["row"], e["column"]) for e in u.errors] == [(4, "Trust_code")]
    assert "Duplicate of row 2" in u.errors[0]["message"]


def test_a_league_table_without_its_quarter_says_so_and_blank_cells_are_said(q2):
    org = Organisation.objects.select_related("region").get(code="RHA")
    row = league_row(org, 1)
    without = csv_bytes(LEAGUE_COLUMNS[1:], [row[1:]])
    u = upload(without, "no-quarter.csv")
    assert u.status == UploadStatus.INVALID and u.detected_format == "league"
    assert [(e["row"], e["column"]) for e in u.errors] == [(2, "Quarter")]
    assert "needs its quarter" in u.errors[0]["message"]

    row[LEAGUE_COLUMNS.index("Likely_range_of_rank")] = ""
    u = upload(league_file(rows=[row]), "blank.csv")
    assert u.status == UploadStatus.DONE, u.errors
    assert u.summary["rows"] == 6  # no likely range of rank: nothing stored for it
    assert any("1 cells are blank" in w["message"] for w in u.warnings)


@pytest.mark.parametrize(
    "name",
    [
        "synthetic-league-table-mhc-q2-2025-26.csv",
        "synthetic-league-table-mhc-q2-2025-26-reporting-date.csv",
    ],
)
def test_the_synthetic_league_table_files_import_as_written(q2, name):
    u = upload((PUBLISHED.parent / name).read_bytes(), name)
    assert u.status == UploadStatus.DONE, u.errors[:3]
    assert u.detected_format == "league" and u.warnings == []
    assert u.summary["by_period"] == {"Q2 2025/26": 11 * 8}
    deficit = MetricValue.objects.current().get(
        organisation__code="R1D", metric_id=PUBLISHED_DEFICIT_ID
    )
    assert deficit.value == 1 and deficit.kind == InputKind.PUBLISHED
    assert not MetricValue.objects.filter(metric_id="OF5004").exists()

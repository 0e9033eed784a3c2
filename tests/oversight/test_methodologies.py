from decimal import Decimal

import pytest
import yaml
from django.core.management import CommandError, call_command

from core.dates import quarter_dates
from oversight.engine import MethodologyError
from oversight.engine.spec import METHODOLOGIES_DIR
from oversight.models import Methodology, MetricDefinition, ReportingPeriod, period_slug
from oversight.services import load_methodologies
from systems.models import AuditEvent

SECTION_5_SCORE_IDS = {
    # mental health and community (complete)
    "OF1005",
    "OF1041",
    "OF1035",
    "OF1057",
    "OF1063",
    "OF1016",
    "OF1061",
    "OF1067",
    "OF1082",
    "OF1084",
    "OF1079",
    "OF1081",
    "OF1080",
    "OF1086",
    # acute
    "OF1023",
    "OF1106",
    "OF1003",
    "OF1010",
    "OF1011",
    "OF1013",
    "OF1014",
    "OF1025",
    "OF1020",
    "OF1048",
    "OF1088",
    "OF1085",
    # ambulance
    "OF1017",
}


def test_load_creates_methodologies_and_periods(methodologies):
    assert sorted(methodologies.created) == ["nof-2025-26", "nof-2026-27"]
    assert ReportingPeriod.objects.count() == 8
    q4 = ReportingPeriod.objects.by_key("Q4 2025/26")
    assert (q4.slug, q4.label, q4.methodology.slug) == ("2025-26-q4", "Q4 2025/26", "nof-2025-26")
    assert (q4.start_date.isoformat(), q4.end_date.isoformat()) == ("2026-01-01", "2026-03-31")
    assert ReportingPeriod.objects.by_key("2026-27-q1").methodology.slug == "nof-2026-27"


def test_catalogue_holds_every_metric_of_section_5(methodologies):
    ids = set(
        MetricDefinition.objects.filter(methodology__slug="nof-2025-26").values_list(
            "score_id", flat=True
        )
    )
    assert ids >= SECTION_5_SCORE_IDS
    infection = MetricDefinition.objects.filter(
        methodology__slug="nof-2025-26", score_id__in=["OF1020", "OF1048", "OF1088"]
    )
    assert {round(m.weight, 4) for m in infection} == {0.3333}
    excluded = MetricDefinition.objects.filter(
        methodology__slug="nof-2025-26", included_in_average=False, contextual=False
    )
    assert set(excluded.values_list("score_id", flat=True)) == {"OF1079", "OF1081"}
    ucr = MetricDefinition.objects.get(methodology__slug="nof-2025-26", score_id="OF1057")
    assert ucr.params == {"floor": 70.0}


def test_2026_27_ships_with_thresholds_unset(methodologies):
    m = Methodology.objects.get(slug="nof-2026-27")
    assert m.segmentation_method == "fixed"
    assert m.thresholds is None
    assert "icb" in m.segmented_peer_groups


def test_load_is_idempotent_and_keeps_database_edits(methodologies):
    m = Methodology.objects.get(slug="nof-2025-26")
    m.min_metric_count = 5
    m.save()
    events = AuditEvent.objects.count()
    again = load_methodologies()
    assert sorted(again.unchanged) == ["nof-2025-26", "nof-2026-27"]
    assert again.periods_created == []
    assert Methodology.objects.get(slug="nof-2025-26").min_metric_count == 5
    assert AuditEvent.objects.count() == events


def test_newer_file_version_replaces(methodologies, tmp_path):
    for path in METHODOLOGIES_DIR.glob("nof-*.yaml"):
        document = yaml.safe_load(path.read_text())
        if document["slug"] == "nof-2026-27":
            document["version"] += 1
            document["segmentation"]["thresholds"] = [1.8, 2.3, 2.8]
        (tmp_path / path.name).write_text(yaml.safe_dump(document))
    (tmp_path / "periods.yaml").write_text((METHODOLOGIES_DIR / "periods.yaml").read_text())
    summary = load_methodologies(directory=tmp_path)
    assert summary.replaced == ["nof-2026-27"]
    m = Methodology.objects.get(slug="nof-2026-27")
    assert m.thresholds == (1.8, 2.3, 2.8)
    assert m.threshold_2 == Decimal("2.30")
    event = AuditEvent.objects.filter(action="methodology.replaced").get()
    assert event.before["segmentation"]["thresholds"] is None


def test_invalid_file_loads_nothing(reference_data, tmp_path):
    document = yaml.safe_load((METHODOLOGIES_DIR / "nof-2025-26.yaml").read_text())
    document["metrics"][0]["method"] = "guesswork"
    (tmp_path / "nof-2025-26.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(MethodologyError, match="guesswork"):
        load_methodologies(directory=tmp_path)
    assert Methodology.objects.count() == 0


def test_command_reports_invalid_file(reference_data, tmp_path):
    (tmp_path / "nof-2025-26.yaml").write_text("slug: nof-2025-26\nmetrics: []\n")
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_methodologies", directory=tmp_path)
    assert Methodology.objects.count() == 0


@pytest.mark.parametrize(
    ("key", "slug"),
    [("Q4 2025/26", "2025-26-q4"), ("2025-26-q4", "2025-26-q4"), (" Q1 2026/27 ", "2026-27-q1")],
)
def test_period_names(key, slug):
    assert period_slug(key) == slug


@pytest.mark.parametrize("key", ["Q5 2025/26", "2025/26 Q4", "q4", ""])
def test_bad_period_names(key):
    with pytest.raises(ValueError, match=r"expected e\.g\. 'Q4 2025/26'"):
        period_slug(key)


def test_quarter_dates():
    assert [d.isoformat() for d in quarter_dates(2025, 1)] == ["2025-04-01", "2025-06-30"]
    assert [d.isoformat() for d in quarter_dates(2025, 3)] == ["2025-10-01", "2025-12-31"]
    assert [d.isoformat() for d in quarter_dates(2025, 4)] == ["2026-01-01", "2026-03-31"]


def test_database_round_trip_keeps_the_whole_methodology(methodologies):
    """What the engine receives from the database equals the shipped file."""
    from oversight.engine import MethodologySpec, load_methodology_file

    for path in sorted(METHODOLOGIES_DIR.glob("nof-*.yaml")):
        shipped = load_methodology_file(path)
        stored = Methodology.objects.get(slug=shipped.slug)
        assert MethodologySpec.from_dict(stored.as_document()) == shipped, path.name
        assert stored.rounding == shipped.rounding == "half_up"

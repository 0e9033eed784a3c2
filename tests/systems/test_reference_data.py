import datetime
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from systems.models import (
    AuditEvent,
    IntegratedCareBoard,
    Organisation,
    Region,
    Succession,
    Trust,
)
from systems.reference_data import DATA_DIR, ReferenceDataError
from systems.services import load_reference_data


def counts() -> dict[str, int]:
    return {
        "regions": Region.objects.count(),
        "icbs": IntegratedCareBoard.objects.count(),
        "trusts": Trust.objects.count(),
        "successions": Succession.objects.count(),
    }


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_loads_every_organisation(reference_data):
    assert counts() == {"regions": 7, "icbs": 48, "trusts": 220, "successions": 28}
    assert reference_data.created == {"region": 7, "icb": 48, "trust": 220, "succession": 28}


def test_loading_twice_changes_nothing(reference_data):
    before = counts()
    events = AuditEvent.objects.count()
    second = load_reference_data()
    assert counts() == before
    assert not second.changed
    assert second.unchanged["trust"] == 220
    assert AuditEvent.objects.count() == events, "an unchanged reload records nothing"
    assert Organisation.objects.values("code").distinct().count() == 268


def test_first_load_is_audited(reference_data):
    event = AuditEvent.objects.get(action="reference_data.loaded")
    assert event.actor_label == "load_reference_data"
    assert event.after["created"]["trust"] == 220


def test_icb_counts_either_side_of_the_april_2026_mergers(reference_data):
    assert IntegratedCareBoard.objects.existing_on(datetime.date(2026, 3, 31)).count() == 42
    assert IntegratedCareBoard.objects.existing_on(datetime.date(2026, 4, 1)).count() == 36
    new = IntegratedCareBoard.objects.filter(open_date=datetime.date(2026, 4, 1))
    assert sorted(new.values_list("code", flat=True)) == [
        "D7T5G",
        "S0E4D",
        "S1Y5D",
        "S9B9J",
        "T6Y0W",
        "Z9B2Z",
    ]


def test_trust_fields(reference_data):
    rww = Trust.objects.get(code="RWW")
    assert rww.peer_group == "acute"
    ry2 = Trust.objects.get(code="RY2")
    assert ry2.close_date == datetime.date(2026, 4, 1)
    mh = Trust.objects.get(code="RHA")
    assert mh.peer_group == "mental-health-and-community"
    assert mh.subtype == "Mental Health and Learning Disability"
    assert mh.is_foundation_trust
    assert Trust.objects.filter(peer_group="ambulance").count() == 10
    moved = Trust.objects.get(code="RAL")  # North Central London → West and North London
    assert moved.icb_before_2026.code == "QMJ"
    assert moved.icb_from_2026.code == "Z9B2Z"
    assert moved.host_icb_on(datetime.date(2026, 3, 31)).code == "QMJ"
    assert moved.host_icb_on(datetime.date(2026, 4, 1)).code == "Z9B2Z"


def test_successions_recorded(reference_data):
    qhg = Succession.objects.get(predecessor__code="QHG")
    assert qhg.successor.code == "S1Y5D"
    assert qhg.date == datetime.date(2026, 4, 1)
    assert qhg.succession_type == "merger"
    assert Succession.objects.get(predecessor__code="RY2").successor.code == "RWW"
    assert set(
        Succession.objects.filter(predecessor__code="QNQ").values_list("successor__code", flat=True)
    ) == {"S0E4D", "S9B9J", "QRL"}


def test_command_prints_summary(db, capsys):
    call_command("load_reference_data")
    assert "created: 48 icb, 7 region, 28 succession, 220 trust" in capsys.readouterr().out
    call_command("load_reference_data")
    assert "nothing changed" in capsys.readouterr().out


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_malformed_trust_row_loads_nothing(db, data_copy):
    _rewrite(data_copy / "nhs_trusts.csv", "2017-10-01", "01/10/2017")
    with pytest.raises(ReferenceDataError) as excinfo:
        load_reference_data(directory=data_copy)
    message = str(excinfo.value)
    assert (
        "nhs_trusts.csv, row 3, column open_date: got '01/10/2017', expected a date as YYYY-MM-DD"
        in message
    )
    assert "nothing was loaded" in message
    assert counts() == {"regions": 0, "icbs": 0, "trusts": 0, "successions": 0}


def test_every_problem_is_reported_together(db, data_copy):
    _rewrite(data_copy / "nhs_trusts.csv", ",acute,", ",hospital,")
    _rewrite(data_copy / "icb_successions_2026-04-01.csv", "S1Y5D", "ZZZZZ")
    with pytest.raises(ReferenceDataError) as excinfo:
        load_reference_data(directory=data_copy)
    problems = excinfo.value.problems
    assert any("column trust_type: got 'hospital'" in p for p in problems)
    assert any(
        "icb_successions_2026-04-01.csv, row 2, column successor_icb_code: got 'ZZZZZ'" in p
        for p in problems
    )
    assert Organisation.objects.count() == 0


def test_missing_column_named(db, data_copy):
    _rewrite(data_copy / "nhs_england_regions.csv", "region_ons_code", "ons")
    with pytest.raises(ReferenceDataError, match=r"nhs_england_regions\.csv: missing column"):
        load_reference_data(directory=data_copy)
    assert Region.objects.count() == 0


def test_unknown_successor_refused(db, data_copy):
    _rewrite(data_copy / "nhs_trusts.csv", ",RWW,", ",RXX9,")
    with pytest.raises(ReferenceDataError, match="successor_ods_code: got 'RXX9'"):
        load_reference_data(directory=data_copy)


def test_wrong_encoding_reported(db, data_copy):
    path = data_copy / "nhs_england_regions.csv"
    path.write_bytes(path.read_bytes().replace(b"London", "Lond\u00f3n".encode("cp1252"), 1))
    with pytest.raises(ReferenceDataError, match="not valid UTF-8"):
        load_reference_data(directory=data_copy)


def test_failed_command_exits_with_error_and_loads_nothing(db, data_copy):
    _rewrite(data_copy / "nhs_trusts.csv", "true", "maybe")
    with pytest.raises(CommandError, match="expected true or false"):
        call_command("load_reference_data", directory=data_copy)
    assert Organisation.objects.count() == 0


def test_later_change_in_files_updates_in_place(reference_data, data_copy):
    _rewrite(
        data_copy / "nhs_trusts.csv",
        "Manchester University NHS Foundation Trust",
        "Manchester University NHS FT",
    )
    summary = load_reference_data(directory=data_copy)
    assert summary.updated == {"trust": 1}
    assert Trust.objects.get(code="R0A").name == "Manchester University NHS FT"
    assert Trust.objects.count() == 220

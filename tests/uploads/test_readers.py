"""Reading CSV: cells come back exactly as written, however the file is parsed."""

from __future__ import annotations

import pytest

from oversight.uploads import readers
from oversight.uploads.problems import FileRejected
from oversight.uploads.readers import read_table
from oversight.uploads.validation import HEADER_SETS, NHSE_COLUMNS, USED_COLUMNS

from .files import csv_bytes


def cells(raw, column: str) -> list[str]:
    return [str(v) for v in raw.frame[column]]


def test_cells_that_look_like_numbers_are_kept_as_written():
    content = csv_bytes(
        ["org_code", "metric_id", "period", "value"],
        [["007", "OF0082", "Q1 2025/26", "4.80"], ["10", "OF0082", "Q1 2025/26", "1e3"]],
    )
    raw = read_table(content, "m.csv", header_sets=HEADER_SETS, columns=USED_COLUMNS)
    assert cells(raw, "org_code") == ["007", "10"]
    assert cells(raw, "value") == ["4.80", "1e3"]
    assert list(raw.frame["_row"]) == [2, 3]


def test_a_column_of_only_true_and_false_is_kept_as_written():
    content = csv_bytes(
        ["org_code", "metric_id", "period", "value"],
        [["RHA", "OF5004", "Q1 2025/26", "TRUE"], ["RKL", "OF5004", "Q1 2025/26", "False"]],
    )
    raw = read_table(content, "m.csv", header_sets=HEADER_SETS, columns=USED_COLUMNS)
    assert cells(raw, "value") == ["TRUE", "False"]


def test_columns_not_used_are_not_kept_but_still_counted():
    line = dict.fromkeys(NHSE_COLUMNS, "x")
    content = csv_bytes(NHSE_COLUMNS, [list(line.values())])
    raw = read_table(content, "nof.csv", header_sets=HEADER_SETS, columns=USED_COLUMNS)
    assert raw.header == NHSE_COLUMNS
    assert set(raw.frame.columns) == (set(NHSE_COLUMNS) & USED_COLUMNS) | {"_row"}

    too_many = content + b"x," * len(NHSE_COLUMNS) + b"extra\r\n"
    with pytest.raises(FileRejected, match="Row 3 has 18 cells but the header has 17"):
        read_table(too_many, "nof.csv", header_sets=HEADER_SETS, columns=USED_COLUMNS)


def parsed_in_parts(monkeypatch, content: bytes):
    monkeypatch.setattr(readers, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(readers, "PARALLEL_THREADS", 2)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 7)
    return read_table(content, "m.csv", header_sets=HEADER_SETS, columns=USED_COLUMNS)


def test_a_large_file_read_in_parts_is_read_exactly_as_in_one_go(monkeypatch):
    rows = [
        [f"R{i:02d}", "OF0082", "Q1 2025/26", f"{i / 10:.2f}", "", f'a "note",\nover lines {i}']
        for i in range(60)
    ]
    content = csv_bytes(
        ["org_code", "metric_id", "period", "value", "reporting_date", "note"], rows
    )
    whole = read_table(content, "m.csv", header_sets=HEADER_SETS, columns=USED_COLUMNS)
    assert len(readers._line_ranges(content, readers.PARALLEL_PARTS)) == readers.PARALLEL_PARTS
    parts = parsed_in_parts(monkeypatch, content)
    for raw in (whole, parts):
        assert cells(raw, "org_code") == [r[0] for r in rows]
        assert cells(raw, "note") == [r[5] for r in rows]
        assert list(raw.frame["_row"]) == list(range(2, 62))


def test_a_bad_row_in_a_later_part_is_reported_with_its_line_in_the_file(monkeypatch):
    rows = [[f"R{i:02d}", "OF0082", "Q1 2025/26", "1"] for i in range(40)]
    content = csv_bytes(["org_code", "metric_id", "period", "value"], rows)
    content += b"RHA,OF0082,Q1 2025/26,6,8\r\n"
    with pytest.raises(FileRejected, match="Row 42 has 5 cells but the header has 4"):
        parsed_in_parts(monkeypatch, content)

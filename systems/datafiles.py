"""Reading the product's own data files (CSV, UTF-8): every problem is collected with its
file, row and column, so a broken file is reported whole and nothing is loaded. Pure: no
Django."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path


class CsvFile:
    """The non-blank rows of one CSV file, each with its line number; problems with the
    file or a row are appended to ``problems`` (shared by every file of one load)."""

    def __init__(self, path: Path, required: Iterable[str], problems: list[str]) -> None:
        self.filename = path.name
        self.problems = problems
        self.rows: list[tuple[int, dict[str, str]]] = []
        if not path.exists():
            problems.append(f"{self.filename}: file not found in {path.parent}")
            return
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                self._read(csv.DictReader(fh), list(required))
        except UnicodeDecodeError as exc:
            problems.append(f"{self.filename}: not valid UTF-8 ({exc.reason} at byte {exc.start})")
        except csv.Error as exc:
            problems.append(f"{self.filename}: not a readable CSV file ({exc})")

    def _read(self, reader: csv.DictReader, required: list[str]) -> None:
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            self.problems.append(
                f"{self.filename}: missing column(s) {', '.join(missing)}; "
                f"found {', '.join(header) or 'no header'}"
            )
            return
        for line_no, raw in enumerate(reader, start=2):
            if None in raw:
                self.problems.append(
                    f"{self.filename}, row {line_no}: more values than the "
                    f"{len(header)} columns of the header"
                )
                continue
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            if any(row.values()):
                self.rows.append((line_no, row))

    def error(self, line_no: int, column: str, value: str, expected: str) -> None:
        """A cell that is not what the column needs."""
        self.problems.append(
            f"{self.filename}, row {line_no}, column {column}: got {value!r}, expected {expected}"
        )

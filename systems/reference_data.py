"""Read and validate the organisation reference files (``systems/data/*.csv``).

Reading is separate from loading: every file is parsed and every row checked first, and
all problems are reported together (file, row, column, value, what was expected). Only a
clean set of files reaches the database.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .calendar import ICB_REORGANISATION_DATE
from .datafiles import CsvFile

DATA_DIR = Path(__file__).resolve().parent / "data"

REGIONS_FILE = "nhs_england_regions.csv"
REGION_SHORT_NAMES_FILE = "region_short_names.csv"
ICBS_BEFORE_FILE = "icbs_2022-07-01_to_2026-03-31.csv"
ICBS_FROM_FILE = "icbs_from_2026-04-01.csv"
ICB_SUCCESSIONS_FILE = "icb_successions_2026-04-01.csv"
TRUSTS_FILE = "nhs_trusts.csv"

ICB_ESTABLISHED = datetime.date(2022, 7, 1)

CODE_RE = re.compile(r"^[A-Z0-9]{3,5}$")
TRUST_TYPES = {"acute", "acute_specialist", "mental_health", "community", "ambulance"}
PEER_GROUP_BY_TRUST_TYPE = {
    "acute": "acute",
    "acute_specialist": "acute",
    "mental_health": "mental-health-and-community",
    "community": "mental-health-and-community",
    "ambulance": "ambulance",
}
SUCCESSION_TYPES = {"merger", "split", "acquisition"}


class ReferenceDataError(Exception):
    """The reference files are not loadable; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in the reference data; nothing was loaded:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class RegionRow:
    ods_code: str
    ons_code: str
    name: str
    short_name: str


@dataclass(frozen=True)
class ICBRow:
    code: str
    name: str
    region_code: str
    ons_code: str
    open_date: datetime.date
    close_date: datetime.date | None
    provenance: str


@dataclass(frozen=True)
class TrustRow:
    code: str
    name: str
    trust_type: str
    peer_group: str
    subtype: str
    eric_type: str
    type_source: str
    is_foundation_trust: bool
    region_code: str
    icb_before_2026: str
    icb_from_2026: str
    icb_from_2026_basis: str
    open_date: datetime.date | None
    close_date: datetime.date | None
    successor_code: str
    former_name: str
    name_source: str
    notes: str


@dataclass(frozen=True)
class SuccessionRow:
    predecessor: str
    successor: str
    date: datetime.date
    succession_type: str


@dataclass
class ReferenceData:
    regions: list[RegionRow] = field(default_factory=list)
    icbs: list[ICBRow] = field(default_factory=list)
    trusts: list[TrustRow] = field(default_factory=list)
    successions: list[SuccessionRow] = field(default_factory=list)


class _FileReader(CsvFile):
    """A reference file's rows, with the checks its columns need."""

    def __init__(
        self, directory: Path, filename: str, required: Iterable[str], problems: list[str]
    ):
        super().__init__(directory / filename, required, problems)

    def code(
        self, line_no: int, row: dict[str, str], column: str, *, blank_ok: bool = False
    ) -> str:
        value = row.get(column, "")
        if not value and blank_ok:
            return ""
        if not CODE_RE.match(value):
            self.error(line_no, column, value, "an ODS code of 3 to 5 capital letters or digits")
        return value

    def text(self, line_no: int, row: dict[str, str], column: str) -> str:
        value = row.get(column, "")
        if not value:
            self.error(line_no, column, value, "a non-empty value")
        return value

    def date(
        self, line_no: int, row: dict[str, str], column: str, *, blank_ok: bool = False
    ) -> datetime.date | None:
        value = row.get(column, "")
        if not value and blank_ok:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.error(line_no, column, value, "a date as YYYY-MM-DD")
            return None

    def boolean(self, line_no: int, row: dict[str, str], column: str) -> bool:
        value = row.get(column, "").lower()
        if value not in {"true", "false"}:
            self.error(line_no, column, row.get(column, ""), "true or false")
        return value == "true"

    def choice(self, line_no: int, row: dict[str, str], column: str, allowed: set[str]) -> str:
        value = row.get(column, "")
        if value not in allowed:
            self.error(line_no, column, value, "one of " + ", ".join(sorted(allowed)))
        return value


def _subtype(trust_type: str) -> str:
    return {
        "mental_health": "Mental Health and Learning Disability",
        "community": "Community",
        "acute_specialist": "Specialist",
    }.get(trust_type, "")


def read_reference_data(directory: Path = DATA_DIR) -> ReferenceData:
    """Parse and cross-check every reference file; raise :class:`ReferenceDataError`."""
    problems: list[str] = []
    data = ReferenceData()
    data.regions = _read_regions(directory, problems)
    region_codes = {r.ods_code for r in data.regions}
    icbs = _read_icbs_before_2026(directory, region_codes, problems)
    _read_icbs_from_2026(directory, region_codes, icbs, problems)
    data.icbs = list(icbs.values())
    data.successions = _read_icb_successions(directory, icbs, problems)
    trusts, trust_rows = _read_trusts(directory, region_codes, icbs, problems)
    data.successions.extend(_trust_successions(trusts, trust_rows))
    data.trusts = [t for _, t in trust_rows]

    if problems:
        raise ReferenceDataError(problems)
    return data


def _read_regions(directory: Path, problems: list[str]) -> list[RegionRow]:
    """Regions, each with its short name (its full name when none is given)."""
    short_names: dict[str, str] = {}
    shorts = _FileReader(
        directory, REGION_SHORT_NAMES_FILE, ["region_ods_code", "short_name"], problems
    )
    for line_no, row in shorts.rows:
        short_names[shorts.code(line_no, row, "region_ods_code")] = shorts.text(
            line_no, row, "short_name"
        )

    regions = _FileReader(
        directory, REGIONS_FILE, ["region_ods_code", "region_ons_code", "region_name"], problems
    )
    out: list[RegionRow] = []
    for line_no, row in regions.rows:
        code = regions.code(line_no, row, "region_ods_code")
        name = regions.text(line_no, row, "region_name")
        out.append(
            RegionRow(
                code,
                regions.text(line_no, row, "region_ons_code"),
                name,
                short_names.get(code, name),
            )
        )
    return out


def _region_code(
    reader: _FileReader, line_no: int, row: dict[str, str], region_codes: set[str]
) -> str:
    """The row's region_ods_code, which must be one of the regions file."""
    code = reader.code(line_no, row, "region_ods_code")
    if code and CODE_RE.match(code) and code not in region_codes:
        reader.error(line_no, "region_ods_code", code, f"a region code from {REGIONS_FILE}")
    return code


def _read_icbs_before_2026(
    directory: Path, region_codes: set[str], problems: list[str]
) -> dict[str, ICBRow]:
    """The ICBs of 2022 to 2026 by code, closed on 2026-04-01 when dissolved then."""
    before = _FileReader(
        directory,
        ICBS_BEFORE_FILE,
        ["icb_ods_code", "icb_ons_code", "icb_name", "region_ods_code", "status_after_2026-04-01"],
        problems,
    )
    icbs: dict[str, ICBRow] = {}
    for line_no, row in before.rows:
        code = before.code(line_no, row, "icb_ods_code")
        status = before.choice(
            line_no, row, "status_after_2026-04-01", {"continues", "dissolved (merged/split)"}
        )
        icbs[code] = ICBRow(
            code=code,
            name=before.text(line_no, row, "icb_name"),
            region_code=_region_code(before, line_no, row, region_codes),
            ons_code=row.get("icb_ons_code", ""),
            open_date=ICB_ESTABLISHED,
            close_date=ICB_REORGANISATION_DATE if status.startswith("dissolved") else None,
            provenance="ICB 2022 to 2026 (ODS)",
        )
    return icbs


def _read_icbs_from_2026(
    directory: Path, region_codes: set[str], icbs: dict[str, ICBRow], problems: list[str]
) -> None:
    """Add the ICBs from 2026-04-01 to ``icbs``: a continuing ICB keeps its opening date
    and ONS code and takes the new name, region and provenance."""
    after = _FileReader(
        directory,
        ICBS_FROM_FILE,
        ["icb_ods_code", "icb_name", "region_ods_code", "established", "provenance"],
        problems,
    )
    for line_no, row in after.rows:
        code = after.code(line_no, row, "icb_ods_code")
        established = after.date(line_no, row, "established")
        region_code = _region_code(after, line_no, row, region_codes)
        previous = icbs.get(code)
        if previous is not None and previous.close_date is not None:
            after.error(line_no, "icb_ods_code", code, "an ICB that continues after 2026-04-01")
        icbs[code] = ICBRow(
            code=code,
            name=after.text(line_no, row, "icb_name"),
            region_code=region_code,
            ons_code="" if previous is None else previous.ons_code,
            open_date=(established or ICB_REORGANISATION_DATE)
            if previous is None
            else previous.open_date,
            close_date=None,
            provenance=row.get("provenance", ""),
        )


def _read_icb_successions(
    directory: Path, icbs: dict[str, ICBRow], problems: list[str]
) -> list[SuccessionRow]:
    successions = _FileReader(
        directory,
        ICB_SUCCESSIONS_FILE,
        ["predecessor_icb_code", "successor_icb_code", "succession_date", "succession_type"],
        problems,
    )
    out: list[SuccessionRow] = []
    for line_no, row in successions.rows:
        pred = successions.code(line_no, row, "predecessor_icb_code")
        succ = successions.code(line_no, row, "successor_icb_code")
        for column, code in (("predecessor_icb_code", pred), ("successor_icb_code", succ)):
            if CODE_RE.match(code) and code not in icbs:
                successions.error(line_no, column, code, "an ICB code from the ICB files")
        when = successions.date(line_no, row, "succession_date")
        kind = successions.choice(line_no, row, "succession_type", SUCCESSION_TYPES)
        if when:
            out.append(SuccessionRow(pred, succ, when, kind))
    return out


def _read_trusts(
    directory: Path, region_codes: set[str], icbs: dict[str, ICBRow], problems: list[str]
) -> tuple[_FileReader, list[tuple[int, TrustRow]]]:
    """The trusts file's reader (for later cross-checks) and its rows with line numbers."""
    trusts = _FileReader(
        directory,
        TRUSTS_FILE,
        [
            "ods_code",
            "name",
            "trust_type",
            "is_foundation_trust",
            "region_ods_code",
            "icb_ods_code_2022_2026",
            "icb_ods_code_from_2026_04",
            "open_date",
            "close_date",
            "successor_ods_code",
        ],
        problems,
    )
    seen: dict[str, int] = {}
    trust_rows: list[tuple[int, TrustRow]] = []
    for line_no, row in trusts.rows:
        code = trusts.code(line_no, row, "ods_code")
        if code in seen:
            trusts.error(line_no, "ods_code", code, f"a code not already used on row {seen[code]}")
        seen[code] = line_no
        trust_rows.append((line_no, _trust_row(trusts, line_no, row, code, region_codes, icbs)))
    return trusts, trust_rows


def _trust_row(
    trusts: _FileReader,
    line_no: int,
    row: dict[str, str],
    code: str,
    region_codes: set[str],
    icbs: dict[str, ICBRow],
) -> TrustRow:
    trust_type = trusts.choice(line_no, row, "trust_type", TRUST_TYPES)
    icb_codes = {}
    for column in ("icb_ods_code_2022_2026", "icb_ods_code_from_2026_04"):
        value = trusts.code(line_no, row, column, blank_ok=True)
        if value and CODE_RE.match(value) and value not in icbs:
            trusts.error(line_no, column, value, "an ICB code from the ICB files")
        icb_codes[column] = value
    open_date = trusts.date(line_no, row, "open_date", blank_ok=True)
    close_date = trusts.date(line_no, row, "close_date", blank_ok=True)
    if open_date and close_date and close_date <= open_date:
        trusts.error(
            line_no, "close_date", row["close_date"], f"a date after open_date {open_date}"
        )
    return TrustRow(
        code=code,
        name=trusts.text(line_no, row, "name"),
        trust_type=trust_type,
        peer_group=PEER_GROUP_BY_TRUST_TYPE.get(trust_type, ""),
        subtype=_subtype(trust_type),
        eric_type=row.get("eric_2016_17_type", ""),
        type_source=row.get("type_source", ""),
        is_foundation_trust=trusts.boolean(line_no, row, "is_foundation_trust"),
        region_code=_region_code(trusts, line_no, row, region_codes),
        icb_before_2026=icb_codes["icb_ods_code_2022_2026"],
        icb_from_2026=icb_codes["icb_ods_code_from_2026_04"],
        icb_from_2026_basis=row.get("icb_from_2026_04_basis", ""),
        open_date=open_date,
        close_date=close_date,
        successor_code=trusts.code(line_no, row, "successor_ods_code", blank_ok=True),
        former_name=row.get("former_name", ""),
        name_source=row.get("name_source", ""),
        notes=row.get("notes", ""),
    )


def _trust_successions(
    trusts: _FileReader, trust_rows: list[tuple[int, TrustRow]]
) -> list[SuccessionRow]:
    """Successions implied by the trusts' successor codes, which must name a known trust
    and come with a close date."""
    by_code = {t.code: t for _, t in trust_rows}
    out: list[SuccessionRow] = []
    for line_no, trust in trust_rows:
        if not trust.successor_code:
            continue
        successor = by_code.get(trust.successor_code)
        if successor is None:
            trusts.error(
                line_no,
                "successor_ods_code",
                trust.successor_code,
                f"a trust code from {TRUSTS_FILE}",
            )
            continue
        if trust.close_date is None:
            trusts.error(
                line_no, "close_date", "", "a close date, because the trust has a successor"
            )
            continue
        # A successor opened on the day the predecessor closed is a new organisation
        # formed from it (merger); otherwise an existing trust took it over.
        kind = "merger" if successor.open_date == trust.close_date else "acquisition"
        out.append(SuccessionRow(trust.code, successor.code, trust.close_date, kind))
    return out

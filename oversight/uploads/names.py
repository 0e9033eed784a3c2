"""Warnings for the names and regions a file gives that differ from the reference data.

Pure pandas, like the checks (:mod:`.checks`) whose coded rows it reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import Rows, _strip
from .problems import Problem


def reference_warnings(rows: Rows, filename: str) -> list[Problem]:
    """Names and regions that differ from the reference data (one warning per code)."""
    warnings: list[Problem] = []
    columns, raw = rows.columns, rows.raw
    if "name" not in columns:
        return warnings
    known = np.flatnonzero(rows.known_org)
    firsts = known[~pd.Series(rows.org_code.codes[known]).duplicated().to_numpy()]
    names = raw[columns["name"]].iloc[firsts].to_numpy(dtype=object)
    regions = raw[columns["region"]].iloc[firsts].to_numpy(dtype=object)
    orgs = rows.reference.organisations
    for code, name, region, row in zip(
        rows.org_code.values(firsts), names, regions, rows.row_numbers[firsts], strict=True
    ):
        name, region = _strip(name), _strip(region)
        expected = orgs.at[code, "name"]
        if name and _fold(name) != _fold(expected):
            warnings.append(
                Problem(
                    f"{code}: the file's name '{name}' differs from the reference name "
                    f"'{expected}'; the reference organisation is used.",
                    row=int(row),
                    column=columns["name"],
                    value=name,
                    severity="warning",
                    file=filename,
                )
            )
        expected_region = orgs.at[code, "region"]
        if region and expected_region and _fold(region) != _fold(expected_region):
            warnings.append(
                Problem(
                    f"{code}: the file's region '{region}' differs from the reference region "
                    f"'{expected_region}'.",
                    row=int(row),
                    column=columns["region"],
                    value=region,
                    severity="warning",
                    file=filename,
                )
            )
    return warnings


def _fold(text: str) -> str:
    return " ".join(str(text).lower().replace("&", "and").split())

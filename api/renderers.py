"""``?format=csv`` for every list."""

from __future__ import annotations

import csv
import io
from typing import Any

from rest_framework import renderers


def _flat_row(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(_flat_row(value, f"{name}."))
        elif isinstance(value, list):
            row[name] = "; ".join(
                str(v) if not isinstance(v, dict) else ", ".join(f"{k}={x}" for k, x in v.items())
                for v in value
            )
        else:
            row[name] = "" if value is None else value
    return row


def _safe_cell(value: Any) -> Any:
    """Cells that a spreadsheet would run as a formula are quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class CSVRenderer(renderers.BaseRenderer):
    """``?format=csv``: the page's results as CSV, nested fields as ``a.b`` columns."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, dict) and "results" in data:
            records = data["results"]
        elif isinstance(data, dict) and "errors" in data:
            records = data["errors"]
        elif isinstance(data, list):
            records = data
        else:
            records = [data]
        rows = [_flat_row(r) if isinstance(r, dict) else {"value": r} for r in records]
        columns: list[str] = []
        for row in rows:
            columns.extend(c for c in row if c not in columns)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _safe_cell(v) for k, v in row.items()})
        return out.getvalue().encode("utf-8")

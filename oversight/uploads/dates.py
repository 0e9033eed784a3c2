"""Reporting dates as written in metric files: which are dates, which are periods written
as text, and which are mistakes to report (nothing is guessed)."""

from __future__ import annotations

import datetime
import re

REPORTING_TEXT_CHARS = 60  # the stored text's length
DATE_SHAPED = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T].*)?$")
SERIAL = re.compile(r"^\d{5}(?:\.0+)?$")
DATE_FORMS = (
    "write a date as YYYY-MM-DD (2025-06-30) or DD/MM/YYYY (30/06/2025), or a period as "
    "text (Jun-25, Q1 2025/26, Month 12 2025/26)"
)
EXCEL_EPOCH = datetime.date(1899, 12, 30)


def reporting_date(text: str, *, workbook: bool) -> datetime.date | str | None:
    """A date, an error message, or ``None`` (text kept as it is)."""
    if not text:
        return None
    if SERIAL.match(text):
        if workbook:
            return EXCEL_EPOCH + datetime.timedelta(days=int(float(text)))
        return f"'{text}' looks like an Excel date serial number; in CSV {DATE_FORMS}."
    date = parse_date(text)
    if date is not None:
        return date
    if DATE_SHAPED.match(text):
        return f"'{text}' is not a date that exists in either accepted order; {DATE_FORMS}."
    if len(text) > REPORTING_TEXT_CHARS:
        return (
            f"The reporting date is {len(text)} characters long; at most "
            f"{REPORTING_TEXT_CHARS} are kept. Shorten it."
        )
    return None


def parse_date(text: str) -> datetime.date | None:
    """A date from ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (a time part is ignored); else None."""
    head = text.split("T")[0].split(" ")[0]
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    return None

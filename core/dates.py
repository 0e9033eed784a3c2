"""Financial years and quarters, as the NHS counts them (1 April to 31 March)."""

from __future__ import annotations

import datetime


def is_financial_year(text: str) -> bool:
    """``2025/26`` is; ``2025-26``, ``2025/27`` and ``25/26`` are not."""
    start = text[:4]
    return (
        len(text) == 7
        and start.isdigit()
        and text[4] == "/"
        and text[5:] == f"{(int(start) + 1) % 100:02d}"
    )


def financial_year_bounds(financial_year: str) -> tuple[datetime.date, datetime.date]:
    """``2025/26`` → 1 April 2025 and 31 March 2026."""
    start = int(financial_year[:4])
    return datetime.date(start, 4, 1), datetime.date(start + 1, 3, 31)


def quarter_dates(financial_year_start: int, quarter: int) -> tuple[datetime.date, datetime.date]:
    """The first and last day of quarter 1 to 4 of the financial year starting in April of
    ``financial_year_start``."""
    month = 4 + 3 * (quarter - 1)
    year = financial_year_start + (month - 1) // 12
    month = (month - 1) % 12 + 1
    start = datetime.date(year, month, 1)
    end_month = month + 2
    next_first = datetime.date(year + (end_month // 12), end_month % 12 + 1, 1)
    return start, next_first - datetime.timedelta(days=1)


def financial_year_of(day: datetime.date) -> str:
    """The financial year ``day`` falls in: 3 December 2026 → ``2026/27``."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"

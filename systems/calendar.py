"""Dates that shape the map of organisations (pure: no Django)."""

from __future__ import annotations

import datetime

# The day the ICB mergers took effect: a trust's host ICB is ``icb_before_2026`` before
# it and ``icb_from_2026`` from it. The only place the date is written.
ICB_REORGANISATION_DATE = datetime.date(2026, 4, 1)

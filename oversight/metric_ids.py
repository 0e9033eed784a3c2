"""Identifiers of inputs that are not metrics of a methodology's catalogue: NHS England's
flags and published results, and the CQC rating earned autonomy reads. Pure: imported by
the file checks, the run and the consequences alike."""

from __future__ import annotations

# The financial override flag and Provider Improvement Programme membership (NHS England).
OVERRIDE_FLAG_ID = "OF5004"
PROGRAMME_ID = "OF5007"
# A provider's CQC overall rating (for earned autonomy), in the template: the rating as the
# value and the date it was published as reporting_date. Never an input to the engine.
CQC_OVERALL_ID = "CQC_OVERALL"
# NHS England's own results, kept as published and never used as ours.
PUBLISHED_IDS = {
    "OF5000": ("adjusted segment", 1, 4),
    "OF5002": ("average metric score", 0, 4),
    "OF5003": ("unadjusted segment", 1, 4),
    "OF5005": ("final segment", 1, 5),
}
PUBLISHED_DOMAIN_RE = r"^OF4[01]\d\d$"
# The league-table rank NHS England publishes in the Rank column of the OF5000 (adjusted
# segment) row, kept as a published result under this id (checked against NHS England's
# published mental health and community file: segment first, then average, like ours).
PUBLISHED_RANK_ID = "NHSE_RANK"
# The rest of a row of NHS England's league-table file, kept as published results too: the
# likely ranges of the average score and of the rank, and the financial deficit flag as
# published (never our override flag: a league table never changes our results).
PUBLISHED_AVERAGE_LOW_ID = "NHSE_AVG_LOW"
PUBLISHED_AVERAGE_HIGH_ID = "NHSE_AVG_HIGH"
PUBLISHED_RANK_LOW_ID = "NHSE_RANK_LOW"
PUBLISHED_RANK_HIGH_ID = "NHSE_RANK_HIGH"
PUBLISHED_DEFICIT_ID = "NHSE_DEFICIT"
# Stored inputs that are not metrics of a methodology (read by earned autonomy instead).
NOT_ENGINE_INPUTS = frozenset({CQC_OVERALL_ID})

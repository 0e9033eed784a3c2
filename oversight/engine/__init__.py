"""The NHS Oversight Framework segmentation engine: pure pandas/NumPy, no Django.

Inputs (organisations, metric values, supplied scores, override flags, programme
membership) and a methodology in; metric scores, domain scores, segments, league tables
and likely ranges out. See ``docs/adr/0003-pure-segmentation-engine.md``.
"""

from .explain import boundary_distances, leverage, weighted_average
from .pipeline import (
    ASSESSMENT_COLUMNS,
    LEAGUE_COLUMNS,
    CutPoints,
    EngineInputs,
    EngineResult,
    run_engine,
)
from .rounding import round2
from .scoring import METRIC_SCORE_COLUMNS, SCORED_STATUSES, STATUSES
from .segmentation import quartile_cut_points, segment_of
from .spec import (
    METHODOLOGIES_DIR,
    MethodologyError,
    MethodologyNotReady,
    MethodologySpec,
    MetricSpec,
    builtin_methodology_path,
    load_methodology_file,
)

__all__ = [
    "ASSESSMENT_COLUMNS",
    "LEAGUE_COLUMNS",
    "METHODOLOGIES_DIR",
    "METRIC_SCORE_COLUMNS",
    "SCORED_STATUSES",
    "STATUSES",
    "CutPoints",
    "EngineInputs",
    "EngineResult",
    "MethodologyError",
    "MethodologyNotReady",
    "MethodologySpec",
    "MetricSpec",
    "boundary_distances",
    "builtin_methodology_path",
    "leverage",
    "load_methodology_file",
    "quartile_cut_points",
    "round2",
    "run_engine",
    "segment_of",
    "weighted_average",
]

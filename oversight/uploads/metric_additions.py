"""Adding a new year's metrics to a methodology from NHS England's data file.

:func:`add_metrics_from_file` reads the file (as an upload does), takes the definitions
of the metric ids the methodology's catalogue does not know (:mod:`.definitions`), checks
the methodology with them added, and installs them with an audit event (who, when, what,
why) in one transaction. The command ``add_metrics_from_file`` and the methodology's admin
page call it; the file itself is then uploaded as usual.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from core.errors import ApplicationError, require_reason
from systems import audit
from systems.actors import Actor

from ..engine import MethodologyError, MethodologySpec
from ..models import Methodology, MetricDefinition
from .definitions import new_metrics
from .problems import FileRejected, Problem
from .readers import read_table
from .selectors import reference_data
from .services import limits
from .validation import HEADER_SETS, NHSE, detect_format


class MetricsNotAdded(ApplicationError):
    """The file's new metrics cannot be added; ``problems`` says where and why."""

    field = "file"

    def __init__(
        self, message: str, problems: list[Problem] | None = None, *, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.problems = problems or []


@dataclass
class AddedMetrics:
    methodology: Methodology
    score_ids: list[str]
    value_ids: list[str]
    peer_groups: list[str]


def add_metrics_from_file(
    *,
    methodology: Methodology | str,
    content: bytes,
    filename: str,
    reason: str,
    actor: Actor,
) -> AddedMetrics:
    """Add the metrics of an NHS England data file that ``methodology`` does not know, as
    supplied-score metrics of the peer groups that carry them; refused whole, with every
    problem, when any definition is incomplete."""
    reason = require_reason(reason, "A reason is required to add metrics.", MetricsNotAdded)
    if isinstance(methodology, str):
        try:
            methodology = Methodology.objects.get(slug=methodology)
        except Methodology.DoesNotExist:
            known = ", ".join(Methodology.objects.values_list("slug", flat=True)) or "none"
            raise MetricsNotAdded(
                f"No methodology '{methodology}'; the methodologies are: {known}."
            ) from None
    try:
        raw = read_table(content, filename, header_sets=HEADER_SETS, limits=limits())
        fmt = detect_format(raw.header, filename=filename)
    except FileRejected as rejected:
        raise _refused(filename, rejected.problems) from rejected
    if fmt.slug != NHSE:
        raise MetricsNotAdded(
            f"{filename} is in the {fmt.name} format; metrics are added from NHS England's "
            "NOF data file, whose rows carry each metric's description, domain and units."
        )
    found = new_metrics(
        raw.frame,
        reference_data(),
        methodology.slug,
        domains=list(methodology.domains),
        peer_groups=list(methodology.peer_groups),
        filename=filename,
    )
    if found.problems:
        raise _refused(filename, found.problems)
    if not found.definitions:
        raise MetricsNotAdded(
            f"Every metric id of {filename} is already in the {methodology.slug} catalogue; "
            "nothing was added."
        )
    with transaction.atomic():
        methodology = Methodology.objects.select_for_update().get(pk=methodology.pk)
        document = methodology.as_document()
        try:
            spec = MethodologySpec.from_dict(
                {**document, "metrics": [*document["metrics"], *found.definitions]}
            )
        except MethodologyError as exc:
            raise _refused(filename, [Problem(e, file=filename) for e in exc.errors]) from exc
        added = [m for m in spec.metrics if m.score_id in set(found.score_ids)]
        start = (methodology.metrics.aggregate(last=Max("position"))["last"] or 0) + 1
        MetricDefinition.objects.bulk_create(
            MetricDefinition.from_spec(m, methodology=methodology, position=start + i)
            for i, m in enumerate(added)
        )
        methodology.save(update_fields=["updated_at"])
        result = AddedMetrics(
            methodology=methodology,
            score_ids=[m.score_id for m in added],
            value_ids=[m.value_id for m in added if m.value_id],
            peer_groups=sorted({g for m in added for g in m.peer_groups}),
        )
        audit.record(
            actor=actor,
            action="methodology.metrics_added",
            obj=methodology,
            before={"metrics": len(document["metrics"])},
            after={
                "added": [m.to_dict() for m in added],
                "file": filename,
                "sha256": hashlib.sha256(content).hexdigest(),
            },
            reason=reason,
        )
    return result


def _refused(filename: str, problems: list[Problem]) -> MetricsNotAdded:
    lines = [
        ", ".join(
            part
            for part in (
                f"row {p.row}" if p.row else "",
                f"column {p.column}" if p.column else "",
            )
            if part
        )
        + (": " if p.row or p.column else "")
        + p.message
        for p in problems
    ]
    return MetricsNotAdded(
        f"No metrics were added from {filename}: " + " ".join(lines), problems=problems
    )

from django.core.management.base import BaseCommand, CommandError

from oversight.cut_points import format_cut_points
from oversight.engine import MethodologyNotReady
from oversight.runs import PublicationRefused, run_segmentation
from systems.actors import SystemActor

from ._common import get_period


class Command(BaseCommand):
    help = (
        "Segment a period now into a provisional run (or --publish it as the period's "
        "official results); prints a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="'Q4 2025/26' or '2025-26-q4'")
        parser.add_argument(
            "--replicates",
            type=int,
            default=None,
            help="Bootstrap replicates (default: the methodology's, usually 1000).",
        )
        parser.add_argument(
            "--if-changed",
            action="store_true",
            help="Do nothing when the inputs are unchanged since the newest run.",
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish the run as the period's official results and apply what follows.",
        )
        parser.add_argument(
            "--fresh-pools",
            action="store_true",
            help=(
                "Rank every organisation afresh, not against the published run's pools "
                "(with --publish, pools are always worked afresh)."
            ),
        )
        parser.add_argument(
            "--reason", default="", help="Why (needed to replace published results)."
        )

    def handle(
        self,
        *args,
        period: str,
        replicates,
        if_changed: bool,
        publish: bool,
        reason: str,
        fresh_pools: bool,
        **options,
    ):
        reporting_period = get_period(period)
        if replicates is not None and replicates < 0:
            raise CommandError("--replicates must be 0 or more")
        previous = reporting_period.latest_run_id
        try:
            run = run_segmentation(
                period=reporting_period,
                actor=SystemActor("manage.py segment"),
                trigger="command",
                replicates=replicates,
                only_if_changed=if_changed,
                publish=publish,
                reason=reason,
                fresh_pools=fresh_pools,
            )
        except (MethodologyNotReady, PublicationRefused) as exc:
            raise CommandError(str(exc)) from exc
        if if_changed and run.pk == previous:
            self.stdout.write(f"Inputs unchanged since run {run.pk}; nothing to do.")
            return
        counts = run.segment_counts
        segments = ", ".join(f"segment {k}: {v}" for k, v in counts.items() if k.isdigit())
        not_segmented = counts.get("not segmented", 0)
        self.stdout.write(
            f"Run {run.pk} completed for {reporting_period.label} ({run.methodology.slug}): "
            + (
                "published"
                if run.state == "published"
                else "provisional (publish it with manage.py publish_run)"
            )
        )
        if run.ranked_against_id:
            self.stdout.write(
                f"Ranks worked against the pools of published run {run.ranked_against_id}, "
                "held still (--fresh-pools works them afresh)."
            )
        self.stdout.write(
            f"Organisations segmented: {run.organisation_count - not_segmented} "
            f"(not segmented: {not_segmented})"
        )
        self.stdout.write(f"Segment counts: {segments or 'none'}")
        if run.cut_points:
            shown = format_cut_points((run.cut_point_1, run.cut_point_2, run.cut_point_3))
            self.stdout.write(f"Cut points ({run.cut_points_source}): {shown}")
        self.stdout.write(f"Time: {run.timings.get('total_ms', 0):.0f} ms")
        for warning in run.warnings:
            self.stderr.write(f"warning: {warning}")

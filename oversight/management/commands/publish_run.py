from django.core.management.base import BaseCommand, CommandError

from oversight.models import RunStatus, SegmentationRun
from oversight.runs import PublicationRefused, publish_run
from systems.actors import SystemActor

from ._common import get_period


class Command(BaseCommand):
    help = (
        "Publish a period's newest completed run (or --run N) as its official results, then "
        "apply what follows: freedoms, support, delegation conditions, notices."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="'Q4 2025/26' or '2025-26-q4'")
        parser.add_argument("--run", type=int, default=None, help="The run to publish.")
        parser.add_argument(
            "--reason", default="", help="Why (needed to replace published results)."
        )

    def handle(self, *args, period: str, run: int | None, reason: str, **options):
        reporting_period = get_period(period)
        runs = SegmentationRun.objects.filter(period=reporting_period, status=RunStatus.COMPLETED)
        chosen = runs.filter(pk=run).first() if run else runs.order_by("-created_at").first()
        if chosen is None:
            raise CommandError(
                f"No completed run {run} for {reporting_period.label}."
                if run
                else f"{reporting_period.label} has no completed run: segment it first."
            )
        try:
            published = publish_run(
                run=chosen, actor=SystemActor("manage.py publish_run"), reason=reason
            )
        except PublicationRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Published run {published.pk} as the official results of {reporting_period.label}."
        )

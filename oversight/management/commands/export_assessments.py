from django.core.management.base import BaseCommand, CommandError

from oversight.exports import write_assessments
from oversight.selectors import NoResults

from ._common import get_period


class Command(BaseCommand):
    help = "Write the period's current assessments as CSV, one row per organisation."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="'Q4 2025/26' or '2025-26-q4'")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, period: str, output: str | None, **options):
        reporting_period = get_period(period)
        try:
            if output:
                with open(output, "w", encoding="utf-8", newline="") as fh:
                    count = write_assessments(reporting_period, fh)
                self.stderr.write(f"Wrote {count} organisations to {output}")
            else:
                write_assessments(reporting_period, self.stdout)
        except NoResults as exc:
            raise CommandError(str(exc)) from exc

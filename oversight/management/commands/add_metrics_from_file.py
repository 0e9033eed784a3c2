from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oversight.uploads.metric_additions import MetricsNotAdded, add_metrics_from_file
from systems.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Add the metrics of an NHS England NOF data file that a methodology does not know, "
        "as supplied-score metrics (description, domain, sub-domain and units from the file)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="NHS England's NOF data file (CSV or .xlsx)")
        parser.add_argument("--methodology", required=True, help="e.g. nof-2026-27")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit log).")

    def handle(self, *args, file: str, methodology: str, reason: str, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            added = add_metrics_from_file(
                methodology=methodology,
                content=path.read_bytes(),
                filename=path.name,
                reason=reason,
                actor=SystemActor("manage.py add_metrics_from_file"),
            )
        except MetricsNotAdded as exc:
            for problem in exc.problems:
                where = ", ".join(
                    p for p in (f"row {problem.row}" if problem.row else "", problem.column) if p
                )
                self.stderr.write(f"{path.name}{', ' + where if where else ''}: {problem.message}")
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Added {len(added.score_ids)} supplied-score metrics to "
            f"{added.methodology.slug}: {', '.join(added.score_ids)}"
            + (
                f" (value ids stored, not scored: {', '.join(added.value_ids)})"
                if added.value_ids
                else ""
            )
            + f"; peer groups {', '.join(added.peer_groups)}. Upload the file again to import it."
        )

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oversight.engine import METHODOLOGIES_DIR, MethodologyError
from oversight.services import load_methodologies


class Command(BaseCommand):
    help = (
        "Install the methodology files (oversight/methodologies/nof-*.yaml) and reporting "
        "periods. Idempotent; a stored methodology is replaced only by a newer file version."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory",
            type=Path,
            default=METHODOLOGIES_DIR,
            help="Folder of methodology files and periods.yaml (default: the shipped ones).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace stored methodologies with the files even if not newer.",
        )

    def handle(self, *args, force: bool, directory: Path, **options):
        try:
            summary = load_methodologies(directory=directory, force=force)
        except MethodologyError as exc:
            raise CommandError(
                "Methodology files are invalid; nothing was loaded:\n"
                + "\n".join(f"  - {e}" for e in exc.errors)
            ) from exc
        for label, items in (
            ("created", summary.created),
            ("replaced", summary.replaced),
            ("unchanged", summary.unchanged),
            ("kept (database version is newer than the file)", summary.kept_newer),
            ("periods created", summary.periods_created),
        ):
            if items:
                self.stdout.write(f"{label}: {', '.join(items)}")

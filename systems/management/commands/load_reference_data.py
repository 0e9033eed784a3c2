from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from systems.reference_data import DATA_DIR, ReferenceDataError
from systems.services import load_reference_data


class Command(BaseCommand):
    help = (
        "Load NHS England regions, ICBs, trusts and successions from the reference CSVs "
        "(idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory",
            type=Path,
            default=DATA_DIR,
            help=f"Folder holding the reference CSV files (default: {DATA_DIR}).",
        )

    def handle(self, *args, directory: Path, **options):
        try:
            summary = load_reference_data(directory=directory)
        except ReferenceDataError as exc:
            raise CommandError(str(exc)) from exc
        for bucket, counts in summary.as_dict().items():
            if counts:
                parts = ", ".join(f"{n} {model}" for model, n in sorted(counts.items()))
                self.stdout.write(f"{bucket}: {parts}")
        if not summary.changed:
            self.stdout.write("Reference data already up to date; nothing changed.")

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight.cut_points import format_cut_points
from oversight.models import Methodology
from oversight.services import CutPointError, set_thresholds
from systems.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Set (or --clear) the fixed thresholds T1 T2 T3 of a methodology that segments by "
        "fixed thresholds, with a reason. They are kept exactly as given, to at most 4 "
        "decimal places, and apply from the next segmentation run of its periods."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--methodology", required=True, help="its slug, e.g. nof-2026-27")
        parser.add_argument("thresholds", nargs="*", help="T1 T2 T3, e.g. 2.05 2.325 2.62")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit log).")
        parser.add_argument("--clear", action="store_true", help="Unset the thresholds.")

    def handle(
        self, *args, methodology: str, thresholds: list[str], reason: str, clear: bool, **options
    ) -> None:
        found = Methodology.objects.filter(slug=methodology).first()
        if found is None:
            known = ", ".join(Methodology.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(
                f"No methodology '{methodology}'. Known methodologies: {known}. "
                "Methodologies are loaded by `manage.py load_methodologies`."
            )
        if clear and thresholds:
            raise CommandError("Give either --clear or three thresholds, not both.")
        try:
            updated = set_thresholds(
                methodology=found,
                thresholds=None if clear else thresholds,
                reason=reason,
                actor=SystemActor("manage.py set_thresholds"),
            )
        except CutPointError as exc:
            raise CommandError(str(exc)) from exc
        if clear:
            self.stdout.write(f"Unset the thresholds of {updated.slug}.")
            return
        shown = format_cut_points((updated.threshold_1, updated.threshold_2, updated.threshold_3))
        self.stdout.write(
            f"Set the thresholds of {updated.slug}: {shown}. "
            "They apply from the next segmentation run of its periods."
        )

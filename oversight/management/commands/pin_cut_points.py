from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight.cut_points import format_cut_points
from oversight.services import CutPointError, clear_cut_points, pin_cut_points
from systems.actors import SystemActor

from ._common import get_period


class Command(BaseCommand):
    help = (
        "Pin (or --clear) explicit segment cut points T1 T2 T3 for a period, with a reason. "
        "They are kept exactly as given, to at most 4 decimal places (e.g. 2.325)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="'Q4 2025/26' or '2025-26-q4'")
        parser.add_argument("cut_points", nargs="*", help="T1 T2 T3, e.g. 2.05 2.325 2.62")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit log).")
        parser.add_argument("--clear", action="store_true", help="Remove pinned cut points.")

    def handle(
        self, *args, period: str, cut_points: list[str], reason: str, clear: bool, **options
    ) -> None:
        reporting_period = get_period(period)
        actor = SystemActor("manage.py pin_cut_points")
        try:
            if clear:
                if cut_points:
                    raise CommandError("Give either --clear or three cut points, not both.")
                clear_cut_points(period=reporting_period, reason=reason, actor=actor)
                self.stdout.write(f"Cleared pinned cut points for {reporting_period.label}.")
                return
            updated = pin_cut_points(
                period=reporting_period, cut_points=cut_points, reason=reason, actor=actor
            )
        except CutPointError as exc:
            raise CommandError(str(exc)) from exc
        shown = format_cut_points((updated.pinned_t1, updated.pinned_t2, updated.pinned_t3))
        self.stdout.write(
            f"Pinned cut points for {updated.label}: {shown}. "
            "They apply from the next segmentation run."
        )

from django.core.management.base import BaseCommand, CommandError

from oversight.services import CutPointError, clear_cut_points, pin_cut_points
from systems.actors import SystemActor

from ._common import get_period


class Command(BaseCommand):
    help = "Pin (or --clear) explicit segment cut points T1 T2 T3 for a period, with a reason."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="'Q4 2025/26' or '2025-26-q4'")
        parser.add_argument("cut_points", nargs="*", help="T1 T2 T3, e.g. 2.00 2.35 2.70")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit log).")
        parser.add_argument("--clear", action="store_true", help="Remove pinned cut points.")

    def handle(
        self, *args, period: str, cut_points: list[str], reason: str, clear: bool, **options
    ):
        reporting_period = get_period(period)
        try:
            if clear:
                if cut_points:
                    raise CommandError("Give either --clear or three cut points, not both.")
                clear_cut_points(
                    period=reporting_period,
                    reason=reason,
                    actor=SystemActor("manage.py pin_cut_points"),
                )
                self.stdout.write(f"Cleared pinned cut points for {reporting_period.label}.")
                return
            if len(cut_points) != 3:
                raise CommandError(f"Expected three cut points T1 T2 T3; got {len(cut_points)}.")
            try:
                values = tuple(float(t) for t in cut_points)
            except ValueError as exc:
                raise CommandError(
                    f"Cut points must be numbers like 2.35; got {cut_points}."
                ) from exc
            updated = pin_cut_points(
                period=reporting_period,
                cut_points=values,
                reason=reason,
                actor=SystemActor("manage.py pin_cut_points"),
            )
        except CutPointError as exc:
            raise CommandError(str(exc)) from exc
        t1, t2, t3 = updated.pinned_cut_points
        self.stdout.write(
            f"Pinned cut points for {updated.label}: {t1:.2f}, {t2:.2f}, {t3:.2f}. "
            "They apply from the next segmentation run."
        )

import datetime

from django.core.management.base import BaseCommand, CommandError

from delegation.services import advance_agreements
from systems.actors import SystemActor


class Command(BaseCommand):
    help = "Bring signed agreements into force on their start date and end finished ones."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="YYYY-MM-DD (default today).")

    def handle(self, *args, today=None, **options):
        try:
            day = datetime.date.fromisoformat(today) if today else None
        except ValueError as exc:
            raise CommandError(f"--today must be YYYY-MM-DD, not {today!r}.") from exc
        done = advance_agreements(today=day, actor=SystemActor("manage.py advance_agreements"))
        self.stdout.write(
            f"{done['in_force']} agreement(s) came into force, {done['ended']} ended."
        )

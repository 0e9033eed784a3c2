from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from delegation.demo import load_demo_delegation


class Command(BaseCommand):
    help = (
        "Synthetic, clearly labelled delegation agreements, ICB segments, change requests and "
        "collaboration arrangements for the real ICBs (development only; idempotent)."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demonstration data is for development only (DEBUG is off).")
        done = load_demo_delegation()
        self.stdout.write(f"Delegation demo: {done['agreements']} agreement(s) recorded.")

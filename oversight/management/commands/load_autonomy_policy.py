from django.core.management.base import BaseCommand

from oversight.autonomy.policy import load_autonomy_policy
from systems.actors import SystemActor


class Command(BaseCommand):
    help = "Install the freedoms catalogue, support table and capability scale (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Replace even the same version.")

    def handle(self, *args, force: bool, **options):
        result = load_autonomy_policy(
            actor=SystemActor("manage.py load_autonomy_policy"), force=force
        )
        self.stdout.write(f"Autonomy policy {result}.")

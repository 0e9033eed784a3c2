from django.core.management.base import BaseCommand, CommandError

from delegation.services import DelegationDataError, load_delegation_data
from systems.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Install the specialised services catalogue, the delegation timeline by region, the "
        "condition rules and agreement templates from delegation/data and policy.yaml "
        "(idempotent; any problem in any file loads nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--services", help="A services CSV instead of the shipped one.")

    def handle(self, *args, services=None, **options):
        from pathlib import Path

        kwargs = {"services_path": Path(services)} if services else {}
        try:
            counts = load_delegation_data(
                actor=SystemActor("manage.py load_delegation_data"), **kwargs
            )
        except DelegationDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            "Delegation data: {services_created} service(s) added, {services_updated} changed, "
            "{timeline} timeline step(s), {rules} condition rule(s) installed.".format(**counts)
        )

import json

from django.core.management.base import BaseCommand, CommandError

from oversight.autonomy.errors import AutonomyError
from oversight.autonomy.policy import set_freedom_parameter
from oversight.models import Freedom
from systems.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Change one eligibility parameter of a freedom, e.g. "
        "--freedom aft-eligibility consecutive_periods 3 --reason '…'. Applies from the next run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--freedom", required=True)
        parser.add_argument("name")
        parser.add_argument("value", help='A JSON value: 3, true, ["Good"], "maturing"')
        parser.add_argument("--reason", required=True)

    def handle(self, *args, freedom: str, name: str, value: str, reason: str, **options):
        try:
            row = Freedom.objects.get(slug=freedom)
        except Freedom.DoesNotExist:
            known = ", ".join(Freedom.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No freedom '{freedom}'. Known: {known}.") from None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        try:
            set_freedom_parameter(
                freedom=row,
                name=name,
                value=parsed,
                reason=reason,
                actor=SystemActor("manage.py set_freedom_parameter"),
            )
        except AutonomyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{row.slug}: {name} = {parsed!r} (applies from the next run)")

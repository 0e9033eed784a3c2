import datetime

from django.core.management.base import BaseCommand, CommandError

from delegation.services import DelegationError, record_icb_segment
from systems.actors import SystemActor
from systems.models import IntegratedCareBoard


class Command(BaseCommand):
    help = (
        "Record an ICB's oversight segment (for periods whose methodology does not segment "
        "ICBs); the delegation spending condition follows at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("icb", help="The ICB's ODS code, e.g. QT1")
        parser.add_argument("segment", type=int)
        parser.add_argument("--source", required=True, help="Where the segment comes from.")
        parser.add_argument("--as-of", help="YYYY-MM-DD (default today).")
        parser.add_argument("--reason", default="")

    def handle(self, *args, icb, segment, source, as_of=None, reason="", **options):
        board = IntegratedCareBoard.objects.filter(code=icb).first()
        if board is None:
            raise CommandError(f"No ICB has the code {icb!r}.")
        try:
            day = datetime.date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {as_of!r}.") from exc
        try:
            record = record_icb_segment(
                actor=SystemActor("manage.py record_icb_segment"),
                icb=board,
                segment=segment,
                source=source,
                as_of=day,
                reason=reason,
            )
        except DelegationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Recorded {record}.")

from django.core.management.base import BaseCommand, CommandError

from oversight.exports import write_league_table_nhse
from oversight.selectors import NoResults
from systems.models import PeerGroup

from ._common import get_period


class Command(BaseCommand):
    help = "Write a peer group's league table for a period in NHS England's format."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="'Q4 2025/26' or '2025-26-q4'")
        parser.add_argument("--peer-group", required=True, help=", ".join(PeerGroup.values))
        parser.add_argument("--format", default="nhse", help="nhse (NHS England's columns)")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(
        self, *args, period: str, peer_group: str, format: str, output: str | None, **options
    ):
        reporting_period = get_period(period)
        if peer_group not in PeerGroup.values:
            raise CommandError(
                f"No peer group '{peer_group}'. Peer groups: {', '.join(PeerGroup.values)}."
            )
        if format != "nhse":
            raise CommandError(f"Unknown format '{format}'; the supported format is 'nhse'.")
        try:
            if output:
                # NHS England publishes its files as UTF-8 with a byte-order mark.
                with open(output, "w", encoding="utf-8-sig", newline="") as fh:
                    count = write_league_table_nhse(reporting_period, peer_group, fh)
                self.stderr.write(f"Wrote {count} trusts to {output}")
            else:
                write_league_table_nhse(reporting_period, peer_group, self.stdout)
        except NoResults as exc:
            raise CommandError(str(exc)) from exc

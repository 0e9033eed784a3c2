from django.core.management.base import BaseCommand, CommandError

from systems.actors import SystemActor
from systems.services import AccessError, create_api_token

from ._scope import add_scope_arguments, resolve_scope


class Command(BaseCommand):
    help = (
        "Create an API token for another system, read-only and scoped like --role "
        "(uploads too with --can-upload). The token is printed once; only its hash is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Who or what will use it.")
        add_scope_arguments(parser)
        parser.add_argument("--can-upload", action="store_true", help="Allow metric uploads.")
        parser.add_argument("--reason", default="", help="Why (kept in the audit log).")

    def handle(self, *args, name, role, region, icb, can_upload, reason, **options):
        found_region, found_icb = resolve_scope(region, icb)
        try:
            new = create_api_token(
                name=name,
                role=role,
                region=found_region,
                icb=found_icb,
                can_upload=can_upload,
                actor=SystemActor("create_api_token"),
                reason=reason,
            )
        except AccessError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"Created token {new.token.prefix} ({new.token.name}); store it now, it is not "
            "shown again:"
        )
        self.stdout.write(new.raw)

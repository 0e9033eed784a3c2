from django.core.management.base import BaseCommand, CommandError

from systems.actors import SystemActor
from systems.models import ApiToken
from systems.services import revoke_api_token


class Command(BaseCommand):
    help = "Revoke an API token by its prefix (it stops working at once)."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="The token's prefix, as listed in the admin or API.")
        parser.add_argument("--reason", default="", help="Why (kept in the audit log).")

    def handle(self, *args, prefix, reason, **options):
        token = ApiToken.objects.filter(prefix=prefix.removeprefix("nof_")).first()
        if token is None:
            raise CommandError(f"No token has the prefix '{prefix}'.")
        if token.revoked_at is not None:
            self.stdout.write(f"Token {token.prefix} was already revoked on {token.revoked_at}.")
            return
        revoke_api_token(token=token, actor=SystemActor("revoke_api_token"), reason=reason)
        self.stdout.write(f"Revoked token {token.prefix} ({token.name}).")

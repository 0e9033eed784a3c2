from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from systems.actors import SystemActor
from systems.models import RoleAssignment
from systems.services import AccessError, grant_role, revoke_role

from ._scope import add_scope_arguments, resolve_scope


class Command(BaseCommand):
    help = (
        "Give a user a role for a scope (national; regional with --region; ICB analyst with "
        "--icb), or take it away with --revoke. Recorded in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        add_scope_arguments(parser)
        parser.add_argument("--reason", default="", help="Why (kept in the audit log).")
        parser.add_argument("--revoke", action="store_true", help="End the role instead.")

    def handle(self, *args, username, role, region, icb, reason, revoke, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called '{username}'.")
        found_region, found_icb = resolve_scope(region, icb)
        if revoke:
            assignment = (
                RoleAssignment.objects.active()
                .filter(user=user, role=role, region=found_region, icb=found_icb)
                .first()
            )
            if assignment is None:
                raise CommandError(f"{username} does not hold that role for that scope.")
            revoke_role(assignment=assignment, actor=SystemActor("grant_role"), reason=reason)
            self.stdout.write(f"Revoked: {assignment}")
            return
        try:
            assignment = grant_role(
                user=user,
                role=role,
                region=found_region,
                icb=found_icb,
                actor=SystemActor("grant_role"),
                reason=reason,
            )
        except AccessError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Granted: {assignment}")

"""Demonstration sign-ins, one for each role, for ``make run``. Development only."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from systems.actors import SystemActor
from systems.models import IntegratedCareBoard, Region, Role
from systems.services import grant_role

# username, role, region ODS code, ICB ODS code (from April 2026), password
DEMO_USERS = [
    ("national", Role.NATIONAL, "", "", "national-demo"),
    ("midlands-director", Role.REGIONAL, "Y60", "", "regional-demo"),
    ("notts-analyst", Role.ICB_ANALYST, "", "QT1", "analyst-demo"),
]


class Command(BaseCommand):
    help = (
        "Create demonstration users for each role (national team, Midlands regional "
        "director, Nottingham and Nottinghamshire ICB analyst). Refused when DEBUG is off."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo users are for development only (DEBUG is off).")
        users = get_user_model()
        for username, role, region, icb, password in DEMO_USERS:
            user, created = users.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
            # The national team keeps methodologies, catalogues and tokens in the admin.
            user.is_staff = role == Role.NATIONAL
            user.save()
            scope = {}
            if region:
                scope["region"] = Region.objects.get(ods_code=region)
            if icb:
                scope["icb"] = IntegratedCareBoard.objects.get(code=icb)
            grant_role(
                user=user,
                role=role,
                actor=SystemActor("load_demo_users"),
                reason="Demonstration",
                **scope,
            )
            where = scope.get("region") or scope.get("icb") or "England"
            self.stdout.write(f"{username} / {password}: {role.label} ({where})")

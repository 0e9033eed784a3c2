from django.core.management import call_command
from django.core.management.base import BaseCommand

#: What ``make run`` loads into a migrated database, in order. Each step is idempotent.
DEMO_STEPS = (
    "load_reference_data",
    "load_methodologies",
    "load_autonomy_policy",
    "load_delegation_data",
    # The ICB segments, compacts and maturity come before the demo quarters are published,
    # so that publishing them tracks the commitments and proposes freedoms as in use.
    "load_demo_delegation",
    "load_demo_compacts",
    "load_demo_data",
    "load_demo_users",
)


class Command(BaseCommand):
    help = (
        "Load everything the demonstration needs into a migrated database: the real "
        "organisations, the shipped methodologies and policies, synthetic (clearly "
        "labelled) inputs and delegation records, and one sign-in per role. Idempotent."
    )

    def handle(self, *args, **options):
        for step in DEMO_STEPS:
            self.stdout.write(f"{step} …")
            call_command(step, stdout=self.stdout, stderr=self.stderr)

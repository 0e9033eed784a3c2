import datetime

from django.core.management.base import BaseCommand
from django.db import transaction

from oversight.demo import DEMO_SOURCE, demo_rows
from oversight.inputs import record_inputs
from oversight.models import ProgrammeMembership, ReportingPeriod
from oversight.runs import run_segmentation
from systems import audit
from systems.models import Organisation

DEMO_PERIODS = ["2025-26-q2", "2025-26-q3", "2025-26-q4"]
# Two real trusts placed in the Provider Improvement Programme for the demonstration.
DEMO_PROGRAMME = {"RWY": datetime.date(2025, 10, 1), "RAS": datetime.date(2026, 1, 1)}


class Command(BaseCommand):
    help = (
        "Record synthetic (clearly labelled) metric inputs for the real trusts for three "
        "quarters of 2025/26 and segment them. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--replicates", type=int, default=None)

    def handle(self, *args, replicates, **options):
        actor = "manage.py load_demo_data"
        with transaction.atomic():
            for code, entered in DEMO_PROGRAMME.items():
                organisation = Organisation.objects.filter(code=code).first()
                if organisation is None:
                    continue
                membership, created = ProgrammeMembership.objects.get_or_create(
                    organisation=organisation,
                    entered_on=entered,
                    defaults={
                        "entry_reason": "Synthetic demonstration: segment 4 with low capability",
                        "recorded_by_label": actor,
                    },
                )
                if created:
                    audit.record(
                        actor=actor,
                        action="programme.entered",
                        obj=membership,
                        reason=membership.entry_reason,
                    )
        for slug in DEMO_PERIODS:
            period = ReportingPeriod.objects.select_related("methodology", "current_run").get(
                slug=slug
            )
            summary = record_inputs(
                period=period,
                rows=demo_rows(period),
                source=DEMO_SOURCE,
                actor=actor,
                reason="Synthetic demonstration data",
            )
            run = run_segmentation(
                period=period,
                actor=actor,
                trigger="demo",
                replicates=replicates,
                only_if_changed=True,
                publish=True,
                reason="Synthetic demonstration data",
            )
            self.stdout.write(
                f"{period.label}: {summary.created} inputs recorded, {summary.unchanged} "
                f"unchanged; current run {run.pk} {run.segment_counts}"
            )

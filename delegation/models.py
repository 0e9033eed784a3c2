"""Delegated specialised services: the catalogue, delegation agreements, ICB segments, the
segment 3/4 spending-approval condition, commissioning change requests and collaboration
arrangements.

Every write goes through :mod:`delegation.services` (one transaction, one audit event);
these classes hold structure and the invariants the database can check itself.
See ``docs/adr/0012-delegated-specialised-services.md``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from systems.models import IntegratedCareBoard, Region


class ServiceStatus(models.TextChoices):
    DELEGABLE = "delegable", "Delegable to ICBs"
    RETAINED = "retained", "Retained by NHS England"


class Tranche(models.TextChoices):
    """The groups of services delegated together (their timelines are data)."""

    FIRST_59 = "2024", "The 59 services (joint committees from April 2023, delegated from 2024)"
    ADDED_11 = "2025", "The 11 services added in April 2025"


class SpecialisedService(models.Model):
    """A specialised service NHS England is accountable for. Retained services (every highly
    specialised one among them) can never appear in a delegation agreement."""

    name = models.CharField(max_length=200, unique=True)
    code = models.CharField(
        max_length=20, blank=True, help_text="NHS England's service code where known."
    )
    programme_of_care = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=ServiceStatus.choices)
    highly_specialised = models.BooleanField(default=False)
    tranche = models.CharField(max_length=4, choices=Tranche.choices, blank=True)
    source = models.CharField(max_length=300, blank=True)
    retired_on = models.DateField(null=True, blank=True)
    retired_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(highly_specialised=False) | Q(status=ServiceStatus.RETAINED),
                name="highly_specialised_services_are_retained",
            ),
            models.CheckConstraint(
                condition=(Q(status=ServiceStatus.DELEGABLE) & ~Q(tranche=""))
                | (Q(status=ServiceStatus.RETAINED) & Q(tranche="")),
                name="delegable_services_have_a_tranche",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="unique_service_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_delegable(self) -> bool:
        return self.status == ServiceStatus.DELEGABLE and self.retired_on is None


class Arrangement(models.TextChoices):
    JOINT_COMMITTEE = "joint_committee", "Statutory joint committee with NHS England"
    DELEGATED = "delegated", "Delegated to ICBs"


class DelegationTimeline(models.Model):
    """From ``starts_on`` the services of ``tranche`` are under ``arrangement`` in
    ``region`` (data: ``delegation/data/timeline.csv``)."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    tranche = models.CharField(max_length=4, choices=Tranche.choices)
    arrangement = models.CharField(max_length=16, choices=Arrangement.choices)
    starts_on = models.DateField()
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["region__name", "tranche", "starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "tranche", "arrangement"], name="one_timeline_step"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region}: {self.tranche} {self.arrangement} from {self.starts_on}"


class AgreementTemplate(models.Model):
    """A version of NHS England's national delegation agreement template."""

    version = models.CharField(max_length=40, unique=True)
    financial_year = models.CharField(max_length=7)
    published_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-financial_year", "version"]

    def __str__(self) -> str:
        return f"Delegation agreement template {self.version}"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"
    IN_FORCE = "in_force", "In force"
    ENDED = "ended", "Ended"


class DelegationAgreement(models.Model):
    """One ICB's delegation agreement for one financial year, from a template version."""

    icb = models.ForeignKey(
        IntegratedCareBoard, on_delete=models.PROTECT, related_name="delegation_agreements"
    )
    financial_year = models.CharField(max_length=7, help_text="e.g. 2025/26")
    template = models.ForeignKey(AgreementTemplate, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=8, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    signed_by_label = models.CharField(max_length=150, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    in_force_from = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    predecessors = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="successors",
        help_text="The agreements of ICBs that merged into this one.",
    )
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-financial_year", "icb__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["icb", "financial_year"], name="one_agreement_per_icb_and_year"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="agreement_dates_in_order"
            ),
            models.CheckConstraint(
                condition=Q(status=AgreementStatus.DRAFT) | Q(signed_on__isnull=False),
                name="agreement_past_draft_is_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.icb.name} delegation agreement {self.financial_year}"


class AgreementService(models.Model):
    """A service the agreement delegates, from ``effective_from`` (to ``effective_to``)."""

    agreement = models.ForeignKey(
        DelegationAgreement, on_delete=models.CASCADE, related_name="schedule"
    )
    service = models.ForeignKey(SpecialisedService, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["service__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "service"], name="service_scheduled_once_per_agreement"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} from {self.effective_from}"


class ArrangementCategory(models.TextChoices):
    READINESS_ACTION = "readiness_action", "Readiness action"
    RISK = "risk", "Risk"
    CONDITION = "condition", "Local condition"


class DevelopmentalArrangement(models.Model):
    """A local arrangement tailored to the ICB's readiness, agreed and reviewed."""

    agreement = models.ForeignKey(
        DelegationAgreement, on_delete=models.CASCADE, related_name="developmental_arrangements"
    )
    category = models.CharField(max_length=20, choices=ArrangementCategory.choices)
    text = models.TextField()
    agreed_by = models.CharField(max_length=200)
    review_date = models.DateField()
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review_date", "id"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.text[:60]}"


class SegmentSource(models.TextChoices):
    RUN = "run", "Segmentation run"
    RECORDED = "recorded", "Recorded by a national or regional user"


class IcbSegment(models.Model):
    """An ICB's oversight segment as of a date: computed by a run (where the period's
    methodology segments ICBs) or recorded by a person with its source. The one with the
    latest ``as_of`` (then the latest recorded) applies."""

    icb = models.ForeignKey(IntegratedCareBoard, on_delete=models.PROTECT, related_name="segments")
    segment = models.PositiveSmallIntegerField()
    as_of = models.DateField(help_text="The date the segment applies from.")
    source_kind = models.CharField(max_length=8, choices=SegmentSource.choices)
    source = models.CharField(max_length=300, help_text="e.g. 'NHS England Q2 2025/26 letter'.")
    run = models.ForeignKey(
        "oversight.SegmentationRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    period = models.ForeignKey(
        "oversight.ReportingPeriod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-recorded_at", "-id"]
        indexes = [models.Index(fields=["icb", "-as_of", "-recorded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(segment__gte=1, segment__lte=5), name="icb_segment_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(source_kind=SegmentSource.RECORDED) | Q(run__isnull=False),
                name="computed_icb_segment_names_its_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.icb.code} segment {self.segment} as of {self.as_of}"


class ConditionRule(models.Model):
    """A condition put on in-force agreements of ICBs in some segments (data:
    ``delegation/policy.yaml``). The shipped rule is the segment 3/4 spending approval."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField()
    segments = models.JSONField(help_text="The ICB segments the condition applies in.")
    version = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class AgreementCondition(models.Model):
    """A condition in force on an agreement from ``applied_on`` until it is lifted, with the
    ICB segment that caused each step."""

    agreement = models.ForeignKey(
        DelegationAgreement, on_delete=models.PROTECT, related_name="conditions"
    )
    rule = models.ForeignKey(ConditionRule, on_delete=models.PROTECT, related_name="+")
    applied_on = models.DateField()
    applied_at = models.DateTimeField(auto_now_add=True)
    applied_because = models.ForeignKey(IcbSegment, on_delete=models.PROTECT, related_name="+")
    lifted_on = models.DateField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_because = models.ForeignKey(
        IcbSegment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lift_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "rule"],
                condition=Q(lifted_at__isnull=True),
                name="one_open_condition_per_rule",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule.name} on {self.agreement}"

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


class RequestStatus(models.TextChoices):
    AWAITING_DECISION = "awaiting", "Awaiting the region's decision"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    NOTED = "noted", "Noted (no approval needed)"
    STARTED = "started", "Started"
    WITHDRAWN = "withdrawn", "Withdrawn"


class CommissioningChangeRequest(models.Model):
    """A proposed change to the commissioning of delegated services. With the spending
    condition in force and overall spend changing, it waits for the regional director."""

    icb = models.ForeignKey(
        IntegratedCareBoard, on_delete=models.PROTECT, related_name="change_requests"
    )
    agreement = models.ForeignKey(
        DelegationAgreement, on_delete=models.PROTECT, related_name="change_requests"
    )
    services = models.ManyToManyField(SpecialisedService, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField()
    annual_spend_effect = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Estimated effect on annual spend, in pounds."
    )
    changes_overall_spend = models.BooleanField()
    intended_start = models.DateField()
    status = models.CharField(max_length=10, choices=RequestStatus.choices)
    needs_approval = models.BooleanField()
    condition = models.ForeignKey(
        AgreementCondition,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_requests",
        help_text="The condition in force when it was raised.",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raised_by_label = models.CharField(max_length=150)
    raised_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by_label = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    started_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "rejected"]) | ~Q(decision_reason=""),
                name="decision_has_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.icb.code}: {self.title}"


class ChangeRequestEvent(models.Model):
    """One step in a change request's life (raised, decided, started, released…)."""

    request = models.ForeignKey(
        CommissioningChangeRequest, on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(auto_now_add=True)
    status_from = models.CharField(max_length=10, blank=True)
    status_to = models.CharField(max_length=10)
    actor_label = models.CharField(max_length=150)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status_from or 'new'} → {self.status_to} by {self.actor_label}"


class CollaborationKind(models.TextChoices):
    JOINT_COMMITTEE = "joint_committee", "Joint committee"
    OTHER = "other", "Other collaboration"


class CollaborationArrangement(models.Model):
    """ICBs that plan and commission delegated services together."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=CollaborationKind.choices)
    members = models.ManyToManyField(IntegratedCareBoard, related_name="collaborations")
    services = models.ManyToManyField(SpecialisedService, blank=True, related_name="+")
    formed_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

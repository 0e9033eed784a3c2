"""Earned autonomy and the oversight response: freedoms and their grants, support levels
and actions, CQC overall ratings, capability assessments."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from systems.models import Organisation


class AutonomyPolicy(models.Model):
    """The support table and capability scale in force (one row; from ``policy.yaml``)."""

    version = models.PositiveIntegerField()
    support = models.JSONField(help_text="Final segment → support level and the actions opened.")
    capability_scale = models.JSONField(help_text="Labels, best first.")
    capability_areas = models.JSONField()
    # System maturity: {"scale": [lowest … highest], "criteria": [{"slug", "name"}, …]}.
    maturity = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "oversight"
        verbose_name_plural = "autonomy policy"

    def __str__(self) -> str:
        return f"Autonomy policy v{self.version}"


class Freedom(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    applies_to = models.CharField(
        max_length=10, choices=[("provider", "Providers"), ("icb", "ICBs")]
    )
    grant = models.CharField(
        max_length=12,
        choices=[
            ("automatic", "Automatic"),
            ("confirmation", "Confirmed by the region"),
            ("computed", "Computed; decided by people"),
        ],
    )
    criteria = models.JSONField(default=dict, help_text="Eligibility parameters (see the ADR).")
    revoke_at_once_on = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "oversight"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class GrantStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed (awaiting confirmation)"
    GRANTED = "granted", "Granted"
    AT_RISK = "at_risk", "At risk"
    REVOKED = "revoked", "Revoked"
    DECLINED = "declined", "Declined"
    LAPSED = "lapsed", "Lapsed (no longer eligible before confirmation)"


LIVE_GRANT = (GrantStatus.PROPOSED, GrantStatus.GRANTED, GrantStatus.AT_RISK)


class FreedomGrant(models.Model):
    freedom = models.ForeignKey(Freedom, on_delete=models.PROTECT, related_name="grants")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=GrantStatus.choices)
    status_reason = models.TextField(blank=True)
    at_risk_since = models.ForeignKey(
        "oversight.ReportingPeriod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by_run = models.ForeignKey(
        "oversight.SegmentationRun", on_delete=models.PROTECT, null=True, related_name="+"
    )
    confirmed_by_label = models.CharField(max_length=150, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Advanced Foundation Trust steps, recorded by national users.
    nominated_on = models.DateField(null=True, blank=True)
    panel_decision = models.CharField(
        max_length=10, blank=True, choices=[("approved", "Approved"), ("rejected", "Rejected")]
    )
    panel_decided_on = models.DateField(null=True, blank=True)
    reassessment_due = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "oversight"
        ordering = ["freedom", "organisation__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["freedom", "organisation"],
                condition=Q(status__in=["proposed", "granted", "at_risk"]),
                name="one_live_grant_per_freedom_and_organisation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.freedom.slug} for {self.organisation.code}: {self.status}"


class GrantEvent(models.Model):
    """One change of a grant: from, to, the run that caused it (if any), the criteria."""

    grant = models.ForeignKey(FreedomGrant, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    status_from = models.CharField(max_length=10, blank=True)
    status_to = models.CharField(max_length=10)
    run = models.ForeignKey(
        "oversight.SegmentationRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    criteria = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)
    actor_label = models.CharField(max_length=150)

    class Meta:
        app_label = "oversight"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status_from or 'new'} → {self.status_to} ({self.at:%Y-%m-%d})"


class FreedomEvaluation(models.Model):
    """Eligibility of one organisation for one freedom in one run, criterion by criterion."""

    run = models.ForeignKey(
        "oversight.SegmentationRun", on_delete=models.CASCADE, related_name="freedom_evaluations"
    )
    freedom = models.ForeignKey(Freedom, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    eligible = models.BooleanField()
    criteria = models.JSONField(default=list)

    class Meta:
        app_label = "oversight"
        constraints = [
            models.UniqueConstraint(
                fields=["run", "freedom", "organisation"], name="one_evaluation_per_run"
            )
        ]

    def __str__(self) -> str:
        verdict = "eligible" if self.eligible else "not eligible"
        return f"{self.freedom_id}/{self.organisation.code}: {verdict}"


class SupportLevel(models.Model):
    """The oversight response for an organisation's final segment in a run."""

    run = models.ForeignKey(
        "oversight.SegmentationRun", on_delete=models.CASCADE, related_name="support_levels"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    final_segment = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=120)

    class Meta:
        app_label = "oversight"
        constraints = [
            models.UniqueConstraint(fields=["run", "organisation"], name="one_support_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.organisation.code}: {self.level}"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class OversightAction(models.Model):
    """An action the oversight response opens (diagnostic stocktake, recovery plan,
    independent diagnostic). People close it, with a note; a better segment does not."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    opened_by_run = models.ForeignKey(
        "oversight.SegmentationRun", on_delete=models.PROTECT, null=True, related_name="+"
    )
    segment = models.PositiveSmallIntegerField(null=True)
    owner_label = models.CharField(max_length=150, blank=True)
    board_owner_required = models.BooleanField(default=False)
    board_owner = models.CharField(
        max_length=150, blank=True, help_text="The board member accountable."
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=ActionStatus.choices, default="open")
    notes = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "oversight"
        ordering = ["organisation__code", "due_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=Q(status="open"),
                name="one_open_action_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.organisation.code}, {self.status})"


class ActionEvent(models.Model):
    action = models.ForeignKey(OversightAction, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor_label = models.CharField(max_length=150)
    change = models.CharField(max_length=200)
    note = models.TextField(blank=True)

    class Meta:
        app_label = "oversight"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.change} by {self.actor_label}"


class CqcRating(models.Model):
    """A provider's CQC overall rating, dated (the latest applies)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    rating = models.CharField(
        max_length=24,
        choices=[(r, r) for r in ("Outstanding", "Good", "Requires improvement", "Inadequate")],
    )
    published_on = models.DateField()
    source = models.CharField(max_length=200, blank=True)
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "oversight"
        ordering = ["-published_on", "-id"]

    def __str__(self) -> str:
        return f"{self.organisation.code}: {self.rating} ({self.published_on})"


class CapabilityAssessment(models.Model):
    """A board's yearly self-assessment, or the region's view, per area and overall
    (levels 1 = best; labels in the policy's capability scale)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    financial_year = models.CharField(max_length=7)
    assessor = models.CharField(
        max_length=6, choices=[("board", "Board self-assessment"), ("region", "Region's view")]
    )
    areas = models.JSONField(default=dict)
    overall = models.PositiveSmallIntegerField()
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "oversight"
        ordering = ["-financial_year", "-recorded_at"]

    def __str__(self) -> str:
        return f"{self.organisation.code} {self.financial_year} {self.assessor}: {self.overall}"


class MaturityAssessment(models.Model):
    """The region's dated assessment of a system's maturity (the ICB stands for its
    system): each criterion of the policy rated on the scale with its evidence, the level
    that gives (the lowest rating), and the level that applies (a reviewer may override it,
    with a reason). The latest assessed on or before a period's end feeds that run."""

    icb = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    assessed_on = models.DateField()
    ratings = models.JSONField(help_text="criterion slug → {rating, evidence}")
    computed_level = models.CharField(max_length=12)
    level = models.CharField(max_length=12)
    override_reason = models.TextField(blank=True)
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "oversight"
        ordering = ["-assessed_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"{self.icb.code} {self.assessed_on}: {self.level}"

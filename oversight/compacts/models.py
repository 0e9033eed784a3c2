"""System compacts (autonomy spec section 4): what NHS England and a system (an ICB and
the trusts it hosts) agreed for a financial year, at a board-to-board meeting; each
commitment, who is accountable for it, the support the system asked for, and how each
commitment tied to a metric stood after every run."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models

from core.dates import financial_year_bounds
from systems.models import Organisation


class CompactStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AGREED = "agreed", "Agreed"
    IN_YEAR = "in_year", "In year"
    CLOSED = "closed", "Closed"


#: The steps a compact may take; each needs a reason and a permitted person.
COMPACT_STEPS: dict[str, tuple[str, ...]] = {
    CompactStatus.DRAFT: (CompactStatus.AGREED, CompactStatus.CLOSED),
    CompactStatus.AGREED: (CompactStatus.IN_YEAR, CompactStatus.CLOSED),
    CompactStatus.IN_YEAR: (CompactStatus.CLOSED,),
    CompactStatus.CLOSED: (),
}

#: Compacts whose commitments are tracked after each run.
TRACKED = (CompactStatus.AGREED, CompactStatus.IN_YEAR)


class Compact(models.Model):
    """One system's compact for one financial year. The ICB stands for its system; the
    parties are the region, the ICB and the trusts it hosted on the year's first day."""

    icb = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    financial_year = models.CharField(max_length=7, help_text="e.g. 2026/27")
    status = models.CharField(
        max_length=8, choices=CompactStatus.choices, default=CompactStatus.DRAFT
    )
    status_reason = models.TextField(blank=True)
    parties = models.ManyToManyField(Organisation, related_name="compacts")
    agreed_at = models.ForeignKey(
        "BoardMeeting",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The board-to-board meeting at which it was agreed.",
    )
    agreed_on = models.DateField(null=True, blank=True)
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "oversight"
        ordering = ["-financial_year", "icb__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["icb", "financial_year"], name="one_compact_per_system_and_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.icb.code} compact {self.financial_year}"

    @property
    def year_slug(self) -> str:
        return self.financial_year.replace("/", "-")

    @property
    def agree_by(self) -> datetime.date:
        """31 March before the year: plans are to be agreed by then."""
        return financial_year_bounds(self.financial_year)[0] - datetime.timedelta(days=1)

    def is_late(self, today: datetime.date) -> bool:
        """Not agreed by 31 March before its year."""
        return self.status == CompactStatus.DRAFT and today > self.agree_by


class CompactEvent(models.Model):
    """One step of a compact's status, by whom and why."""

    compact = models.ForeignKey(Compact, on_delete=models.CASCADE, related_name="events")
    status_from = models.CharField(max_length=8, blank=True)
    status_to = models.CharField(max_length=8)
    reason = models.TextField()
    actor_label = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "oversight"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.status_from or 'new'} → {self.status_to}"

    @property
    def step(self) -> str:
        """The step in words: "Draft → Agreed", or "Draft" when it was opened."""
        labels = dict(CompactStatus.choices)
        to = labels.get(self.status_to, self.status_to)
        return (
            f"{labels.get(self.status_from, self.status_from)} → {to}" if self.status_from else to
        )


class BoardMeeting(models.Model):
    """A board-to-board meeting between NHS England and the system's boards."""

    compact = models.ForeignKey(Compact, on_delete=models.CASCADE, related_name="meetings")
    held_on = models.DateField()
    attendees = models.JSONField(help_text="[{name, role, organisation}] of those present")
    minutes_reference = models.CharField(max_length=200, blank=True)
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "oversight"
        ordering = ["-held_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"Board-to-board meeting {self.held_on:%d %B %Y}"


class CommitmentStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "In the compact"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Direction(models.TextChoices):
    AT_LEAST = "at_least", "At least the target"
    AT_MOST = "at_most", "At most the target"


class Commitment(models.Model):
    """What one organisation of the system commits to deliver. Tied to a metric, with a
    target (and optionally a trajectory by quarter), it is tracked after every run."""

    compact = models.ForeignKey(Compact, on_delete=models.CASCADE, related_name="commitments")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True, help_text="How it will be delivered.")
    metric_id = models.CharField(max_length=20, blank=True)
    target = models.FloatField(null=True, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True)
    trajectory = models.JSONField(
        default=dict, blank=True, help_text='Quarter → expected value, e.g. {"Q1": 80, "Q2": 82}'
    )
    due_on = models.DateField(null=True, blank=True)
    accountable_name = models.CharField(max_length=150)
    accountable_role = models.CharField(max_length=150)
    accountable_email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=9, choices=CommitmentStatus.choices, default=CommitmentStatus.PROPOSED
    )
    status_reason = models.TextField(blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    proposed_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "oversight"
        ordering = ["compact_id", "pk"]

    def __str__(self) -> str:
        return self.title

    def expected_in(self, quarter: int) -> tuple[float | None, str]:
        """What the commitment expects by ``quarter`` of its year, and where that comes
        from: the trajectory's point for the quarter (or the last one before it), else
        the target."""
        known = {int(k.lstrip("Qq")): v for k, v in (self.trajectory or {}).items()}
        before = [q for q in known if q <= quarter]
        if before:
            q = max(before)
            return float(known[q]), f"the Q{q} trajectory"
        if self.target is not None:
            return float(self.target), "the target"
        return None, ""


class TrackStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    OFF_TRACK = "off_track", "Off track"
    NOT_MEASURABLE = "not_measurable", "Not yet measurable"


class CommitmentEvaluation(models.Model):
    """How a commitment stood against one published run: the value the run used, what was
    expected by then, and why it could not be measured when it could not."""

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="evaluations")
    run = models.ForeignKey("oversight.SegmentationRun", on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(
        "oversight.ReportingPeriod", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=14, choices=TrackStatus.choices)
    value = models.FloatField(null=True, blank=True)
    expected = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    evaluated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "oversight"
        ordering = ["commitment_id", "period__start_date", "run_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["commitment", "run"], name="one_commitment_evaluation_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.commitment_id} in run {self.run_id}: {self.status}"


class SupportStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    AGREED = "agreed", "Agreed"
    IN_PROGRESS = "in_progress", "In progress"
    PROVIDED = "provided", "Provided"
    DECLINED = "declined", "Declined"


class SupportRequest(models.Model):
    """Support the system asked NHS England for, with who owns it and where it stands."""

    compact = models.ForeignKey(Compact, on_delete=models.CASCADE, related_name="support")
    description = models.TextField()
    owner = models.CharField(max_length=150, help_text="Who in NHS England owns it.")
    status = models.CharField(
        max_length=11, choices=SupportStatus.choices, default=SupportStatus.REQUESTED
    )
    status_reason = models.TextField(blank=True)
    recorded_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "oversight"
        ordering = ["compact_id", "pk"]

    def __str__(self) -> str:
        return self.description[:80]

"""Methodologies, the metric catalogue, reporting periods, inputs and segmentation runs.

Policy is data: a methodology and its metric definitions are rows, loaded from the
versioned files in ``oversight/methodologies/`` and editable by national users; the engine
receives them as a :class:`~oversight.engine.MethodologySpec` built from these rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from systems.models import Organisation

from .engine.spec import METRIC_FIELDS, MetricSpec

PERIOD_LABEL_RE = re.compile(r"^Q([1-4]) (\d{4})/(\d{2})$")
PERIOD_SLUG_RE = re.compile(r"^(\d{4})-(\d{2})-q([1-4])$")


class SegmentationMethod(models.TextChoices):
    QUARTILES = "quartiles", "Quartiles of the period's averages"
    FIXED = "fixed", "Fixed thresholds"


class QuartilePool(models.TextChoices):
    NATIONAL = "national", "All provider peer groups together"
    PEER_GROUP = "peer_group", "Each peer group on its own"


class Methodology(models.Model):
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(
        default=1, help_text="The file version last loaded; a newer file version replaces it."
    )
    description = models.TextField(blank=True)
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    segmentation_method = models.CharField(max_length=12, choices=SegmentationMethod.choices)
    quartile_pool = models.CharField(
        max_length=12, choices=QuartilePool.choices, default=QuartilePool.NATIONAL
    )
    threshold_1 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    threshold_2 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    threshold_3 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    min_metric_count = models.PositiveIntegerField(default=1)
    segmented_peer_groups = models.JSONField(default=list)
    peer_groups = models.JSONField(default=list)
    domains = models.JSONField(default=list)
    override_cap = models.PositiveSmallIntegerField(default=3)
    derive_override_from = models.CharField(max_length=10, blank=True)
    rating_lookback_days = models.PositiveIntegerField(default=730)
    replicates = models.PositiveIntegerField(default=1000)
    rounding = models.CharField(
        max_length=10,
        choices=[("half_even", "Half to even"), ("half_up", "Half up")],
        default="half_up",
        help_text="How ties are rounded to 2 dp (half up reproduces NHS England's files).",
    )
    source_file = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "methodologies"
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(threshold_1__isnull=True, threshold_2__isnull=True, threshold_3__isnull=True)
                    | Q(
                        threshold_1__isnull=False,
                        threshold_2__isnull=False,
                        threshold_3__isnull=False,
                    )
                ),
                name="methodology_thresholds_all_or_none",
            )
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def thresholds(self) -> tuple[float, float, float] | None:
        if self.threshold_1 is None:
            return None
        return (float(self.threshold_1), float(self.threshold_2), float(self.threshold_3))

    def as_document(self, metrics: list[MetricDefinition] | None = None) -> dict[str, Any]:
        """The methodology as a document in the file format (``MethodologySpec.from_dict``)."""
        metrics = metrics if metrics is not None else list(self.metrics.order_by("position"))
        return {
            "slug": self.slug,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "rounding": self.rounding,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "segmentation": {
                "method": self.segmentation_method,
                "quartile_pool": self.quartile_pool,
                "thresholds": list(self.thresholds) if self.thresholds else None,
                "min_metric_count": self.min_metric_count,
                "segmented_peer_groups": list(self.segmented_peer_groups),
                "override_cap": self.override_cap,
                "derive_override_from": self.derive_override_from or None,
                "rating_lookback_days": self.rating_lookback_days,
                "replicates": self.replicates,
            },
            "domains": list(self.domains),
            "peer_groups": list(self.peer_groups),
            "metrics": [m.as_document() for m in metrics],
        }

    def fingerprint(self, metrics: list[MetricDefinition] | None = None) -> str:
        """A digest of everything that decides results. Upload validation bounds
        (``valid_range``) do not change any score, so they are left out."""
        document = self.as_document(metrics)
        for metric in document["metrics"]:
            metric.pop("valid_range", None)
        canonical = json.dumps(document, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


class MetricMethod(models.TextChoices):
    RANK = "rank", "Rank within pool, with bookends"
    BANDS = "bands", "Bands (cut points)"
    COMBINED = "combined", "Combined finance"
    RATING = "rating", "Rating (CQC), with look-back"
    SUPPLIED = "supplied", "Supplied score"
    CONTEXTUAL = "contextual", "Contextual (never scored)"


class MetricDefinition(models.Model):
    methodology = models.ForeignKey(Methodology, on_delete=models.CASCADE, related_name="metrics")
    position = models.PositiveIntegerField(default=0)
    score_id = models.CharField(max_length=10, help_text="The id the score is published under.")
    value_id = models.CharField(max_length=10, blank=True)
    name = models.CharField(max_length=300)
    domain = models.CharField(max_length=100)
    sub_domain = models.CharField(max_length=100, blank=True)
    units = models.CharField(max_length=40, blank=True)
    direction = models.CharField(
        max_length=6,
        blank=True,
        choices=[("higher", "Higher is better"), ("lower", "Lower is better")],
    )
    method = models.CharField(max_length=12, choices=MetricMethod.choices)
    params = models.JSONField(default=dict, blank=True)
    pool = models.CharField(
        max_length=12,
        choices=[("peer_group", "Peer group"), ("national", "All providers reporting it")],
        default="peer_group",
    )
    peer_groups = models.JSONField(default=list)
    weight = models.FloatField(default=1.0)
    included_in_average = models.BooleanField(default=True)
    counts_outside_peer_groups = models.BooleanField(
        default=False,
        help_text=(
            "Nationally pooled metrics: whether a value from a provider outside the metric's "
            "peer groups counts in that provider's own average (it is ranked either way)."
        ),
    )
    contextual = models.BooleanField(default=False)
    valid_min = models.FloatField(
        null=True, blank=True, help_text="The lowest value an upload may carry (blank: none)."
    )
    valid_max = models.FloatField(
        null=True, blank=True, help_text="The highest value an upload may carry (blank: none)."
    )

    class Meta:
        ordering = ["methodology", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["methodology", "score_id"], name="unique_metric_per_methodology"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score_id} {self.name}"

    def as_document(self) -> dict[str, Any]:
        """The definition as a methodology file writes it (:class:`MetricSpec`'s fields)."""
        document = {name: getattr(self, name) for name in STORED_METRIC_FIELDS}
        document.update(
            value_id=self.value_id or None,
            direction=self.direction or None,
            peer_groups=list(self.peer_groups),
            valid_range=(
                None
                if self.valid_min is None and self.valid_max is None
                else [self.valid_min, self.valid_max]
            ),
        )
        return document

    @classmethod
    def from_spec(cls, spec: MetricSpec, **fields: Any) -> MetricDefinition:
        """An unsaved row holding ``spec`` (``fields`` adds the methodology and position)."""
        stored = {name: getattr(spec, name) for name in STORED_METRIC_FIELDS}
        stored.update(
            value_id=spec.value_id or "",
            direction=spec.direction or "",
            params=json.loads(json.dumps(spec.to_dict()["params"])),
            peer_groups=list(spec.peer_groups),
            valid_min=spec.valid_range[0] if spec.valid_range else None,
            valid_max=spec.valid_range[1] if spec.valid_range else None,
        )
        return cls(**stored, **fields)


# The metric settings a MetricDefinition row stores one to one (the validation bounds,
# ``valid_range``, are stored as ``valid_min`` and ``valid_max``).
STORED_METRIC_FIELDS = tuple(name for name in METRIC_FIELDS if name != "valid_range")


class ReportingPeriodQuerySet(models.QuerySet):
    def by_key(self, key: str) -> ReportingPeriod:
        """A period from either of its names: ``Q4 2025/26`` or ``2025-26-q4``."""
        return self.get(slug=period_slug(key))


def period_slug(key: str) -> str:
    """``Q4 2025/26`` → ``2025-26-q4``; a slug is returned as it is. ``ValueError`` otherwise."""
    key = key.strip()
    match = PERIOD_LABEL_RE.match(key)
    if match:
        quarter, year, short = match.groups()
        return f"{year}-{short}-q{quarter}"
    if PERIOD_SLUG_RE.match(key.lower()):
        return key.lower()
    raise ValueError(f"'{key}' is not a period; expected e.g. 'Q4 2025/26' or '2025-26-q4'")


class ReportingPeriod(models.Model):
    """A quarter of publication, assessed under exactly one methodology."""

    slug = models.SlugField(max_length=12, unique=True)
    label = models.CharField(max_length=12, unique=True)
    financial_year = models.CharField(max_length=7)
    quarter = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    end_date = models.DateField()
    methodology = models.ForeignKey(Methodology, on_delete=models.PROTECT, related_name="periods")
    pinned_t1 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    pinned_t2 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    pinned_t3 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pinned_by_label = models.CharField(max_length=150, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    pin_reason = models.TextField(blank=True)
    # The period's official results: its *published* run. Pages, exports, the API and the
    # consequences (freedoms, support, conditions, notices) follow it.
    current_run = models.OneToOneField(
        "SegmentationRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="current_for",
    )
    # The newest completed run, published or provisional: what new data would give.
    latest_run = models.OneToOneField(
        "SegmentationRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="latest_for",
    )
    # The cut points of the published run, kept for the period (unless pinned) so that one
    # organisation's new data cannot move another across a boundary.
    frozen_t1 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    frozen_t2 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    frozen_t3 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    frozen_from_run = models.ForeignKey(
        "SegmentationRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ReportingPeriodQuerySet.as_manager()

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(pinned_t1__isnull=True, pinned_t2__isnull=True, pinned_t3__isnull=True)
                    | Q(pinned_t1__isnull=False, pinned_t2__isnull=False, pinned_t3__isnull=False)
                ),
                name="period_pins_all_or_none",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def pinned_cut_points(self) -> tuple[float, float, float] | None:
        if self.pinned_t1 is None:
            return None
        return (float(self.pinned_t1), float(self.pinned_t2), float(self.pinned_t3))

    @property
    def frozen_cut_points(self) -> tuple[float, float, float] | None:
        if self.frozen_t1 is None:
            return None
        return (float(self.frozen_t1), float(self.frozen_t2), float(self.frozen_t3))

    @property
    def published_run(self) -> SegmentationRun | None:
        """The run whose results are the period's official ones (``current_run``)."""
        return self.current_run


class InputKind(models.TextChoices):
    VALUE = "value", "Metric value"
    SCORE = "score", "Supplied score"
    OVERRIDE_FLAG = "override_flag", "Financial override flag (OF5004)"
    PROGRAMME = "programme", "In the Provider Improvement Programme (OF5007)"
    PUBLISHED = "published", "NHS England published result"


class MetricValueQuerySet(models.QuerySet):
    def current(self) -> MetricValueQuerySet:
        return self.filter(superseded_at__isnull=True)


class MetricValue(models.Model):
    """One input for an organisation, metric and period, with where it came from.

    A newer input supersedes the older one (``superseded_at`` set) without deleting it.
    """

    # A fact table written in bulk only through ``oversight.inputs`` and the upload
    # service, which check every key against the reference data first; the references
    # are enforced by Django (PROTECT), not by per-row database triggers (ADR 0008).
    period = models.ForeignKey(
        ReportingPeriod,
        on_delete=models.PROTECT,
        related_name="values",
        db_constraint=False,
        db_index=False,
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    metric_id = models.CharField(max_length=20)
    kind = models.CharField(max_length=14, choices=InputKind.choices)
    value = models.FloatField(null=True, blank=True)
    text = models.CharField(max_length=200, blank=True)
    reporting_date = models.DateField(
        null=True, blank=True, help_text="For a CQC rating: the date it was awarded."
    )
    reporting_period_text = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)
    source = models.CharField(max_length=200, help_text="The file or process it came from.")
    upload = models.ForeignKey(
        "MetricUpload",
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="values",
        help_text="The upload that brought this value in (blank: loaded by a command).",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    recorded_by_label = models.CharField(max_length=150)
    # Set by whoever stores the rows, so every value of one upload shares one instant.
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = MetricValueQuerySet.as_manager()

    class Meta:
        # The partial unique index below serves every read of current values (period
        # first); each further index costs a bulk import of a million rows 2-3 s.
        constraints = [
            models.UniqueConstraint(
                fields=["period", "organisation", "metric_id"],
                condition=Q(superseded_at__isnull=True),
                name="one_current_value_per_org_metric_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.organisation_id} {self.metric_id}={self.value or self.text}"


class ProgrammeMembership(models.Model):
    """A dated stay in the Provider Improvement Programme (formerly Recovery Support)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="programme_memberships"
    )
    entered_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)
    entry_reason = models.TextField()
    exit_reason = models.TextField(blank=True)
    recorded_by_label = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-entered_on"]

    def __str__(self) -> str:
        return f"{self.organisation.code} in the programme from {self.entered_on}"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class SegmentationRun(models.Model):
    """One segmentation of one period under one methodology. Immutable once completed."""

    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="runs")
    methodology = models.ForeignKey(Methodology, on_delete=models.PROTECT, related_name="runs")
    methodology_fingerprint = models.CharField(max_length=64)
    inputs_fingerprint = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    seed = models.BigIntegerField()
    replicates = models.PositiveIntegerField()
    trigger = models.CharField(max_length=40, help_text="command, upload, admin, api…")
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    triggered_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # When the newest input the run read was recorded: the results' "as at" time.
    inputs_as_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_by_label = models.CharField(max_length=150, blank=True)
    publication_reason = models.TextField(blank=True)
    # With cut points frozen from a published run: the quartiles this run's averages would
    # give, per peer group ({"acute": {"t1": …}}), for the preview.
    recomputed_cut_points = models.JSONField(default=dict, blank=True)
    # The published run whose pools this run's rank scores were worked against (held
    # still, so only organisations whose own values changed can score differently); blank
    # when every pool was worked afresh.
    ranked_against = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cut_point_1 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    cut_point_2 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    cut_point_3 = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    cut_points_source = models.CharField(max_length=10, blank=True)
    cut_points_by_peer_group = models.JSONField(default=dict, blank=True)
    organisation_count = models.PositiveIntegerField(default=0)
    segment_counts = models.JSONField(default=dict, blank=True)
    pools = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Per rank-scored metric and pool: how many organisations were ranked and how "
            "many the pool could hold in the period, and whether it was partial."
        ),
    )
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.period}, {self.status})"

    @property
    def cut_points(self) -> tuple[float, float, float] | None:
        """The cut points applied (stored exactly, to 4 places; as numbers here)."""
        if self.cut_point_1 is None:
            return None
        return (float(self.cut_point_1), float(self.cut_point_2), float(self.cut_point_3))

    def partial_pools(self) -> dict[str, dict[str, Any]]:
        """The metrics ranked on a partial pool in this run, by score id."""
        return {p["metric_id"]: p for p in self.pools or [] if p.get("partial")}

    @property
    def is_current(self) -> bool:
        """This run is its period's published run (the official results)."""
        return self.period.current_run_id == self.pk

    @property
    def state(self) -> str:
        """``published`` (the period's official results), ``superseded`` (published once,
        since replaced), ``provisional`` (completed, never published), or the status."""
        if self.status != RunStatus.COMPLETED:
            return str(self.status)
        if self.is_current:
            return "published"
        return "superseded" if self.published_at else "provisional"


class MetricScore(models.Model):
    """One metric's score for one organisation in one run (written once, never changed)."""

    # The unique constraint (run, organisation, metric_id) serves look-ups by run.
    run = models.ForeignKey(
        SegmentationRun, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    metric_id = models.CharField(max_length=10)
    value_id = models.CharField(max_length=10, blank=True)
    value = models.FloatField(null=True)
    text = models.CharField(max_length=200, blank=True)
    score = models.FloatField(null=True)
    # Our score from the value when a supplied score won (for the published comparison).
    computed_score = models.FloatField(null=True, blank=True)
    rank = models.FloatField(null=True)
    pool_size = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=12)
    low = models.FloatField(null=True)
    high = models.FloatField(null=True)
    domain = models.CharField(max_length=100)
    weight = models.FloatField()
    included = models.BooleanField()
    status = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "organisation", "metric_id"], name="unique_score_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric_id}={self.score} (run {self.run_id}, org {self.organisation_id})"


class OrganisationAssessment(models.Model):
    """An organisation's result in one run: average, segments and league-table place."""

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="assessments")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    peer_group = models.CharField(max_length=40)
    metric_count = models.PositiveIntegerField()
    average_score = models.FloatField(null=True)
    segmented = models.BooleanField()
    not_segmented_reason = models.CharField(max_length=300, blank=True)
    unadjusted_segment = models.PositiveSmallIntegerField(null=True)
    financial_override = models.BooleanField(default=False)
    override_derived = models.BooleanField(default=False)
    override_reason = models.CharField(max_length=300, blank=True)
    adjusted_segment = models.PositiveSmallIntegerField(null=True)
    final_segment = models.PositiveSmallIntegerField(null=True)
    in_programme = models.BooleanField(default=False)
    domain_scores = models.JSONField(default=dict)
    average_range_low = models.FloatField(null=True)
    average_range_high = models.FloatField(null=True)
    league_rank = models.PositiveIntegerField(null=True)
    rank_range_low = models.PositiveIntegerField(null=True)
    rank_range_high = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "organisation"], name="unique_assessment_per_run"
            )
        ]
        indexes = [models.Index(fields=["run", "peer_group", "league_rank"])]

    def __str__(self) -> str:
        return f"org {self.organisation_id} in run {self.run_id}: segment {self.final_segment}"


class Notification(models.Model):
    """An in-app notice for one person (also sent by email)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # When it went out by e-mail (at once, or in a daily digest); blank: not yet, or never.
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Where to act on it, when that is not its organisation's page (an upload's page, say).
    link = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.subject


class EmailChoice(models.TextChoices):
    IMMEDIATELY = "immediately", "Each notice as it happens"
    DAILY = "daily", "One e-mail a day with the day's notices"
    NEVER = "never", "No e-mail: I read them here"


class NotificationSettings(models.Model):
    """How one person wants their notices by e-mail (a daily digest unless they choose)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email = models.CharField(max_length=12, choices=EmailChoice.choices, default=EmailChoice.DAILY)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.get_email_display()}"


# The upload models belong to this app too, in the uploads package.
# Earned autonomy's models belong to this app (label "oversight") but live in their own
# module; importing them here registers them with Django (docs/adr/0013).
from .autonomy.models import (  # noqa: E402, F401
    ActionEvent,
    ActionStatus,
    AutonomyPolicy,
    CapabilityAssessment,
    CqcRating,
    Freedom,
    FreedomEvaluation,
    FreedomGrant,
    GrantEvent,
    GrantStatus,
    MaturityAssessment,
    OversightAction,
    SupportLevel,
)
from .compacts.models import (  # noqa: E402, F401
    BoardMeeting,
    Commitment,
    CommitmentEvaluation,
    Compact,
    CompactEvent,
    SupportRequest,
)
from .uploads.models import (  # noqa: E402, F401
    UPLOAD_FORMAT_CHOICES,
    UPLOAD_IN_PROGRESS,
    MetricUpload,
    UploadFormat,
    UploadStatus,
    upload_format_label,
)

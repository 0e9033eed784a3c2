"""Metric uploads: one file as received and what became of it (app label "oversight";
re-exported by :mod:`oversight.models`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class UploadStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    VALIDATING = "validating", "Validating"
    INVALID = "invalid", "Rejected: the file has errors"
    IMPORTED = "imported", "Imported"
    RECOMPUTING = "recomputing", "Recomputing segments"
    DONE = "done", "Done"
    DUPLICATE = "duplicate", "Already imported"
    FAILED = "failed", "Failed"


UPLOAD_IN_PROGRESS = (
    UploadStatus.RECEIVED,
    UploadStatus.VALIDATING,
    UploadStatus.IMPORTED,
    UploadStatus.RECOMPUTING,
)


class UploadFormat(models.TextChoices):
    NHSE = "nhse", "NHS England NOF data file"
    TEMPLATE = "template", "Template (org_code, metric_id, period, value)"


# The formats an upload may be in: the model's two, and NHS England's league table, named
# here rather than in the fields' choices (a choice added there is a schema change).
UPLOAD_FORMAT_CHOICES = [*UploadFormat.choices, ("league", "NHS England league table")]


def upload_format_label(slug: str) -> str:
    return dict(UPLOAD_FORMAT_CHOICES).get(slug, slug)


class MetricUpload(models.Model):
    """One metric file as it was received, and what became of it.

    The file is kept as received (``file``) with its SHA-256; content already imported is
    recognised and not imported twice. Values it brought in point back to it.
    """

    file = models.FileField(upload_to="uploads/%Y/%m/")
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    requested_format = models.CharField(max_length=10, choices=UploadFormat.choices, blank=True)
    detected_format = models.CharField(max_length=10, choices=UploadFormat.choices, blank=True)
    file_type = models.CharField(max_length=5, blank=True, help_text="csv or xlsx")
    encoding = models.CharField(max_length=20, blank=True)
    sheet_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=12, choices=UploadStatus.choices, default=UploadStatus.RECEIVED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent of the stage.")
    stage_detail = models.CharField(max_length=300, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # Per kind of problem (column and message): the first message, the count, how many of
    # them ``errors`` lists.
    error_kinds = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    periods = models.ManyToManyField(
        "oversight.ReportingPeriod", blank=True, related_name="uploads"
    )
    runs = models.ManyToManyField("oversight.SegmentationRun", blank=True, related_name="uploads")
    failure_reason = models.TextField(blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # When its work last went on the task queue; blank while the queue could not be reached
    # (the sweeper queues it when the queue is back).
    queued_at = models.DateTimeField(null=True, blank=True)
    segment_after_import = models.BooleanField(default=True)
    allowed_codes = models.JSONField(
        null=True,
        blank=True,
        help_text="The organisation codes the uploader may upload for (blank: any).",
    )
    input_authority = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            "Per kind of input (value, score, override_flag, programme, rating, published), "
            "the organisation codes the uploader may supply it for (null: any); a kind not "
            "listed may not be supplied. Blank: anything (an import by the system)."
        ),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=150)
    via = models.CharField(max_length=10, default="web", help_text="web, api or command")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256"],
                condition=Q(imported_at__isnull=False),
                name="content_imported_once",
            )
        ]

    def __str__(self) -> str:
        return f"Upload {self.pk} {self.original_name} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in UPLOAD_IN_PROGRESS

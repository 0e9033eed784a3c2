"""NHS organisations: regions, integrated care boards and trusts, with their successions.

Trusts and ICBs are both *organisations* in the oversight sense (both can be assessed), so
they share a base table (multi-table inheritance): assessments, metric values and
successions point at :class:`Organisation`, while trust- and ICB-specific facts live on
the child tables. See ``docs/adr/0005-organisations-share-a-base-table.md``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from .calendar import ICB_REORGANISATION_DATE


def host_icb_field(day: datetime.date) -> str:
    """The :class:`Trust` field holding the host ICB on ``day``."""
    return "icb_from_2026" if day >= ICB_REORGANISATION_DATE else "icb_before_2026"


class Region(models.Model):
    """One of NHS England's seven regions (ODS codes Y56 to Y63)."""

    ods_code = models.CharField(max_length=5, unique=True)
    ons_code = models.CharField(max_length=9, unique=True)
    name = models.CharField(max_length=100, unique=True)
    short_name = models.CharField(
        max_length=100,
        help_text="The name NHS England's published data files use, e.g. 'East'.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrganisationKind(models.TextChoices):
    TRUST = "trust", "NHS trust or foundation trust"
    ICB = "icb", "Integrated care board"


class PeerGroup(models.TextChoices):
    """NHS Oversight Framework comparison sets for league tables."""

    ACUTE = "acute", "Acute trusts"
    MENTAL_HEALTH_AND_COMMUNITY = (
        "mental-health-and-community",
        "Mental health and community trusts",
    )
    AMBULANCE = "ambulance", "Ambulance trusts"
    ICB = "icb", "Integrated care boards"


def existed_on_q(day: datetime.date) -> Q:
    """Opened on or before ``day`` (or opening date unknown) and not closed by then."""
    return (Q(open_date__isnull=True) | Q(open_date__lte=day)) & (
        Q(close_date__isnull=True) | Q(close_date__gt=day)
    )


class OrganisationQuerySet(models.QuerySet):
    def existing_on(self, day: datetime.date) -> OrganisationQuerySet:
        """Organisations open on ``day``."""
        return self.filter(existed_on_q(day))


class Organisation(models.Model):
    """An organisation that can be overseen: a trust or an ICB.

    ``close_date`` is the first day the organisation no longer exists (ODS convention:
    an ICB dissolved on 1 April 2026 has ``close_date=2026-04-01``).
    """

    code = models.CharField("ODS code", max_length=10, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=5, choices=OrganisationKind.choices)
    peer_group = models.CharField(max_length=40, choices=PeerGroup.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organisations")
    open_date = models.DateField(null=True, blank=True, help_text="Blank when not known.")
    close_date = models.DateField(null=True, blank=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["kind", "peer_group"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def existed_on(self, day: datetime.date) -> bool:
        opened = self.open_date is None or self.open_date <= day
        return opened and (self.close_date is None or self.close_date > day)


class IntegratedCareBoard(Organisation):
    ons_code = models.CharField(max_length=9, blank=True)
    provenance = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "integrated care board"
        ordering = ["name"]


class TrustType(models.TextChoices):
    ACUTE = "acute", "Acute"
    ACUTE_SPECIALIST = "acute_specialist", "Acute specialist"
    MENTAL_HEALTH = "mental_health", "Mental health"
    COMMUNITY = "community", "Community"
    AMBULANCE = "ambulance", "Ambulance"


class Trust(Organisation):
    trust_type = models.CharField(max_length=20, choices=TrustType.choices)
    subtype = models.CharField(
        max_length=60,
        blank=True,
        help_text="NOF peer-group subtype where known, e.g. 'Community'.",
    )
    eric_type = models.CharField("ERIC 2016/17 type", max_length=60, blank=True)
    type_source = models.CharField(max_length=200, blank=True)
    is_foundation_trust = models.BooleanField(default=False)
    icb_before_2026 = models.ForeignKey(
        IntegratedCareBoard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_trusts_before_2026",
        verbose_name="host ICB 2022 to March 2026",
    )
    icb_from_2026 = models.ForeignKey(
        IntegratedCareBoard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_trusts_from_2026",
        verbose_name="host ICB from April 2026",
    )
    icb_from_2026_basis = models.CharField(max_length=200, blank=True)
    former_name = models.CharField(max_length=200, blank=True)
    name_source = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def host_icb_on(self, day: datetime.date) -> IntegratedCareBoard | None:
        return getattr(self, host_icb_field(day))


class SuccessionType(models.TextChoices):
    MERGER = "merger", "Merger"
    SPLIT = "split", "Split"
    ACQUISITION = "acquisition", "Acquisition"


class Succession(models.Model):
    """On ``date`` (some or all of) ``predecessor`` became part of ``successor``."""

    predecessor = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="successions_out"
    )
    successor = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="successions_in"
    )
    date = models.DateField()
    succession_type = models.CharField(max_length=12, choices=SuccessionType.choices)

    class Meta:
        ordering = ["date", "predecessor__code", "successor__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["predecessor", "successor"], name="unique_succession_pair"
            ),
            models.CheckConstraint(
                condition=~Q(predecessor=models.F("successor")), name="succession_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.predecessor.code} → {self.successor.code} ({self.date:%Y-%m-%d})"


class AuditEvent(models.Model):
    """One recorded state change: who, when, what, before and after, why.

    Written by services (never by signals), inside the same transaction as the change.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    actor_label = models.CharField(
        max_length=150, help_text="Username, or the command/task that acted."
    )
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class Role(models.TextChoices):
    """What a person (or an API token) is there to do. The permissions each role holds are
    data in :mod:`systems.authorization`."""

    NATIONAL = "national", "National team"
    REGIONAL = "regional", "Regional director or regional oversight team"
    ICB_ANALYST = "icb_analyst", "ICB analyst"
    DATA_STEWARD = "data_steward", "Data steward (supplies NHS England's official inputs)"


def role_scope_q() -> Q:
    """A national role and a data steward have no scope (all of England); a regional role
    names a region; an ICB analyst an ICB."""
    return (
        Q(role__in=[Role.NATIONAL, Role.DATA_STEWARD], region__isnull=True, icb__isnull=True)
        | Q(role=Role.REGIONAL, region__isnull=False, icb__isnull=True)
        | Q(role=Role.ICB_ANALYST, region__isnull=True, icb__isnull=False)
    )


class ScopedRole(models.Model):
    """A role and its scope (a region or an ICB), shared by role assignments and tokens."""

    role = models.CharField(max_length=12, choices=Role.choices)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="For a regional role: the region.",
    )
    icb = models.ForeignKey(
        IntegratedCareBoard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="ICB",
        help_text="For an ICB analyst: the integrated care board.",
    )

    class Meta:
        abstract = True

    @property
    def scope_label(self) -> str:
        if self.role == Role.REGIONAL and self.region_id:
            return str(self.region)
        if self.role == Role.ICB_ANALYST and self.icb_id:
            return self.icb.name
        return "all of England"


class RoleAssignmentQuerySet(models.QuerySet):
    def active(self) -> RoleAssignmentQuerySet:
        return self.filter(revoked_at__isnull=True)


class RoleAssignment(ScopedRole):
    """A person holds a role for a scope from ``granted_at`` until it is revoked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_by_label = models.CharField(max_length=150)
    granted_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=150, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["user__username", "role"]
        constraints = [
            models.CheckConstraint(condition=role_scope_q(), name="role_assignment_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_role_display()} ({self.scope_label})"


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(ScopedRole):
    """A token for another system. Only its SHA-256 is stored; the token itself is shown once,
    when it is created. It reads what its role and scope may see, and uploads only when
    ``can_upload`` is set."""

    name = models.CharField(max_length=100, help_text="Who or what uses it, e.g. 'BI tool'.")
    prefix = models.CharField(max_length=12, unique=True, help_text="Shown to identify it.")
    token_hash = models.CharField(max_length=64, unique=True)
    can_upload = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_by_label = models.CharField(max_length=150, blank=True)
    revoke_reason = models.TextField(blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=role_scope_q(), name="api_token_scope")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

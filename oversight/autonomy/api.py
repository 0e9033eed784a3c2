"""API for earned autonomy and the oversight response: the freedoms catalogue, grants
with their history, per-run evaluations, oversight actions and the caller's notifications.
Decisions (confirm or decline a proposed grant, close an action) for the roles allowed."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.viewsets import ReadOnlyApiViewSet
from systems.authorization import (
    INPUT_AUTHORITY,
    Input,
    Permission,
    restrict_to_visible,
    visible_organisations,
)

from ..models import ProgrammeMembership
from .maturity import record_maturity_assessment
from .models import (
    CapabilityAssessment,
    CqcRating,
    Freedom,
    FreedomEvaluation,
    FreedomGrant,
    GrantEvent,
    MaturityAssessment,
    OversightAction,
)
from .services import (
    close_action,
    confirm_grant,
    enter_programme,
    leave_programme,
    record_aft_step,
    record_capability,
    record_cqc_rating,
)


class FreedomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Freedom
        fields = ["slug", "name", "applies_to", "grant", "criteria", "revoke_at_once_on", "active"]


class FreedomViewSet(ReadOnlyApiViewSet):
    """The freedoms catalogue: each freedom's eligibility parameters, as data."""

    queryset = Freedom.objects.all()
    serializer_class = FreedomSerializer
    lookup_field = "slug"
    ordering = ["slug"]


class GrantEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = GrantEvent
        fields = ["at", "status_from", "status_to", "run", "criteria", "reason", "actor_label"]


class GrantSerializer(serializers.ModelSerializer):
    freedom = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)
    at_risk_since = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    events = GrantEventSerializer(many=True, read_only=True)

    class Meta:
        model = FreedomGrant
        fields = [
            "id",
            "freedom",
            "organisation",
            "status",
            "status_reason",
            "at_risk_since",
            "created_by_run",
            "confirmed_by_label",
            "confirmed_at",
            "nominated_on",
            "panel_decision",
            "panel_decided_on",
            "reassessment_due",
            "events",
        ]


class GrantFilter(django_filters.FilterSet):
    freedom = django_filters.CharFilter(field_name="freedom__slug")
    organisation = django_filters.CharFilter(field_name="organisation__code")

    class Meta:
        model = FreedomGrant
        fields = ["status"]


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["confirm", "decline"])
    reason = serializers.CharField()


class AftStepSerializer(serializers.Serializer):
    nominated_on = serializers.DateField(required=False)
    panel_decision = serializers.ChoiceField(
        choices=["approved", "rejected"], required=False, allow_blank=True
    )
    panel_decided_on = serializers.DateField(required=False)
    reassessment_due = serializers.DateField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class GrantViewSet(ReadOnlyApiViewSet):
    """Grants of freedoms, each with its history (the run and criteria behind every
    change). ``POST …/decide/`` confirms or declines a proposed grant (regional director)."""

    error_field = "grant"

    serializer_class = GrantSerializer
    filterset_class = GrantFilter
    ordering = ["id"]

    @property
    def write_permission(self) -> str:
        if self.action == "aft_step":
            return Permission.MANAGE_FREEDOMS_CATALOGUE
        return Permission.CONFIRM_FREEDOM

    def get_queryset(self):
        return restrict_to_visible(
            FreedomGrant.objects.select_related(
                "freedom", "organisation", "at_risk_since"
            ).prefetch_related("events"),
            self.request.user,
        )

    @extend_schema(request=DecisionSerializer, responses=GrantSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        grant = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = confirm_grant(
            grant=grant,
            actor=request.user,
            reason=body.validated_data["reason"],
            confirm=body.validated_data["decision"] == "confirm",
        )
        return Response(GrantSerializer(grant).data)

    @extend_schema(request=AftStepSerializer, responses=GrantSerializer)
    @action(detail=True, methods=["post"], url_path="aft-step")
    def aft_step(self, request, pk=None):
        """National users record an Advanced Foundation Trust nomination, panel decision or
        reassessment date (within five years of the decision)."""
        grant = self.get_object()
        body = AftStepSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = record_aft_step(grant=grant, actor=request.user, **body.validated_data)
        return Response(GrantSerializer(self.get_queryset().get(pk=grant.pk)).data)


class EvaluationSerializer(serializers.ModelSerializer):
    freedom = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = FreedomEvaluation
        fields = ["run", "freedom", "organisation", "eligible", "criteria"]


class EvaluationFilter(django_filters.FilterSet):
    freedom = django_filters.CharFilter(field_name="freedom__slug")
    organisation = django_filters.CharFilter(field_name="organisation__code")

    class Meta:
        model = FreedomEvaluation
        fields = ["run", "eligible"]


class EvaluationViewSet(ReadOnlyApiViewSet):
    """Every freedom's eligibility for every organisation in a run, criterion by criterion."""

    serializer_class = EvaluationSerializer
    filterset_class = EvaluationFilter
    ordering = ["id"]

    def get_queryset(self):
        return restrict_to_visible(
            FreedomEvaluation.objects.select_related("freedom", "organisation"),
            self.request.user,
        )


class ActionSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = OversightAction
        fields = [
            "id",
            "organisation",
            "kind",
            "title",
            "segment",
            "opened_by_run",
            "owner_label",
            "board_owner_required",
            "board_owner",
            "due_date",
            "status",
            "closed_at",
            "closed_by_label",
        ]


class CloseSerializer(serializers.Serializer):
    note = serializers.CharField()


class ActionFilter(django_filters.FilterSet):
    organisation = django_filters.CharFilter(field_name="organisation__code")

    class Meta:
        model = OversightAction
        fields = ["status", "kind"]


class ActionViewSet(ReadOnlyApiViewSet):
    """Oversight actions opened by the support level; ``POST …/close/`` with a note."""

    error_field = "action"

    serializer_class = ActionSerializer
    filterset_class = ActionFilter
    ordering = ["id"]
    write_permission = Permission.MANAGE_ACTIONS

    def get_queryset(self):
        return restrict_to_visible(
            OversightAction.objects.select_related("organisation"), self.request.user
        )

    @extend_schema(request=CloseSerializer, responses=ActionSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        item = self.get_object()
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = close_action(action=item, actor=request.user, note=body.validated_data["note"])
        return Response(ActionSerializer(item).data)


def _visible_organisation(user, code: str):
    org = visible_organisations(user).filter(code=code).first()
    if org is None:
        raise exceptions.ValidationError(
            {"organisation": [f"No organisation you can see has the code {code!r}."]}
        )
    return org


class ProgrammeMembershipSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ProgrammeMembership
        fields = [
            "id",
            "organisation",
            "entered_on",
            "entry_reason",
            "left_on",
            "exit_reason",
            "recorded_by_label",
            "recorded_at",
        ]


class ProgrammeEntrySerializer(serializers.Serializer):
    organisation = serializers.CharField(help_text="ODS code")
    entered_on = serializers.DateField()
    reason = serializers.CharField()


class ProgrammeExitSerializer(serializers.Serializer):
    left_on = serializers.DateField()
    reason = serializers.CharField()


class ProgrammeMembershipViewSet(mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """Provider Improvement Programme stays. ``POST`` records an entry (live freedoms are
    revoked at once; the next run places it in segment 5); ``POST …/leave/`` an exit."""

    error_field = "organisation"

    serializer_class = ProgrammeMembershipSerializer
    ordering = ["-entered_on"]
    filterset_fields = ["organisation__code"]
    write_permission = INPUT_AUTHORITY[Input.PROGRAMME]

    def get_queryset(self):
        return restrict_to_visible(
            ProgrammeMembership.objects.select_related("organisation"), self.request.user
        )

    @extend_schema(request=ProgrammeEntrySerializer, responses={201: ProgrammeMembershipSerializer})
    def create(self, request, *args, **kwargs):
        body = ProgrammeEntrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        org = _visible_organisation(request.user, body.validated_data["organisation"])
        stay = enter_programme(
            organisation=org,
            entered_on=body.validated_data["entered_on"],
            reason=body.validated_data["reason"],
            actor=request.user,
        )
        return Response(ProgrammeMembershipSerializer(stay).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProgrammeExitSerializer, responses=ProgrammeMembershipSerializer)
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        stay = self.get_object()
        body = ProgrammeExitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stay = leave_programme(
            organisation=stay.organisation,
            left_on=body.validated_data["left_on"],
            reason=body.validated_data["reason"],
            actor=request.user,
        )
        return Response(ProgrammeMembershipSerializer(stay).data)


class RecordForOrganisationMixin(mixins.CreateModelMixin):
    """``POST`` names an organisation by ODS code (one the caller can see) and the service
    ``record`` writes the row; a refusal answers 400 on ``error_field``."""

    create_serializer: type[serializers.Serializer]
    error_field = "organisation"

    def record(self, **fields):
        raise NotImplementedError

    def create(self, request, *args, **kwargs):
        body = self.create_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        org = _visible_organisation(request.user, data.pop("organisation"))
        row = self.record(organisation=org, actor=request.user, **data)
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)


class CapabilitySerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CapabilityAssessment
        fields = [
            "id",
            "organisation",
            "financial_year",
            "assessor",
            "areas",
            "overall",
            "recorded_by_label",
            "recorded_at",
        ]


class CapabilityCreateSerializer(serializers.Serializer):
    organisation = serializers.CharField(help_text="ODS code")
    financial_year = serializers.CharField(help_text="e.g. 2026/27")
    assessor = serializers.ChoiceField(choices=["board", "region"])
    areas = serializers.DictField(child=serializers.IntegerField(), required=False, default=dict)
    overall = serializers.IntegerField()


class CapabilityAssessmentViewSet(RecordForOrganisationMixin, ReadOnlyApiViewSet):
    """Capability assessments: the board's yearly self-assessment and the region's view, per
    area and overall (1 is the strongest). ``POST`` records one (regional and national)."""

    serializer_class = CapabilitySerializer
    ordering = ["-financial_year", "-recorded_at"]
    filterset_fields = ["financial_year", "assessor", "organisation__code"]
    write_permission = Permission.RECORD_ICB_SEGMENT

    def get_queryset(self):
        return restrict_to_visible(
            CapabilityAssessment.objects.select_related("organisation"), self.request.user
        )

    create_serializer = CapabilityCreateSerializer
    error_field = "overall"

    def record(self, **fields):
        return record_capability(**fields)

    @extend_schema(request=CapabilityCreateSerializer, responses={201: CapabilitySerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)


class CqcRatingSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CqcRating
        fields = ["id", "organisation", "rating", "published_on", "source", "recorded_by_label"]


class CqcRatingCreateSerializer(serializers.Serializer):
    organisation = serializers.CharField(help_text="ODS code")
    rating = serializers.ChoiceField(
        choices=["Outstanding", "Good", "Requires improvement", "Inadequate"]
    )
    published_on = serializers.DateField()
    source = serializers.CharField(required=False, allow_blank=True, default="")


class CqcRatingViewSet(RecordForOrganisationMixin, ReadOnlyApiViewSet):
    """CQC overall ratings per provider, dated (the latest applies). ``POST`` records one
    (national users)."""

    serializer_class = CqcRatingSerializer
    ordering = ["-published_on"]
    filterset_fields = ["rating", "organisation__code"]
    write_permission = INPUT_AUTHORITY[Input.RATING]

    def get_queryset(self):
        return restrict_to_visible(
            CqcRating.objects.select_related("organisation"), self.request.user
        )

    create_serializer = CqcRatingCreateSerializer
    error_field = "rating"

    def record(self, **fields):
        return record_cqc_rating(**fields)

    @extend_schema(request=CqcRatingCreateSerializer, responses={201: CqcRatingSerializer})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)


class MaturitySerializer(serializers.ModelSerializer):
    icb = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = MaturityAssessment
        fields = [
            "id",
            "icb",
            "assessed_on",
            "ratings",
            "computed_level",
            "level",
            "override_reason",
            "recorded_by_label",
            "recorded_at",
        ]


class MaturityCreateSerializer(serializers.Serializer):
    icb = serializers.CharField(help_text="The system's ICB, by ODS code")
    assessed_on = serializers.DateField()
    ratings = serializers.DictField(
        help_text="Each criterion's slug → its rating (emerging, developing, maturing, "
        "thriving), or {rating, evidence}"
    )
    level = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Overrides the lowest rating"
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class MaturityAssessmentViewSet(mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """System maturity assessments, newest first: each criterion's rating and evidence, the
    level they give (the lowest) and the level that applies. ``POST`` records one
    (regional and national)."""

    serializer_class = MaturitySerializer
    ordering = ["-assessed_on", "-recorded_at"]
    filterset_fields = ["level"]
    write_permission = Permission.RECORD_ICB_SEGMENT
    error_field = "ratings"

    def get_queryset(self):
        return restrict_to_visible(
            MaturityAssessment.objects.select_related("icb"), self.request.user, field="icb"
        )

    @extend_schema(request=MaturityCreateSerializer, responses={201: MaturitySerializer})
    def create(self, request, *args, **kwargs):
        body = MaturityCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        icb = _visible_organisation(request.user, data.pop("icb"))
        row = record_maturity_assessment(icb=icb, actor=request.user, **data)
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)

"""API for system compacts: ``/api/v1/compacts/`` (each with its parties, meetings,
support requested and status history) and ``/api/v1/compact-commitments/`` (each with its
evaluations run by run). Regional and national roles write; ICB analysts read their own
system and may propose commitments and ask for support."""

from __future__ import annotations

import datetime

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.viewsets import ReadOnlyApiViewSet
from systems.authorization import Permission, restrict_to_visible, visible_organisations

from . import services
from .models import (
    BoardMeeting,
    Commitment,
    CommitmentEvaluation,
    Compact,
    CompactEvent,
    CompactStatus,
    Direction,
    SupportRequest,
    SupportStatus,
)


class BoardMeetingSerializer(serializers.ModelSerializer):
    class Meta:
        model = BoardMeeting
        fields = ["id", "held_on", "attendees", "minutes_reference", "recorded_by_label"]


class SupportRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupportRequest
        fields = ["id", "description", "owner", "status", "status_reason", "updated_at"]


class CompactEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CompactEvent
        fields = ["at", "status_from", "status_to", "reason", "actor_label"]


class CompactSerializer(serializers.ModelSerializer):
    icb = serializers.SlugRelatedField(slug_field="code", read_only=True)
    parties = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    agreed_at = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    not_agreed_by_deadline = serializers.SerializerMethodField()
    meetings = BoardMeetingSerializer(many=True, read_only=True)
    support = SupportRequestSerializer(many=True, read_only=True)
    events = CompactEventSerializer(many=True, read_only=True)

    class Meta:
        model = Compact
        fields = [
            "id",
            "icb",
            "financial_year",
            "status",
            "status_reason",
            "parties",
            "agreed_at",
            "agreed_on",
            "not_agreed_by_deadline",
            "meetings",
            "support",
            "events",
        ]

    def get_not_agreed_by_deadline(self, obj: Compact) -> bool:
        """A draft still, after 31 March before its year."""
        return obj.is_late(datetime.date.today())


class CompactCreateSerializer(serializers.Serializer):
    icb = serializers.CharField(max_length=10, help_text="The system's ICB, by ODS code")
    financial_year = serializers.CharField(max_length=7, help_text="e.g. 2026/27")


class MeetingAttendeeSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    role = serializers.CharField(max_length=150)
    organisation = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class BoardMeetingCreateSerializer(serializers.Serializer):
    held_on = serializers.DateField()
    attendees = MeetingAttendeeSerializer(many=True)
    minutes_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class CompactStatusChangeSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=CompactStatus.choices)
    reason = serializers.CharField()


class SupportRequestCreateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=5000)
    owner = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class SupportRequestUpdateSerializer(serializers.Serializer):
    support = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The support request's id"
    )
    status = serializers.ChoiceField(choices=SupportStatus.choices)
    reason = serializers.CharField(max_length=5000)
    owner = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class CompactFilter(django_filters.FilterSet):
    icb = django_filters.CharFilter(field_name="icb__code", lookup_expr="iexact")

    class Meta:
        model = Compact
        fields = ["financial_year", "status"]


class CompactViewSet(mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """Compacts between NHS England and each system, per financial year. ``POST`` opens one
    (regional and national); ``POST …/meetings/`` records the board-to-board meeting;
    ``POST …/status/`` moves it draft → agreed → in year → closed with a reason;
    ``POST …/support/`` asks for support (the ICB too); ``POST …/support-status/`` records
    where a request stands."""

    serializer_class = CompactSerializer
    filterset_class = CompactFilter
    ordering = ["-financial_year", "icb__code"]
    error_field = "compact"

    @property
    def write_permission(self) -> str:
        if self.action == "support":
            return Permission.PROPOSE_COMMITMENT
        return Permission.MANAGE_COMPACTS

    def get_queryset(self):
        return restrict_to_visible(
            Compact.objects.select_related("icb").prefetch_related(
                "parties", "meetings", "support", "events"
            ),
            self.request.user,
            field="icb",
        )

    @extend_schema(request=CompactCreateSerializer, responses={201: CompactSerializer})
    def create(self, request, *args, **kwargs):
        body = CompactCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        icb = _visible(request.user, body.validated_data["icb"], "icb")
        compact = services.create_compact(
            icb=icb, financial_year=body.validated_data["financial_year"], actor=request.user
        )
        return Response(self._fresh(compact), status=status.HTTP_201_CREATED)

    def _fresh(self, compact: Compact) -> dict:
        return CompactSerializer(self.get_queryset().get(pk=compact.pk)).data

    @extend_schema(request=BoardMeetingCreateSerializer, responses={201: CompactSerializer})
    @action(detail=True, methods=["post"])
    def meetings(self, request, pk=None):
        compact = self.get_object()
        body = BoardMeetingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.record_meeting(compact=compact, actor=request.user, **body.validated_data)
        return Response(self._fresh(compact), status=status.HTTP_201_CREATED)

    @extend_schema(request=CompactStatusChangeSerializer, responses=CompactSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        compact = self.get_object()
        body = CompactStatusChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.move_compact(compact=compact, actor=request.user, **body.validated_data)
        return Response(self._fresh(compact))

    @extend_schema(request=SupportRequestCreateSerializer, responses={201: CompactSerializer})
    @action(detail=True, methods=["post"])
    def support(self, request, pk=None):
        compact = self.get_object()
        body = SupportRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.request_support(compact=compact, actor=request.user, **body.validated_data)
        return Response(self._fresh(compact), status=status.HTTP_201_CREATED)

    @extend_schema(request=SupportRequestUpdateSerializer, responses=CompactSerializer)
    @action(detail=True, methods=["post"], url_path="support-status")
    def support_status(self, request, pk=None):
        compact = self.get_object()
        body = SupportRequestUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        support = compact.support.filter(pk=data.pop("support")).first()
        if support is None:
            raise exceptions.ValidationError({"support": ["No such support request here."]})
        services.update_support(support=support, actor=request.user, **data)
        return Response(self._fresh(compact))


class CommitmentEvaluationSerializer(serializers.ModelSerializer):
    period = serializers.SlugRelatedField(slug_field="label", read_only=True)

    class Meta:
        model = CommitmentEvaluation
        fields = ["run", "period", "status", "value", "expected", "reason", "evaluated_at"]


class CommitmentSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)
    system = serializers.CharField(source="compact.icb.code", read_only=True)
    financial_year = serializers.CharField(source="compact.financial_year", read_only=True)
    evaluations = CommitmentEvaluationSerializer(many=True, read_only=True)

    class Meta:
        model = Commitment
        fields = [
            "id",
            "compact",
            "system",
            "financial_year",
            "organisation",
            "title",
            "detail",
            "metric_id",
            "target",
            "direction",
            "trajectory",
            "due_on",
            "accountable_name",
            "accountable_role",
            "status",
            "status_reason",
            "proposed_by_label",
            "evaluations",
        ]


class CommitmentCreateSerializer(serializers.Serializer):
    compact = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The compact's id"
    )
    organisation = serializers.CharField(max_length=10, help_text="A party's ODS code")
    title = serializers.CharField(max_length=300)
    detail = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    metric_id = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    target = serializers.FloatField(required=False, allow_null=True, default=None)
    direction = serializers.ChoiceField(
        choices=Direction.choices, required=False, allow_blank=True, default=""
    )
    trajectory = serializers.DictField(
        child=serializers.FloatField(), required=False, default=dict, help_text='{"Q1": 80}'
    )
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    accountable_name = serializers.CharField(max_length=150)
    accountable_role = serializers.CharField(max_length=150)
    accountable_email = serializers.EmailField(required=False, allow_blank=True, default="")


class CommitmentDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "withdraw"])
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class CommitmentFilter(django_filters.FilterSet):
    system = django_filters.CharFilter(field_name="compact__icb__code", lookup_expr="iexact")
    organisation = django_filters.CharFilter(field_name="organisation__code", lookup_expr="iexact")
    financial_year = django_filters.CharFilter(field_name="compact__financial_year")

    class Meta:
        model = Commitment
        fields = ["status", "metric_id"]


class CommitmentViewSet(mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """Commitments of the compacts, each with its evaluation against every run it was
    tracked on. ``POST`` proposes one (ICB analysts: waits for the region; regional and
    national: in the compact at once); ``POST …/decide/`` accepts or withdraws it."""

    serializer_class = CommitmentSerializer
    filterset_class = CommitmentFilter
    ordering = ["compact_id", "id"]
    error_field = "commitment"

    @property
    def write_permission(self) -> str:
        if self.action == "decide":
            return Permission.MANAGE_COMPACTS
        return Permission.PROPOSE_COMMITMENT

    def get_queryset(self):
        return restrict_to_visible(
            Commitment.objects.select_related("organisation", "compact", "compact__icb")
            .prefetch_related("evaluations__period")
            .order_by("compact_id", "id"),
            self.request.user,
            field="compact__icb",
        )

    @extend_schema(request=CommitmentCreateSerializer, responses={201: CommitmentSerializer})
    def create(self, request, *args, **kwargs):
        body = CommitmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        compact = (
            restrict_to_visible(Compact.objects.all(), request.user, field="icb")
            .filter(pk=data.pop("compact"))
            .first()
        )
        if compact is None:
            raise exceptions.ValidationError({"compact": ["No compact you can see has that id."]})
        code = data.pop("organisation")
        organisation = compact.parties.filter(code__iexact=code).first()
        if organisation is None:
            raise exceptions.ValidationError(
                {"organisation": [f"{code!r} is not a party to this compact."]}
            )
        made = services.propose_commitment(
            compact=compact, organisation=organisation, actor=request.user, **data
        )
        return Response(
            CommitmentSerializer(self.get_queryset().get(pk=made.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=CommitmentDecideSerializer, responses=CommitmentSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        commitment = self.get_object()
        body = CommitmentDecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.decide_commitment(
            commitment=commitment,
            accept=body.validated_data["decision"] == "accept",
            reason=body.validated_data["reason"],
            actor=request.user,
        )
        return Response(CommitmentSerializer(self.get_queryset().get(pk=commitment.pk)).data)


def _visible(user, code: str, field: str):
    org = visible_organisations(user).filter(code__iexact=code.strip()).first()
    if org is None:
        raise exceptions.ValidationError(
            {field: [f"No organisation you can see has the code {code!r}."]}
        )
    return org

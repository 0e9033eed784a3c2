"""API for delegated specialised services: the catalogue and its timeline, agreements (with
schedule, developmental arrangements, conditions and merger lineage), ICB segments, the
conditions, commissioning change requests and collaboration arrangements.

Writes: a regional director signs agreements of their region's ICBs and decides their change
requests; ICB analysts raise requests; national and regional users record ICB segments."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.viewsets import ReadOnlyApiViewSet
from systems.authorization import (
    Permission,
    has_permission,
    restrict_to_visible,
    visible_organisations,
)
from systems.models import IntegratedCareBoard

from . import services
from .models import (
    AgreementCondition,
    AgreementService,
    ChangeRequestEvent,
    CollaborationArrangement,
    CommissioningChangeRequest,
    DelegationAgreement,
    DelegationTimeline,
    DevelopmentalArrangement,
    IcbSegment,
    SpecialisedService,
)

# --- Catalogue -------------------------------------------------------------------------------


class SpecialisedServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpecialisedService
        fields = [
            "id",
            "name",
            "code",
            "programme_of_care",
            "status",
            "highly_specialised",
            "tranche",
            "source",
            "retired_on",
        ]


class SpecialisedServiceViewSet(ReadOnlyApiViewSet):
    """The specialised services catalogue: delegable or retained (every highly specialised
    service is retained), tranche and programme of care."""

    queryset = SpecialisedService.objects.all()
    serializer_class = SpecialisedServiceSerializer
    filterset_fields = ["status", "tranche", "highly_specialised"]
    ordering = ["name"]


class TimelineSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="ods_code", read_only=True)

    class Meta:
        model = DelegationTimeline
        fields = ["region", "tranche", "arrangement", "starts_on"]


class TimelineViewSet(ReadOnlyApiViewSet):
    """When each tranche of services came under joint committees and was delegated, by
    region."""

    queryset = DelegationTimeline.objects.select_related("region")
    serializer_class = TimelineSerializer
    ordering = ["region__ods_code", "tranche", "starts_on"]


# --- Agreements ------------------------------------------------------------------------------


class ScheduleSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = AgreementService
        fields = ["service", "effective_from", "effective_to"]


class DevelopmentalArrangementSerializer(serializers.ModelSerializer):
    class Meta:
        model = DevelopmentalArrangement
        fields = ["category", "text", "agreed_by", "review_date"]


class ConditionSerializer(serializers.ModelSerializer):
    rule = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    icb = serializers.CharField(source="agreement.icb.code", read_only=True)
    applied_because = serializers.CharField(source="applied_because.source", read_only=True)
    segment = serializers.IntegerField(source="applied_because.segment", read_only=True)
    in_force = serializers.BooleanField(read_only=True)

    class Meta:
        model = AgreementCondition
        fields = [
            "id",
            "agreement",
            "icb",
            "rule",
            "in_force",
            "segment",
            "applied_on",
            "applied_because",
            "lifted_on",
            "lift_reason",
        ]


class AgreementSerializer(serializers.ModelSerializer):
    icb = serializers.SlugRelatedField(slug_field="code", read_only=True)
    template = serializers.SlugRelatedField(slug_field="version", read_only=True)
    schedule = ScheduleSerializer(many=True, read_only=True)
    developmental_arrangements = DevelopmentalArrangementSerializer(many=True, read_only=True)
    conditions = ConditionSerializer(many=True, read_only=True)
    predecessors = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    successors = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = DelegationAgreement
        fields = [
            "id",
            "icb",
            "financial_year",
            "template",
            "status",
            "starts_on",
            "ends_on",
            "signed_by_label",
            "signed_on",
            "in_force_from",
            "ended_on",
            "end_reason",
            "predecessors",
            "successors",
            "schedule",
            "developmental_arrangements",
            "conditions",
        ]


class AgreementFilter(django_filters.FilterSet):
    icb = django_filters.CharFilter(field_name="icb__code")

    class Meta:
        model = DelegationAgreement
        fields = ["financial_year", "status"]


class SignSerializer(serializers.Serializer):
    signed_on = serializers.DateField(required=False)


class AgreementCreateSerializer(serializers.Serializer):
    icb = serializers.CharField(help_text="The ICB's ODS code.")
    financial_year = serializers.CharField(help_text="e.g. 2026/27")


class AgreementViewSet(mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """Delegation agreements per ICB and financial year. ``POST`` prepares a draft from the
    year's template (national and regional users); ``POST …/sign/``: the regional director
    of the ICB's own region signs."""

    error_field = "agreement"

    serializer_class = AgreementSerializer
    filterset_class = AgreementFilter
    ordering = ["-financial_year", "icb__name"]

    @property
    def write_permission(self) -> str:
        if self.action == "create":
            return Permission.MANAGE_DELEGATION
        return Permission.SIGN_DELEGATION_AGREEMENT

    @extend_schema(request=AgreementCreateSerializer, responses={201: AgreementSerializer})
    def create(self, request, *args, **kwargs):
        body = AgreementCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        icb = _visible_icb(request.user, body.validated_data["icb"])
        agreement = services.create_agreement(
            actor=request.user, icb=icb, financial_year=body.validated_data["financial_year"]
        )
        return Response(
            AgreementSerializer(self.get_queryset().get(pk=agreement.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def get_queryset(self):
        return restrict_to_visible(
            DelegationAgreement.objects.select_related("icb", "template").prefetch_related(
                "schedule__service",
                "developmental_arrangements",
                "conditions__rule",
                "conditions__applied_because",
                "conditions__agreement__icb",
                "predecessors",
                "successors",
            ),
            self.request.user,
            field="icb",
        )

    @extend_schema(request=SignSerializer, responses=AgreementSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        agreement = self.get_object()
        body = SignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        agreement = services.sign_agreement(
            actor=request.user,
            agreement=agreement,
            signed_on=body.validated_data.get("signed_on"),
        )
        return Response(AgreementSerializer(self.get_queryset().get(pk=agreement.pk)).data)


class ConditionFilter(django_filters.FilterSet):
    icb = django_filters.CharFilter(field_name="agreement__icb__code")
    in_force = django_filters.BooleanFilter(field_name="lifted_at", lookup_expr="isnull")

    class Meta:
        model = AgreementCondition
        fields = ["agreement"]


class ConditionViewSet(ReadOnlyApiViewSet):
    """The spending-approval condition on in-force agreements: when and why it was applied
    and lifted (``?in_force=true`` for those in force now)."""

    serializer_class = ConditionSerializer
    filterset_class = ConditionFilter
    ordering = ["-applied_at"]

    def get_queryset(self):
        return restrict_to_visible(
            AgreementCondition.objects.select_related("agreement__icb", "rule", "applied_because"),
            self.request.user,
            field="agreement__icb",
        )


# --- ICB segments ------------------------------------------------------------------------------


class IcbSegmentSerializer(serializers.ModelSerializer):
    icb = serializers.SlugRelatedField(slug_field="code", read_only=True)
    period = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = IcbSegment
        fields = [
            "id",
            "icb",
            "segment",
            "as_of",
            "source_kind",
            "source",
            "run",
            "period",
            "reason",
            "recorded_by_label",
            "recorded_at",
        ]


class IcbSegmentCreateSerializer(serializers.Serializer):
    icb = serializers.CharField(help_text="The ICB's ODS code.")
    segment = serializers.IntegerField(min_value=1, max_value=5)
    source = serializers.CharField(max_length=300)
    as_of = serializers.DateField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class IcbSegmentFilter(django_filters.FilterSet):
    icb = django_filters.CharFilter(field_name="icb__code")

    class Meta:
        model = IcbSegment
        fields = ["source_kind", "segment"]


class IcbSegmentViewSet(mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """ICB segments, computed by runs or recorded by people, newest first (the first for
    an ICB applies). ``POST`` records one (national and regional users)."""

    serializer_class = IcbSegmentSerializer
    filterset_class = IcbSegmentFilter
    ordering = ["-as_of", "-recorded_at"]
    write_permission = Permission.RECORD_ICB_SEGMENT

    def get_queryset(self):
        return restrict_to_visible(
            IcbSegment.objects.select_related("icb", "period"), self.request.user, field="icb"
        )

    @extend_schema(request=IcbSegmentCreateSerializer, responses={201: IcbSegmentSerializer})
    def create(self, request, *args, **kwargs):
        body = IcbSegmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        icb = _visible_icb(request.user, data["icb"])
        record = services.record_icb_segment(
            actor=request.user,
            icb=icb,
            segment=data["segment"],
            source=data["source"],
            as_of=data.get("as_of"),
            reason=data["reason"],
        )
        return Response(IcbSegmentSerializer(record).data, status=status.HTTP_201_CREATED)


def _visible_icb(user, code: str) -> IntegratedCareBoard:
    icb = IntegratedCareBoard.objects.filter(
        code=code, pk__in=visible_organisations(user).values("pk")
    ).first()
    if icb is None:
        raise exceptions.ValidationError({"icb": [f"No ICB you can see has the code {code!r}."]})
    return icb


# --- Change requests -----------------------------------------------------------------------------


class ChangeRequestEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeRequestEvent
        fields = ["at", "status_from", "status_to", "actor_label", "note"]


class ChangeRequestSerializer(serializers.ModelSerializer):
    icb = serializers.SlugRelatedField(slug_field="code", read_only=True)
    services = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    events = ChangeRequestEventSerializer(many=True, read_only=True)

    class Meta:
        model = CommissioningChangeRequest
        fields = [
            "id",
            "icb",
            "agreement",
            "services",
            "title",
            "description",
            "annual_spend_effect",
            "changes_overall_spend",
            "intended_start",
            "status",
            "needs_approval",
            "condition",
            "raised_by_label",
            "raised_at",
            "decided_by_label",
            "decided_at",
            "decision_reason",
            "started_on",
            "events",
        ]


class ChangeRequestCreateSerializer(serializers.Serializer):
    icb = serializers.CharField(help_text="The ICB's ODS code.")
    services = serializers.ListField(
        child=serializers.CharField(), min_length=1, help_text="Service names or ids."
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    annual_spend_effect = serializers.DecimalField(max_digits=14, decimal_places=2)
    changes_overall_spend = serializers.BooleanField()
    intended_start = serializers.DateField()


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField()


class StartSerializer(serializers.Serializer):
    started_on = serializers.DateField(required=False)


class ChangeRequestFilter(django_filters.FilterSet):
    icb = django_filters.CharFilter(field_name="icb__code")

    class Meta:
        model = CommissioningChangeRequest
        fields = ["status", "needs_approval"]


class ChangeRequestViewSet(mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """Commissioning change requests. ``POST`` raises one (ICB analysts); ``…/decide/``
    approves or rejects with a reason (the region's director); ``…/start/`` marks it
    started (only once approved, or when no approval was needed)."""

    error_field = "request"

    serializer_class = ChangeRequestSerializer
    filterset_class = ChangeRequestFilter
    ordering = ["-raised_at"]

    @property
    def write_permission(self) -> str:
        if self.action == "decide":
            return Permission.DECIDE_CHANGE_REQUEST
        if self.action == "start" and not has_permission(
            self.request.user, Permission.RAISE_CHANGE_REQUEST
        ):
            return Permission.DECIDE_CHANGE_REQUEST
        return Permission.RAISE_CHANGE_REQUEST

    def get_queryset(self):
        return restrict_to_visible(
            CommissioningChangeRequest.objects.select_related("icb").prefetch_related(
                "services", "events"
            ),
            self.request.user,
            field="icb",
        )

    def _answer(self, item, code=status.HTTP_200_OK) -> Response:
        return Response(
            ChangeRequestSerializer(self.get_queryset().get(pk=item.pk)).data, status=code
        )

    @extend_schema(request=ChangeRequestCreateSerializer, responses={201: ChangeRequestSerializer})
    def create(self, request, *args, **kwargs):
        body = ChangeRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        icb = _visible_icb(request.user, data["icb"])
        wanted = data["services"]
        found = {s.name: s for s in SpecialisedService.objects.filter(name__in=wanted)}
        found |= {
            str(s.pk): s
            for s in SpecialisedService.objects.filter(pk__in=[w for w in wanted if w.isdigit()])
        }
        unknown = [w for w in wanted if w not in found]
        if unknown:
            raise exceptions.ValidationError(
                {"services": [f"Not in the catalogue: {', '.join(unknown)}."]}
            )
        item = services.raise_change_request(
            actor=request.user,
            icb=icb,
            services=[found[w] for w in wanted],
            title=data["title"],
            description=data["description"],
            annual_spend_effect=data["annual_spend_effect"],
            changes_overall_spend=data["changes_overall_spend"],
            intended_start=data["intended_start"],
        )
        return self._answer(item, status.HTTP_201_CREATED)

    @extend_schema(request=DecideSerializer, responses=ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        item = self.get_object()
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.decide_change_request(
            actor=request.user,
            request=item,
            approve=body.validated_data["decision"] == "approve",
            reason=body.validated_data["reason"],
        )
        return self._answer(item)

    @extend_schema(request=StartSerializer, responses=ChangeRequestSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        item = self.get_object()
        body = StartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.start_change_request(
            actor=request.user,
            request=item,
            started_on=body.validated_data.get("started_on"),
        )
        return self._answer(item)


# --- Collaboration ---------------------------------------------------------------------------


class CollaborationSerializer(serializers.ModelSerializer):
    members = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    services = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = CollaborationArrangement
        fields = ["id", "name", "kind", "members", "services", "formed_on", "ended_on"]


class CollaborationViewSet(ReadOnlyApiViewSet):
    """Collaboration arrangements: the ICBs that plan delegated services together."""

    serializer_class = CollaborationSerializer
    ordering = ["name"]

    def get_queryset(self):
        visible = visible_organisations(self.request.user).values("pk")
        return (
            CollaborationArrangement.objects.filter(members__in=visible)
            .distinct()
            .prefetch_related("members", "services")
        )

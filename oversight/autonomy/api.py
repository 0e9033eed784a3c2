"""API for earned autonomy and the oversight response: the freedoms catalogue, grants
with their history, per-run evaluations, oversight actions and the caller's notifications.
Decisions (confirm or decline a proposed grant, close an action) for the roles allowed."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import HasPermission
from config.api_views import ConditionalListMixin, ReadOnlyApiViewSet
from systems.authorization import Permission, restrict_to_visible

from .models import (
    Freedom,
    FreedomEvaluation,
    FreedomGrant,
    GrantEvent,
    Notification,
    OversightAction,
)
from .services import AutonomyError, close_action, confirm_grant


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


class GrantViewSet(ReadOnlyApiViewSet):
    """Grants of freedoms, each with its history (the run and criteria behind every
    change). ``POST …/decide/`` confirms or declines a proposed grant (regional director)."""

    serializer_class = GrantSerializer
    filterset_class = GrantFilter
    ordering = ["id"]
    write_permission = Permission.CONFIRM_FREEDOM

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
        try:
            grant = confirm_grant(
                grant=grant,
                actor=request.user,
                reason=body.validated_data["reason"],
                confirm=body.validated_data["decision"] == "confirm",
            )
        except AutonomyError as exc:
            raise exceptions.ValidationError({"grant": [str(exc)]}) from exc
        return Response(GrantSerializer(grant).data)


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
        try:
            item = close_action(action=item, actor=request.user, note=body.validated_data["note"])
        except AutonomyError as exc:
            raise exceptions.ValidationError({"action": [str(exc)]}) from exc
        return Response(ActionSerializer(item).data)


class NotificationSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "organisation", "subject", "body", "created_at", "read_at"]


class NotificationViewSet(ConditionalListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own notifications, newest first."""

    permission_classes = [HasPermission]
    permission = Permission.VIEW_ORGANISATION
    serializer_class = NotificationSerializer

    def get_queryset(self):
        user = self.request.user
        if not getattr(user, "pk", None) or getattr(user, "api_token", None) is not None:
            return Notification.objects.none()
        return Notification.objects.filter(user=user).select_related("organisation")

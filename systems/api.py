"""API endpoints for organisations, API tokens, the audit log and the caller's own access."""

from __future__ import annotations

import django_filters
from django.db.models import Max, Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import HasPermission
from api.viewsets import ConditionalListMixin, ReadOnlyApiViewSet

from . import services
from .authorization import Permission, grants, visible_organisations
from .models import (
    ApiToken,
    AuditEvent,
    IntegratedCareBoard,
    Region,
    Role,
    Succession,
    Trust,
)

# --- Organisations ------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["ods_code", "ons_code", "name", "short_name"]


class SuccessionLinkSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    date = serializers.DateField()
    succession_type = serializers.CharField()


def _links(successions, attribute: str) -> list[dict]:
    return [
        {
            "code": getattr(s, attribute).code,
            "name": getattr(s, attribute).name,
            "date": s.date,
            "succession_type": s.succession_type,
        }
        for s in successions
    ]


class SuccessionsMixin(serializers.Serializer):
    region = serializers.SlugRelatedField(slug_field="ods_code", read_only=True)
    predecessors = serializers.SerializerMethodField()
    successors = serializers.SerializerMethodField()

    @extend_schema_field(SuccessionLinkSerializer(many=True))
    def get_predecessors(self, obj) -> list[dict]:
        return _links(obj.successions_in.all(), "predecessor")

    @extend_schema_field(SuccessionLinkSerializer(many=True))
    def get_successors(self, obj) -> list[dict]:
        return _links(obj.successions_out.all(), "successor")


ORGANISATION_FIELDS = [
    "code",
    "name",
    "kind",
    "peer_group",
    "region",
    "open_date",
    "close_date",
    "predecessors",
    "successors",
]


class IntegratedCareBoardSerializer(SuccessionsMixin, serializers.ModelSerializer):
    class Meta:
        model = IntegratedCareBoard
        fields = [*ORGANISATION_FIELDS, "ons_code"]


class TrustSerializer(SuccessionsMixin, serializers.ModelSerializer):
    icb_before_2026 = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    icb_from_2026 = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Trust
        fields = [
            *ORGANISATION_FIELDS,
            "trust_type",
            "subtype",
            "is_foundation_trust",
            "icb_before_2026",
            "icb_from_2026",
            "former_name",
        ]


def _with_successions(queryset):
    return queryset.select_related("region").prefetch_related(
        Prefetch("successions_in", Succession.objects.select_related("predecessor")),
        Prefetch("successions_out", Succession.objects.select_related("successor")),
    )


class OrganisationFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__ods_code", label="Region ODS code")
    open_on = django_filters.DateFilter(method="filter_open_on", label="Open on this date")

    def filter_open_on(self, queryset, name, value):
        return queryset.existing_on(value)


class TrustFilter(OrganisationFilter):
    icb = django_filters.CharFilter(method="filter_icb", label="Host ICB code (either era)")

    class Meta:
        model = Trust
        fields = ["peer_group", "trust_type", "is_foundation_trust"]

    def filter_icb(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(icb_before_2026__code=value) | Q(icb_from_2026__code=value))


class IntegratedCareBoardFilter(OrganisationFilter):
    class Meta:
        model = IntegratedCareBoard
        fields: list[str] = []


class RegionViewSet(ReadOnlyApiViewSet):
    """NHS England's regions that hold organisations the caller may see."""

    serializer_class = RegionSerializer
    lookup_field = "ods_code"
    ordering_fields = ["name", "ods_code"]
    ordering = ["name"]

    def get_queryset(self):
        visible = visible_organisations(self.request.user)
        return Region.objects.filter(pk__in=visible.values("region_id")).order_by("name")


class IntegratedCareBoardViewSet(ReadOnlyApiViewSet):
    """Integrated care boards, with their predecessors and successors."""

    serializer_class = IntegratedCareBoardSerializer
    lookup_field = "code"
    filterset_class = IntegratedCareBoardFilter
    ordering_fields = ["name", "code", "open_date", "close_date"]
    ordering = ["name"]
    search_fields = ["name", "code"]

    def get_queryset(self):
        visible = visible_organisations(self.request.user)
        return _with_successions(IntegratedCareBoard.objects.filter(pk__in=visible.values("pk")))


class TrustViewSet(ReadOnlyApiViewSet):
    """NHS trusts and foundation trusts, with host ICBs, predecessors and successors."""

    serializer_class = TrustSerializer
    lookup_field = "code"
    filterset_class = TrustFilter
    ordering_fields = ["name", "code", "peer_group", "open_date", "close_date"]
    ordering = ["name"]
    search_fields = ["name", "code", "former_name"]

    def get_queryset(self):
        visible = visible_organisations(self.request.user)
        return _with_successions(
            Trust.objects.filter(pk__in=visible.values("pk")).select_related(
                "icb_before_2026", "icb_from_2026"
            )
        )


# --- API tokens (national: manage_tokens) -------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="ods_code", read_only=True, allow_null=True)
    icb = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "role",
            "region",
            "icb",
            "can_upload",
            "active",
            "created_by_label",
            "created_at",
            "last_used_at",
            "revoked_at",
            "revoked_by_label",
            "revoke_reason",
        ]


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices)
    region = serializers.SlugRelatedField(
        slug_field="ods_code", queryset=Region.objects.all(), required=False, allow_null=True
    )
    icb = serializers.SlugRelatedField(
        slug_field="code",
        queryset=IntegratedCareBoard.objects.all(),
        required=False,
        allow_null=True,
    )
    can_upload = serializers.BooleanField(default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ApiTokenViewSet(
    ConditionalListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """API tokens. Creating one answers the token itself, once; only its hash is kept."""

    permission_classes = [HasPermission]
    permission = Permission.MANAGE_TOKENS
    write_permission = Permission.MANAGE_TOKENS
    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.select_related("region", "icb")
    filterset_fields = ["role", "can_upload"]
    ordering_fields = ["created_at", "last_used_at", "name"]
    ordering = ["-created_at"]

    def last_modified(self, request):
        return ApiToken.objects.aggregate(at=Max("created_at"))["at"]

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: NewApiTokenSerializer})
    def create(self, request):
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        new = services.create_api_token(actor=request.user, **form.validated_data)
        body = NewApiTokenSerializer(new.token).data | {"token": new.raw}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=RevokeSerializer, responses={200: ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        form = RevokeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        token = services.revoke_api_token(
            token=self.get_object(), actor=request.user, reason=form.validated_data["reason"]
        )
        return Response(ApiTokenSerializer(token).data)


# --- Audit log (national: view_audit) -----------------------------------------------------


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "reason",
        ]


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(lookup_expr="startswith", label="Action (prefix)")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains")
    since = django_filters.DateFilter(field_name="at__date", lookup_expr="gte", label="From")
    until = django_filters.DateFilter(
        field_name="at__date", lookup_expr="lte", label="To (inclusive)"
    )

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id"]


class AuditEventViewSet(ReadOnlyApiViewSet):
    """Every recorded state change: who, when, what, before and after, why."""

    permission = Permission.VIEW_AUDIT
    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.all()
    filterset_class = AuditEventFilter
    ordering_fields = ["at", "action"]
    ordering = ["-at", "-id"]
    search_fields = ["object_repr", "reason", "actor_label"]

    def last_modified(self, request):
        return AuditEvent.objects.aggregate(at=Max("at"))["at"]


# --- The caller ---------------------------------------------------------------------------


class MeView(APIView):
    """Who the caller is, the roles and scopes they hold and what they may do."""

    permission_classes = [HasPermission]
    permission = ""  # any signed-in user or token

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "via_token": serializers.BooleanField(),
                "roles": inline_serializer(
                    "MeRole",
                    {
                        "role": serializers.CharField(),
                        "region": serializers.CharField(allow_null=True),
                        "icb": serializers.CharField(allow_null=True),
                        "permissions": serializers.ListField(child=serializers.CharField()),
                    },
                    many=True,
                ),
            },
        )
    )
    def get(self, request):
        regions = dict(Region.objects.values_list("pk", "ods_code"))
        icbs = dict(IntegratedCareBoard.objects.values_list("pk", "code"))
        return Response(
            {
                "username": request.user.get_username(),
                "via_token": isinstance(request.auth, ApiToken),
                "roles": [
                    {
                        "role": g.role,
                        "region": regions.get(g.region_id),
                        "icb": icbs.get(g.icb_id),
                        "permissions": sorted(str(p) for p in g.permissions),
                    }
                    for g in grants(request.user)
                ],
            }
        )

"""API endpoints for methodologies, the metric catalogue, periods, metric values, runs,
assessments, league tables and explanations. Reads go through ``oversight.selectors``;
scope through ``systems.authorization``."""

from __future__ import annotations

import django_filters
from django.db.models import Max, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import HasPermission
from api.viewsets import ConditionalListMixin, ReadOnlyApiViewSet, ResultCacheMixin
from systems.authorization import Permission, restrict_to_visible, visible_organisations
from systems.models import PeerGroup

from . import selectors
from .models import (
    STORED_METRIC_FIELDS,
    Methodology,
    MetricDefinition,
    MetricValue,
    Notification,
    OrganisationAssessment,
    ReportingPeriod,
    RunStatus,
    SegmentationRun,
    period_slug,
)
from .movement_api import MovementSerializer
from .preview import preview_of
from .runs import PublicationRefused, publish_run

# --- Methodologies, catalogue, periods ----------------------------------------------------


class MethodologySerializer(serializers.ModelSerializer):
    thresholds = serializers.SerializerMethodField()

    class Meta:
        model = Methodology
        fields = [
            "slug",
            "name",
            "version",
            "description",
            "effective_from",
            "effective_to",
            "segmentation_method",
            "quartile_pool",
            "thresholds",
            "min_metric_count",
            "segmented_peer_groups",
            "peer_groups",
            "domains",
            "override_cap",
            "rating_lookback_days",
            "replicates",
            "rounding",
            "updated_at",
        ]

    def get_thresholds(self, obj) -> list[float] | None:
        return list(obj.thresholds) if obj.thresholds else None


class MethodologyViewSet(ReadOnlyApiViewSet):
    """Versioned rule sets: how metrics become scores and scores become segments."""

    serializer_class = MethodologySerializer
    queryset = Methodology.objects.all()
    lookup_field = "slug"
    ordering_fields = ["slug", "effective_from"]
    ordering = ["slug"]

    def last_modified(self, request):
        return Methodology.objects.aggregate(at=Max("updated_at"))["at"]


class MetricDefinitionSerializer(serializers.ModelSerializer):
    methodology = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = MetricDefinition
        fields = ["id", "methodology", "position", *STORED_METRIC_FIELDS]


class MetricDefinitionFilter(django_filters.FilterSet):
    methodology = django_filters.CharFilter(field_name="methodology__slug")

    class Meta:
        model = MetricDefinition
        fields = ["score_id", "value_id", "domain", "method", "contextual"]


class MetricDefinitionViewSet(ReadOnlyApiViewSet):
    """The metric catalogue of each methodology."""

    serializer_class = MetricDefinitionSerializer
    queryset = MetricDefinition.objects.select_related("methodology")
    filterset_class = MetricDefinitionFilter
    ordering_fields = ["position", "score_id", "domain"]
    ordering = ["methodology__slug", "position"]
    search_fields = ["name", "score_id", "value_id"]

    def last_modified(self, request):
        return Methodology.objects.aggregate(at=Max("updated_at"))["at"]


class PeriodSerializer(serializers.ModelSerializer):
    methodology = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    pinned_cut_points = serializers.SerializerMethodField()

    class Meta:
        model = ReportingPeriod
        fields = [
            "slug",
            "label",
            "financial_year",
            "quarter",
            "start_date",
            "end_date",
            "methodology",
            "pinned_cut_points",
            "pinned_by_label",
            "pinned_at",
            "pin_reason",
            "current_run",
        ]

    def get_pinned_cut_points(self, obj) -> list[float] | None:
        return list(obj.pinned_cut_points) if obj.pinned_cut_points else None


class PeriodFilter(django_filters.FilterSet):
    methodology = django_filters.CharFilter(field_name="methodology__slug")

    class Meta:
        model = ReportingPeriod
        fields = ["financial_year", "quarter"]


class PeriodViewSet(ReadOnlyApiViewSet):
    """Reporting quarters, each assessed under one methodology, with its current run."""

    serializer_class = PeriodSerializer
    queryset = ReportingPeriod.objects.select_related("methodology")
    lookup_field = "slug"
    filterset_class = PeriodFilter
    ordering_fields = ["start_date", "slug"]
    ordering = ["start_date"]


# --- Metric values (with provenance) ------------------------------------------------------


class MetricValueSerializer(serializers.ModelSerializer):
    period = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = MetricValue
        fields = [
            "id",
            "period",
            "organisation",
            "metric_id",
            "kind",
            "value",
            "text",
            "reporting_date",
            "reporting_period_text",
            "source",
            "recorded_by_label",
            "recorded_at",
            "superseded_at",
            "current",
        ]

    def get_current(self, obj) -> bool:
        return obj.superseded_at is None


class MetricValueFilter(django_filters.FilterSet):
    period = django_filters.CharFilter(field_name="period__slug")
    organisation = django_filters.CharFilter(field_name="organisation__code")
    current = django_filters.BooleanFilter(
        field_name="superseded_at", lookup_expr="isnull", label="Only current (not superseded)"
    )

    class Meta:
        model = MetricValue
        fields = ["metric_id", "kind"]


class MetricValueViewSet(ReadOnlyApiViewSet):
    """Inputs as stored, each with where it came from (source, who, when) and whether a
    newer value has superseded it."""

    serializer_class = MetricValueSerializer
    filterset_class = MetricValueFilter
    ordering_fields = ["recorded_at", "metric_id", "id"]
    ordering = ["id"]

    def get_queryset(self):
        return restrict_to_visible(
            MetricValue.objects.select_related("period", "organisation"), self.request.user
        )

    def last_modified(self, request):
        row = self.filter_queryset(self.get_queryset()).aggregate(
            recorded=Max("recorded_at"), superseded=Max("superseded_at")
        )
        stamps = [t for t in row.values() if t]
        return max(stamps) if stamps else None


# --- Runs ---------------------------------------------------------------------------------


class RunSerializer(serializers.ModelSerializer):
    period = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    methodology = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    cut_points = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField()
    state = serializers.ChoiceField(
        choices=["published", "provisional", "superseded", "running", "failed"],
        read_only=True,
        help_text="published: the period's official results; provisional: not published.",
    )

    class Meta:
        model = SegmentationRun
        fields = [
            "id",
            "period",
            "methodology",
            "methodology_fingerprint",
            "inputs_fingerprint",
            "status",
            "state",
            "is_current",
            "published_at",
            "published_by_label",
            "publication_reason",
            "inputs_as_at",
            "seed",
            "replicates",
            "trigger",
            "triggered_by_label",
            "created_at",
            "started_at",
            "finished_at",
            "cut_points",
            "cut_points_source",
            "cut_points_by_peer_group",
            "recomputed_cut_points",
            "ranked_against",
            "organisation_count",
            "segment_counts",
            "pools",
            "warnings",
            "error",
        ]

    def get_cut_points(self, obj) -> list[float] | None:
        return list(obj.cut_points) if obj.cut_points else None

    def get_is_current(self, obj) -> bool:
        """The period's published run."""
        return obj.period.current_run_id == obj.pk


class MoveSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    peer_group = serializers.CharField()
    published = serializers.IntegerField(allow_null=True, help_text="Final segment published")
    provisional = serializers.IntegerField(allow_null=True, help_text="Final segment here")
    cause = serializers.CharField(
        help_text="Its own data changed, or others' values moved its rank in a shared pool."
    )


class PreviewSerializer(serializers.Serializer):
    run = serializers.IntegerField(source="run.pk")
    published_run = serializers.IntegerField(source="published.pk", allow_null=True)
    changes_anything = serializers.BooleanField()
    moves = MoveSerializer(many=True)
    moves_elsewhere = serializers.IntegerField(
        help_text="Moves among organisations the caller may not see (counted only)."
    )
    freedoms_at_risk = serializers.ListField(child=serializers.DictField())
    freedoms_eligible = serializers.ListField(child=serializers.DictField())
    conditions = serializers.ListField(child=serializers.DictField())
    cut_points = serializers.CharField(allow_blank=True)
    pools = serializers.CharField(
        allow_blank=True, help_text="How the run's rank scores were worked: held or afresh."
    )


class PublishSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why; required when the period already has published results.",
    )


class RunFilter(django_filters.FilterSet):
    period = django_filters.CharFilter(field_name="period__slug")
    current = django_filters.BooleanFilter(
        field_name="current_for", lookup_expr="isnull", exclude=True, label="Only current runs"
    )

    class Meta:
        model = SegmentationRun
        fields = ["status"]


class RunViewSet(ReadOnlyApiViewSet):
    """Segmentation runs (national aggregates: cut points and counts per segment), whether
    each is its period's published results, and for a run not published, a preview of what
    publishing it would change. National users publish a run (``POST …/publish/``)."""

    serializer_class = RunSerializer
    write_permission = Permission.PUBLISH_RESULTS
    queryset = SegmentationRun.objects.select_related("period", "methodology")
    filterset_class = RunFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    @extend_schema(request=PublishSerializer, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Make this run its period's official results; its consequences follow."""
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = publish_run(
                run=self.get_object(),
                actor=request.user,
                reason=body.validated_data.get("reason", ""),
            )
        except PublicationRefused as exc:
            raise exceptions.ValidationError({"reason": [str(exc)]}) from exc
        return Response(RunSerializer(run).data)

    @extend_schema(responses=PreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """What publishing this run would change, against the period's published results,
        for the organisations the caller may see (counts only beyond them)."""
        return Response(PreviewSerializer(preview_of(self.get_object(), request.user)).data)

    def last_modified(self, request):
        row = SegmentationRun.objects.aggregate(c=Max("created_at"), f=Max("finished_at"))
        stamps = [t for t in row.values() if t]
        return max(stamps) if stamps else None


# --- Assessments --------------------------------------------------------------------------


class OrganisationBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    region = serializers.CharField(source="region.ods_code")


class AssessmentSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id", read_only=True)
    run_state = serializers.CharField(
        source="run.state", read_only=True, help_text="published, provisional or superseded"
    )
    period = serializers.CharField(source="run.period.slug", read_only=True)
    organisation = OrganisationBriefSerializer(read_only=True)
    domain_scores = serializers.DictField(child=serializers.FloatField(allow_null=True))

    class Meta:
        model = OrganisationAssessment
        fields = [
            "run",
            "run_state",
            "period",
            "organisation",
            "peer_group",
            "metric_count",
            "average_score",
            "average_range_low",
            "average_range_high",
            "segmented",
            "not_segmented_reason",
            "unadjusted_segment",
            "financial_override",
            "override_derived",
            "override_reason",
            "adjusted_segment",
            "final_segment",
            "in_programme",
            "domain_scores",
            "league_rank",
            "rank_range_low",
            "rank_range_high",
        ]


class AssessmentFilter(django_filters.FilterSet):
    period = django_filters.CharFilter(field_name="run__period__slug", label="Period slug")
    run = django_filters.CharFilter(
        method="filter_run",
        label="'published' (default), 'provisional' (each period's newest run) or a run id",
    )
    peer_group = django_filters.ChoiceFilter(choices=PeerGroup.choices)
    region = django_filters.CharFilter(
        field_name="organisation__region__ods_code", label="Region ODS code"
    )
    icb = django_filters.CharFilter(
        method="filter_icb", label="ICB code: the ICB and the trusts it hosts"
    )
    organisation = django_filters.CharFilter(field_name="organisation__code")
    segment = django_filters.NumberFilter(
        field_name="final_segment", label="Final segment (1 to 5)"
    )

    class Meta:
        model = OrganisationAssessment
        fields = ["financial_override", "in_programme", "segmented"]

    def filter_run(self, queryset, name, value):
        value = (value or "").strip().lower()
        if value in ("", "published"):
            return queryset.filter(run__current_for__isnull=False)
        if value in ("provisional", "latest"):
            return queryset.filter(run__latest_for__isnull=False)
        if value.isdigit():
            return queryset.filter(run_id=int(value))
        raise exceptions.ValidationError(
            {"run": [f"Expected 'published', 'provisional' or a run id; got '{value}'."]}
        )

    def filter_icb(self, queryset, name, value):
        return queryset.filter(
            Q(organisation__code=value)
            | Q(organisation__trust__icb_before_2026__code=value)
            | Q(organisation__trust__icb_from_2026__code=value)
        )


class AssessmentViewSet(
    ResultCacheMixin, mixins.ListModelMixin, ConditionalListMixin, viewsets.GenericViewSet
):
    """Results per organisation: each period's published results, unless ``run`` asks for
    the provisional ones or names a run."""

    permission_classes = [HasPermission]
    permission = Permission.VIEW_ORGANISATION
    serializer_class = AssessmentSerializer
    filterset_class = AssessmentFilter
    ordering_fields = ["average_score", "final_segment", "league_rank", "organisation__code"]
    ordering = ["run__period__start_date", "peer_group", "league_rank", "organisation__code"]

    def get_queryset(self):
        queryset = OrganisationAssessment.objects.select_related(
            "run__period", "organisation__region"
        )
        if not self.request.query_params.get("run"):
            queryset = queryset.filter(run__current_for__isnull=False)
        return restrict_to_visible(queryset, self.request.user)

    def last_modified(self, request):
        runs = SegmentationRun.objects.filter(status=RunStatus.COMPLETED)
        return runs.aggregate(at=Max("finished_at"))["at"]


# --- League tables (published national results: every role) ------------------------------


class LeagueTableEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField(source="league_rank")
    rank_range_low = serializers.IntegerField(allow_null=True)
    rank_range_high = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(source="organisation.code")
    name = serializers.CharField(source="organisation.name")
    region = serializers.CharField(source="organisation.region.ods_code")
    average_score = serializers.FloatField(allow_null=True)
    average_range_low = serializers.FloatField(allow_null=True)
    average_range_high = serializers.FloatField(allow_null=True)
    final_segment = serializers.IntegerField(allow_null=True)
    financial_override = serializers.BooleanField()
    in_programme = serializers.BooleanField()


def _period_or_400(raw: str | None, field: str = "period") -> ReportingPeriod:
    if not raw:
        raise exceptions.ValidationError({field: ["This parameter is required."]})
    try:
        return ReportingPeriod.objects.get(slug=period_slug(raw))
    except (ValueError, ReportingPeriod.DoesNotExist) as exc:
        raise exceptions.ValidationError(
            {field: [f"'{raw}' is not a known period, e.g. 2025-26-q2 or 'Q2 2025/26'."]}
        ) from exc


RUN_PARAMETER = OpenApiParameter(
    "run",
    OpenApiTypes.STR,
    required=False,
    description=(
        "Which results: 'published' (default: the period's official results), "
        "'provisional' (the newest run, not yet published) or a run id of the period. "
        "The answer's X-Results-Run header says which run it is and whether it is published."
    ),
)


def _run_or_404(period: ReportingPeriod, request) -> SegmentationRun:
    """The run the request's ``run`` parameter names (400 when it names none; 404 when the
    period has no such results yet)."""
    try:
        return selectors.run_for(period, request.query_params.get("run", ""))
    except selectors.UnknownRun as exc:
        raise exceptions.ValidationError({"run": [str(exc)]}) from exc
    except selectors.NoResults as exc:
        raise exceptions.NotFound(str(exc)) from exc


def results_run_header(run: SegmentationRun) -> str:
    """``X-Results-Run``: the run an answer was built from, and what it is."""
    parts = [f"id={run.pk}", f"state={run.state}"]
    if run.published_at:
        parts.append(f"published_at={run.published_at.isoformat()}")
    if run.inputs_as_at:
        parts.append(f"as_at={run.inputs_as_at.isoformat()}")
    return "; ".join(parts)


class LeagueTableViewSet(
    ResultCacheMixin, mixins.ListModelMixin, ConditionalListMixin, viewsets.GenericViewSet
):
    """A peer group's league table for a period, from its current run, as NHS England
    publishes it (visible to every role)."""

    permission_classes = [HasPermission]
    permission = Permission.VIEW_ORGANISATION
    serializer_class = LeagueTableEntrySerializer
    filter_backends: list = []
    same_for_every_scope = True

    @extend_schema(
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, required=True, description="2025-26-q2"),
            OpenApiParameter("peer_group", OpenApiTypes.STR, required=True, enum=PeerGroup.values),
            RUN_PARAMETER,
        ]
    )
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if getattr(self, "run", None) is not None:
            response["X-Results-Run"] = results_run_header(self.run)
        return response

    def get_queryset(self):
        period = _period_or_400(self.request.query_params.get("period"))
        peer_group = self.request.query_params.get("peer_group", "")
        if peer_group not in PeerGroup.values:
            raise exceptions.ValidationError(
                {"peer_group": [f"Expected one of: {', '.join(PeerGroup.values)}."]}
            )
        self.run = _run_or_404(period, self.request)
        return selectors.league_table(self.run, peer_group)

    def last_modified(self, request):
        return getattr(self, "run", None) and self.run.finished_at


# --- Explanations -------------------------------------------------------------------------


class MetricLineSerializer(serializers.Serializer):
    metric_id = serializers.CharField()
    name = serializers.CharField()
    domain = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    units = serializers.CharField(allow_blank=True)
    score = serializers.FloatField(allow_null=True)
    rank = serializers.FloatField(allow_null=True)
    pool_size = serializers.IntegerField()
    method = serializers.CharField()
    status = serializers.CharField()
    included = serializers.BooleanField()
    weight = serializers.FloatField()
    partial_pool = serializers.BooleanField(
        help_text="Ranked on a partial national pool: the score may differ from NHS England's."
    )
    pool_note = serializers.CharField(allow_blank=True)


class ExplanationSerializer(serializers.Serializer):
    organisation = OrganisationBriefSerializer()
    period = serializers.CharField(source="period.slug")
    run = serializers.IntegerField(source="run.pk")
    run_state = serializers.ChoiceField(
        source="run.state",
        choices=["published", "provisional", "superseded"],
        help_text="published: the period's official results; provisional: not yet published.",
    )
    results_as_at = serializers.DateTimeField(
        source="run.inputs_as_at", allow_null=True, help_text="When the newest input was stored."
    )
    assessment = AssessmentSerializer()
    metrics = MetricLineSerializer(many=True)
    cut_points = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    cut_points_source = serializers.CharField(allow_blank=True)
    boundaries = serializers.DictField()
    leverage = serializers.ListField(child=serializers.DictField())
    since = serializers.CharField(source="since.slug", allow_null=True, default=None)
    movement = MovementSerializer(allow_null=True, help_text="Why it moved since `since`.")


class ExplanationView(APIView):
    """Why an organisation is in its segment for a period: every metric's value, rank and
    score, the cut points, the distance to the next boundary and the metrics with most
    leverage."""

    permission_classes = [HasPermission]
    permission = Permission.VIEW_ORGANISATION

    @extend_schema(parameters=[RUN_PARAMETER], responses=ExplanationSerializer)
    def get(self, request, period: str, code: str):
        organisation = visible_organisations(request.user).filter(code=code.upper()).first()
        if organisation is None:
            raise exceptions.NotFound()
        try:
            found = ReportingPeriod.objects.get(slug=period_slug(period))
        except (ValueError, ReportingPeriod.DoesNotExist) as exc:
            raise exceptions.NotFound(f"'{period}' is not a known period.") from exc
        run = _run_or_404(found, request)
        if not run.assessments.filter(organisation=organisation).exists():
            raise exceptions.NotFound(f"{organisation.code} was not assessed in {found.label}.")
        explanation = selectors.explain(organisation, found, run=run)
        response = Response(ExplanationSerializer(explanation).data)
        response["X-Results-Run"] = results_run_header(run)
        return response


# --- The caller's notifications --------------------------------------------------------


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

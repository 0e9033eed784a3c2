"""API for uploads (``POST /api/v1/uploads/`` then poll the upload) and for the comparison
with NHS England's published results (``/api/v1/reconciliation/``)."""

from __future__ import annotations

from django.db.models import Max
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from api.permissions import HasPermission
from api.viewsets import ConditionalListMixin
from systems.authorization import Permission, upload_authority

from ..models import UPLOAD_FORMAT_CHOICES, MetricUpload, ReportingPeriod, period_slug
from ..selectors import NoResults, UnknownRun, run_for
from . import selectors
from .metric_comparison import CAUSES, metric_comparison
from .services import receive_upload, retry_upload


class AlreadyImported(exceptions.APIException):
    """The same bytes were imported before, in an upload the caller may not see."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "already_imported"


class ProblemSerializer(serializers.Serializer):
    severity = serializers.CharField()
    file = serializers.CharField()
    sheet = serializers.CharField(allow_blank=True)
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField(allow_blank=True)
    value = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class UploadSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    duplicate_of = serializers.SerializerMethodField(
        help_text="The upload this one repeated, when the caller may see it."
    )
    periods = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    runs = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    errors = ProblemSerializer(many=True, read_only=True)
    warnings = ProblemSerializer(many=True, read_only=True)

    class Meta:
        model = MetricUpload
        fields = [
            "id",
            "url",
            "original_name",
            "sha256",
            "size_bytes",
            "status",
            "progress",
            "stage_detail",
            "detected_format",
            "file_type",
            "encoding",
            "sheet_name",
            "row_count",
            "error_count",
            "errors",
            "error_kinds",
            "warnings",
            "summary",
            "periods",
            "runs",
            "failure_reason",
            "duplicate_of",
            "attempts",
            "uploaded_by_label",
            "via",
            "created_at",
            "imported_at",
            "finished_at",
        ]

    def get_url(self, obj) -> str:
        return reverse("api:upload-detail", args=[obj.pk], request=self.context.get("request"))

    def get_duplicate_of(self, obj) -> int | None:
        request = self.context.get("request")
        earlier = obj.duplicate_of
        if earlier is None or request is None:
            return None
        return earlier.pk if selectors.may_see_upload(request.user, earlier) else None


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV or XLSX metric file.")
    format = serializers.ChoiceField(
        choices=[("", "Detect"), *UPLOAD_FORMAT_CHOICES], required=False, default=""
    )
    segment = serializers.BooleanField(
        required=False, default=True, help_text="Segment the affected periods after import."
    )


class RetrySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class UploadViewSet(
    ConditionalListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Metric uploads. ``POST`` a file (multipart) to start one: the answer (202) holds the
    upload's URL to poll until ``status`` is ``done``, ``invalid`` (with every problem),
    ``duplicate`` or ``failed``. Content already imported answers 200 with that upload
    when the caller may see it, 409 otherwise."""

    permission_classes = [HasPermission]
    permission = Permission.VIEW_ORGANISATION
    write_permission = Permission.UPLOAD_METRICS
    serializer_class = UploadSerializer
    parser_classes = [MultiPartParser, FormParser]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.uploads_for(self.request.user).prefetch_related("periods", "runs")

    def last_modified(self, request):
        return self.get_queryset().aggregate(latest=Max("updated_at"))["latest"]

    @extend_schema(
        request={"multipart/form-data": UploadCreateSerializer},
        responses={202: UploadSerializer, 200: UploadSerializer},
    )
    def create(self, request, *args, **kwargs):
        incoming = UploadCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        upload_file = incoming.validated_data["file"]
        received = receive_upload(
            content=upload_file.read(),
            filename=upload_file.name,
            actor=request.user,
            requested_format=incoming.validated_data["format"],
            via="api",
            segment=incoming.validated_data["segment"],
            authority=upload_authority(request.user),
        )
        if not received.created and not selectors.may_see_upload(request.user, received.upload):
            raise AlreadyImported({"file": [received.message]})
        body = UploadSerializer(received.upload, context={"request": request}).data
        code = status.HTTP_202_ACCEPTED if received.created else status.HTTP_200_OK
        response = Response(body, status=code)
        response["Location"] = body["url"]
        return response

    @extend_schema(request=RetrySerializer, responses={202: UploadSerializer})
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def retry(self, request, pk=None):
        """Start a failed or stalled upload again from where it stopped."""
        upload = self.get_object()
        reason = RetrySerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        retry_upload(
            upload=upload,
            actor=request.user,
            reason=reason.validated_data["reason"] or "Retried through the API",
        )
        upload.refresh_from_db()
        return Response(
            UploadSerializer(upload, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ComparedSerializer(serializers.Serializer):
    org_code = serializers.CharField(source="code")
    org_name = serializers.CharField(source="name")
    peer_group = serializers.CharField()
    ours = serializers.DictField(child=serializers.FloatField(allow_null=True))
    published = serializers.DictField(
        source="theirs", child=serializers.FloatField(allow_null=True)
    )
    differences = serializers.ListField(child=serializers.CharField())


class MetricDifferenceSerializer(serializers.Serializer):
    org_code = serializers.CharField(source="code")
    metric_id = serializers.CharField()
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    published_score = serializers.FloatField(source="published")
    our_score = serializers.FloatField(source="ours")
    difference = serializers.FloatField()
    matches = serializers.BooleanField()
    cause = serializers.ChoiceField(choices=CAUSES, help_text="The likely cause when they differ.")


class ReconciliationSerializer(serializers.Serializer):
    period = serializers.CharField()
    run = serializers.IntegerField(allow_null=True)
    compared = serializers.IntegerField()
    differing = serializers.IntegerField()
    organisations = ComparedSerializer(many=True)
    metrics = MetricDifferenceSerializer(
        many=True,
        help_text="Each score NHS England supplied that we also computed from its value.",
    )


class ReconciliationView(APIView):
    """Our current results beside NHS England's published ones for a period (average,
    unadjusted, adjusted and final segment, league-table rank), organisation by
    organisation; ``differences`` names every value that differs."""

    permission_classes = [HasPermission]
    permission = Permission.VIEW_ORGANISATION

    @extend_schema(
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, required=True, description="2025-26-q2"),
            OpenApiParameter(
                "run",
                OpenApiTypes.STR,
                required=False,
                description="'published' (default), 'provisional' or a run id of the period",
            ),
        ],
        responses=ReconciliationSerializer,
    )
    def get(self, request):
        raw = request.query_params.get("period", "")
        try:
            period = ReportingPeriod.objects.get(slug=period_slug(raw))
        except (ValueError, ReportingPeriod.DoesNotExist) as exc:
            raise exceptions.ValidationError(
                {"period": [f"'{raw}' is not a period; expected e.g. 2025-26-q2."]}
            ) from exc
        which = request.query_params.get("run", "")
        try:
            run_id = run_for(period, which).pk
        except UnknownRun as exc:
            raise exceptions.ValidationError({"run": [str(exc)]}) from exc
        except NoResults:
            run_id = None
        table = selectors.reconciliation(period, request.user, run_id)
        rows = [r for r in table.rows if r.theirs]
        return Response(
            ReconciliationSerializer(
                {
                    "period": period.slug,
                    "run": table.run_id,
                    "compared": len(rows),
                    "differing": len(table.differing),
                    "organisations": rows,
                    "metrics": metric_comparison(period, request.user, run_id).rows,
                }
            ).data
        )

"""``/api/``: the versioned REST API (``/api/v1/``), its OpenAPI 3 schema (``/api/schema/``)
and browsable documentation (``/api/docs/``, assets served by the app).

Adding an endpoint: register it below (one line), then give it a row in the role x scope
matrix in ``tests/api/matrix.py`` (the matrix test fails until it has one)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.errors import not_found
from delegation import api as delegation_api
from oversight import api as oversight_api
from oversight.autonomy import api as autonomy_api
from oversight.compacts import api as compacts_api
from oversight.uploads import api as uploads_api
from systems import api as systems_api

app_name = "api"

router = DefaultRouter()
router.include_root_view = False
router.register("regions", systems_api.RegionViewSet, basename="region")
router.register("icbs", systems_api.IntegratedCareBoardViewSet, basename="icb")
router.register("trusts", systems_api.TrustViewSet, basename="trust")
router.register("methodologies", oversight_api.MethodologyViewSet, basename="methodology")
router.register(
    "metric-definitions", oversight_api.MetricDefinitionViewSet, basename="metric-definition"
)
router.register("periods", oversight_api.PeriodViewSet, basename="period")
router.register("metric-values", oversight_api.MetricValueViewSet, basename="metric-value")
router.register("runs", oversight_api.RunViewSet, basename="run")
router.register("assessments", oversight_api.AssessmentViewSet, basename="assessment")
router.register("league-tables", oversight_api.LeagueTableViewSet, basename="league-table")
router.register("uploads", uploads_api.UploadViewSet, basename="upload")
router.register("freedoms", autonomy_api.FreedomViewSet, basename="freedom")
router.register("grants", autonomy_api.GrantViewSet, basename="grant")
router.register("freedom-evaluations", autonomy_api.EvaluationViewSet, basename="evaluation")
router.register("actions", autonomy_api.ActionViewSet, basename="action")
router.register("notifications", oversight_api.NotificationViewSet, basename="notification")
router.register(
    "programme-memberships", autonomy_api.ProgrammeMembershipViewSet, basename="programme"
)
router.register(
    "capability-assessments", autonomy_api.CapabilityAssessmentViewSet, basename="capability"
)
router.register("maturity-assessments", autonomy_api.MaturityAssessmentViewSet, basename="maturity")
router.register("cqc-ratings", autonomy_api.CqcRatingViewSet, basename="cqc-rating")
router.register("compacts", compacts_api.CompactViewSet, basename="compact")
router.register("compact-commitments", compacts_api.CommitmentViewSet, basename="commitment")
router.register(
    "specialised-services", delegation_api.SpecialisedServiceViewSet, basename="specialised-service"
)
router.register(
    "delegation-timeline", delegation_api.TimelineViewSet, basename="delegation-timeline"
)
router.register(
    "delegation-agreements", delegation_api.AgreementViewSet, basename="delegation-agreement"
)
router.register("agreement-conditions", delegation_api.ConditionViewSet, basename="condition")
router.register("icb-segments", delegation_api.IcbSegmentViewSet, basename="icb-segment")
router.register("change-requests", delegation_api.ChangeRequestViewSet, basename="change-request")
router.register(
    "collaboration-arrangements", delegation_api.CollaborationViewSet, basename="collaboration"
)
router.register("tokens", systems_api.ApiTokenViewSet, basename="token")
router.register("audit-events", systems_api.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/me/", systems_api.MeView.as_view(), name="me"),
    path("v1/reconciliation/", uploads_api.ReconciliationView.as_view(), name="reconciliation"),
    path(
        # The period as a slug (2025-26-q3) or a label (Q3 2025/26, its slash encoded or not).
        "v1/explanations/<path:period>/<str:code>/",
        oversight_api.ExplanationView.as_view(),
        name="explanation",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ answers the API's JSON error body, not an HTML page.
    re_path(r"^", not_found, name="not-found"),
]

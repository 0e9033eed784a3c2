from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("", include("oversight.uploads.urls")),
    path("", include("oversight.notification_urls")),
    path("", include("oversight.dashboards.urls")),
    path("", include("delegation.urls")),
    path("", include("oversight.autonomy.urls")),
    path("", include("oversight.compacts.urls")),
    path("", include("systems.urls")),
]

# NHS-styled error pages (templates/404.html, 403.html, 500.html); a CSRF failure has its
# own page, and the API's JSON body under /api/ (settings.CSRF_FAILURE_VIEW).
handler500 = "config.errors.server_error"

from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("", include("oversight.uploads.urls")),
    path("", include("oversight.dashboards.urls")),
    path("", include("delegation.urls")),
    path("", include("oversight.autonomy.urls")),
    path("", include("systems.urls")),
]

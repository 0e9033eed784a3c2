"""The application's URLs plus ``/bench/floor/``, a trivial JSON view. Benchmark only."""

from django.http import JsonResponse
from django.urls import include, path


def floor(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("config.urls")),
]

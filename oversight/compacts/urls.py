from django.urls import path

from . import views

app_name = "compacts"

urlpatterns = [
    path("compacts/", views.compact_list, name="list"),
    path("compacts/open/", views.open_compact, name="open"),
    path("compacts/<str:code>/<str:year>/", views.compact, name="compact"),
    path("compacts/<str:code>/<str:year>/meeting/", views.record_meeting, name="meeting"),
    path("compacts/<str:code>/<str:year>/commitments/", views.add_commitment, name="commitment"),
    path(
        "compacts/<str:code>/<str:year>/commitments/<int:pk>/",
        views.decide_commitment,
        name="decide",
    ),
    path("compacts/<str:code>/<str:year>/support/", views.request_support, name="support"),
    path(
        "compacts/<str:code>/<str:year>/support/<int:pk>/",
        views.update_support,
        name="support-update",
    ),
    path("compacts/<str:code>/<str:year>/status/", views.change_status, name="status"),
]

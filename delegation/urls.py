from django.urls import path

from . import views

app_name = "delegation"

urlpatterns = [
    path("delegation/", views.matrix, name="matrix"),
    path("delegation/agreements/<int:pk>/", views.agreement, name="agreement"),
    path("delegation/agreements/<int:pk>/sign/", views.sign, name="sign"),
    path("delegation/agreements/<int:pk>/in-force/", views.bring_into_force, name="in-force"),
    path(
        "delegation/agreements/<int:pk>/arrangements/",
        views.add_arrangement,
        name="add-arrangement",
    ),
    path("delegation/icbs/<str:code>/", views.icb, name="icb"),
    path("delegation/icbs/<str:code>/agreements/new/", views.new_agreement, name="new-agreement"),
    path(
        "delegation/icbs/<str:code>/change-requests/new/",
        views.new_change_request,
        name="new-change-request",
    ),
    path("delegation/change-requests/<int:pk>/", views.change_request, name="change-request"),
    path("delegation/change-requests/<int:pk>/decide/", views.decide, name="decide"),
    path("delegation/change-requests/<int:pk>/start/", views.start, name="start"),
    path("delegation/regions/<str:ods_code>/approvals/", views.approvals, name="approvals"),
]

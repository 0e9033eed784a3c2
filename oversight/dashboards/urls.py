from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("national/", views.national, name="national"),
    path("regions/<str:ods_code>/", views.region, name="region"),
    path("organisations/<str:code>/", views.organisation, name="organisation"),
    path("league-tables/", views.league, name="league"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/publish/", views.publish, name="publish"),
    path(
        "organisations/<str:code>/grants/<int:pk>/decide/",
        views.decide_grant,
        name="decide-grant",
    ),
    path(
        "organisations/<str:code>/actions/<int:pk>/close/",
        views.close_oversight_action,
        name="close-action",
    ),
]

from django.urls import path

from . import views

app_name = "autonomy"

urlpatterns = [
    path("organisations/<str:code>/decisions/", views.decisions, name="decisions"),
    path("organisations/<str:code>/decisions/programme/", views.programme, name="programme"),
    path("organisations/<str:code>/decisions/capability/", views.capability, name="capability"),
    path("organisations/<str:code>/decisions/cqc/", views.cqc, name="cqc"),
    path("organisations/<str:code>/decisions/maturity/", views.maturity, name="maturity"),
    path("organisations/<str:code>/decisions/aft/<int:pk>/", views.aft, name="aft"),
]

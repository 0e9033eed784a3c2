from django.urls import path

from . import views
from .sign_in import SignInView, SignOutView

app_name = "systems"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("audit/", views.audit_log, name="audit"),
    path("search/", views.search, name="search"),
    path("start/", views.start, name="start"),
]

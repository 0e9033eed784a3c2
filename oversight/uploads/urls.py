from django.urls import path

from . import views

app_name = "uploads"

urlpatterns = [
    path("uploads/", views.upload_list, name="list"),
    path("uploads/template.csv", views.template_csv, name="template"),
    path("uploads/template.xlsx", views.template_xlsx, name="template_xlsx"),
    path("metrics/", views.metric_catalogue, name="metrics"),
    path("uploads/<int:pk>/", views.upload_detail, name="detail"),
    path("uploads/<int:pk>/status/", views.upload_status, name="status"),
    path("uploads/<int:pk>/problems.csv", views.upload_report, name="report"),
    path("uploads/<int:pk>/retry/", views.upload_retry, name="retry"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
]

from django.urls import path

from governance import views

urlpatterns = [
    path("audit/", views.audit_log, name="audit-log"),
]

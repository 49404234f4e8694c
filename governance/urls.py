from django.urls import path

from governance import dashboard_views, views

urlpatterns = [
    path("governance/", dashboard_views.governance_dashboard, name="governance-dashboard"),
    path("governance/verdicts/", dashboard_views.compliance_list, name="compliance-list"),
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export.jsonl", views.audit_export, name="audit-export"),
]

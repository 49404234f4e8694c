"""API routes for the audit log: list and export."""

from django.urls import URLPattern, path

from governance import audit_api

urlpatterns: list[URLPattern] = [
    path("audit/", audit_api.AuditEventList.as_view(), name="api-audit-list"),
    path("audit/export/", audit_api.AuditExport.as_view(), name="api-audit-export"),
]

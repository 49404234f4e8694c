from django.urls import path

from governance import dashboard_views, policy_views, views

urlpatterns = [
    path("governance/", dashboard_views.governance_dashboard, name="governance-dashboard"),
    path("governance/verdicts/", dashboard_views.compliance_list, name="compliance-list"),
    path("governance/policies/", policy_views.policy_list, name="policy-list"),
    path("governance/policies/new/", policy_views.policy_new, name="policy-new"),
    path("governance/policies/<int:pk>/", policy_views.policy_detail, name="policy-detail"),
    path(
        "governance/policies/<int:pk>/waive/<slug:domain>/<slug:product>/",
        policy_views.waiver_new,
        name="waiver-new",
    ),
    path("governance/waivers/", policy_views.waiver_list, name="waiver-list"),
    path("governance/waivers/<int:pk>/decide/", policy_views.waiver_decide, name="waiver-decide"),
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export.jsonl", views.audit_export, name="audit-export"),
]

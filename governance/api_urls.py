"""API routes for governance: policies, evaluations, waivers, the dashboard."""

from django.urls import path

from governance import api

urlpatterns = [
    path("policies/", api.PolicyList.as_view(), name="api-policy-list"),
    path("policies/try/", api.PolicyTry.as_view(), name="api-policy-try"),
    path("policies/check/", api.PolicyCheck.as_view(), name="api-policy-check"),
    path("policies/<int:pk>/", api.PolicyDetail.as_view(), name="api-policy-detail"),
    path(
        "products/<slug:domain>/<slug:product>/compliance/",
        api.ProductCompliance.as_view(),
        name="api-product-compliance",
    ),
    path("evaluations/", api.EvaluationList.as_view(), name="api-evaluation-list"),
    path("waivers/", api.WaiverList.as_view(), name="api-waiver-list"),
    path("waivers/<int:pk>/decision/", api.WaiverDecision.as_view(), name="api-waiver-decision"),
    path("governance/dashboard/", api.Dashboard.as_view(), name="api-dashboard"),
]

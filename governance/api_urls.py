"""API routes for governance: policies, evaluations, waivers, the dashboard."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

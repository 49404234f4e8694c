"""API routes for the audit log: list and export."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

"""Portal pages for governance: the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from domains.models import Domain
from domains.permissions import sees_everything
from governance.models import AuditEvent

PAGE_SIZE = 50


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Newest first: every event for the council and admins, else those of the user's domains."""
    user: Any = request.user  # signed in: login_required
    events = AuditEvent.objects.defer("before", "after").order_by("-id")
    everything = sees_everything(user)
    if not everything:
        member_of = Domain.objects.filter(memberships__user=user).values("slug")
        events = events.filter(domain_slug__in=member_of)
    domain = request.GET.get("domain", "")
    if domain:
        events = events.filter(domain_slug=domain)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    domains = Domain.objects.values_list("slug", flat=True)
    if not everything:
        domains = domains.filter(memberships__user=user)
    context = {
        "section": "governance",
        "page": page,
        "everything": everything,
        "domains": domains,
        "domain": domain,
    }
    return render(request, "governance/audit_log.html", context)

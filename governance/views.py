"""Portal pages for governance: the audit log and its export."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from domains.models import Domain
from domains.permissions import sees_everything
from governance.audit import EventFilter, export_response, visible_events
from governance.models import AuditEvent
from meshplatform.errors import Forbidden, Invalid

PAGE_SIZE = 50


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Newest first: every event for the council and admins, else those of the user's domains;
    filtered by actor, domain, action and time."""
    user: Any = request.user  # signed in: login_required
    errors: dict[str, str] = {}
    try:
        event_filter = EventFilter.from_query(request.GET)
        events = event_filter.apply(visible_events(user))
    except Invalid as exc:
        errors, events = exc.fields, AuditEvent.objects.none()
    page = Paginator(events.defer("before", "after").order_by("-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    everything = sees_everything(user)
    scope = Domain.objects.all() if everything else Domain.objects.of_member(user)
    domains = scope.values_list("slug", flat=True)
    context = {
        "section": "governance",
        "page": page,
        "everything": everything,
        "domains": domains,
        "filters": {name: request.GET.get(name, "") for name in EventFilter.NAMES},
        "filtered": any(request.GET.get(name) for name in EventFilter.NAMES),
        "errors": errors,
    }
    return render(request, "governance/audit_log.html", context, status=400 if errors else 200)


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponseBase:
    """The events the page's filters select, as JSON lines with their hashes."""
    try:
        return export_response(actor=request.user, query=request.GET)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except Invalid:
        return audit_log(request)  # the page, with the filter's errors next to its fields

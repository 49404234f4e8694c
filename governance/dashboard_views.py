"""Portal pages of the governance dashboard: scores, trend, failures, and their drill-down."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from domains.models import Role
from domains.permissions import roles_of, sees_everything
from governance import dashboard

CHART_WIDTH, BAR_HEIGHT, TREND_HEIGHT = 560, 28, 160


@login_required
@require_GET
def governance_dashboard(request: HttpRequest) -> HttpResponse:
    """The council sees the whole mesh; everyone else the domains they belong to."""
    user: Any = request.user
    figures = dashboard.figures(user)
    context = {
        "section": "governance",
        "everything": sees_everything(user),
        "figures": figures,
        "bars": _bars(figures["domains"]),
        "trend": _trend(figures["trend"]),
        "chart_width": CHART_WIDTH,
        "bars_height": BAR_HEIGHT * max(len(figures["domains"]), 1) + 10,
        "trend_height": TREND_HEIGHT,
    }
    return render(request, "governance/dashboard.html", context)


def _bars(domains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One bar per domain; the label and the figure are text, so colour is never needed."""
    span = CHART_WIDTH - 300  # room for the label on the left and the figure on the right
    return [
        {
            **row,
            "y": i * BAR_HEIGHT,
            "width": 0 if row["score"] is None else round(span * row["score"] / 100, 1),
        }
        for i, row in enumerate(domains)
    ]


def _trend(points: list[dict[str, Any]]) -> dict[str, Any]:
    if not points:
        return {"points": [], "path": ""}
    step = (CHART_WIDTH - 60) / max(len(points) - 1, 1)
    placed = [
        {
            **p,
            "x": round(40 + i * step, 1),
            "y": round(10 + (TREND_HEIGHT - 30) * (1 - p["score"] / 100), 1),
        }
        for i, p in enumerate(points)
    ]
    return {"points": placed, "path": " ".join(f"{p['x']},{p['y']}" for p in placed)}


@login_required
@require_GET
def compliance_list(request: HttpRequest) -> HttpResponse:
    """The verdicts behind a dashboard figure: by domain, policy and state."""
    user: Any = request.user
    filters = {key: request.GET.get(key, "") for key in ("domain", "policy", "state")}
    verdicts = dashboard.verdicts_for(user, **filters)
    page = Paginator(verdicts, 50).get_page(request.GET.get("page"))
    owned = {pk for pk, role in roles_of(user).items() if role == Role.OWNER}
    context = {"section": "governance", "page": page, "filters": filters, "owned": owned}
    return render(request, "governance/compliance.html", context)

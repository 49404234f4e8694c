"""Portal pages for policies and waivers: list, create, change, try a draft; ask and decide.

The services authorise; a Forbidden becomes the 403 page, other errors show on the form.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from domains.models import Domain, Role
from domains.permissions import is_admin, roles_of, sees_everything
from governance import services
from governance.forms import PolicyForm, WaiverForm
from governance.models import Evaluation, Policy, Waiver
from meshplatform.errors import Forbidden, PlatformError
from products.models import DataProduct

GLOBAL = "global"


def _scopes(user: Any) -> list[tuple[str, str]]:
    """Where `user` may add policies: the mesh (council, admins) and the domains they own."""
    scopes = (
        [(GLOBAL, "The whole mesh (global)")] if services.can_manage_policies(user, None) else []
    )
    owned = [pk for pk, role in roles_of(user).items() if role == Role.OWNER]
    domains = Domain.objects.all() if is_admin(user) else Domain.objects.filter(pk__in=owned)
    return scopes + [(d.slug, f"Domain {d.slug}") for d in domains.order_by("slug")]


@login_required
@require_http_methods(["GET"])
def policy_list(request: HttpRequest) -> HttpResponse:
    policies = Policy.objects.visible_to(request.user).order_by("scope", "domain__slug", "slug")
    context = {
        "section": "governance",
        "policies": policies,
        "can_add": bool(_scopes(request.user)),
    }
    return render(request, "governance/policy_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def policy_new(request: HttpRequest) -> HttpResponse:
    scopes = _scopes(request.user)
    if not scopes:
        raise PermissionDenied
    form = PolicyForm(request.POST or None, scopes=scopes)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        domain = None if data["scope"] == GLOBAL else Domain.objects.get(slug=data["scope"])
        try:
            if "try" in request.POST:
                report = _try(request, form, domain)
            else:
                policy = services.create_policy(
                    actor=request.user, domain=domain, slug=data["slug"], **form.policy_values()
                )
                messages.success(request, f"Policy {policy} saved and every product judged.")
                return redirect("policy-detail", pk=policy.pk)
        except Forbidden as error:
            raise PermissionDenied(error.message) from error
        except PlatformError as error:
            form.add_platform_error(error)
    context = {"section": "governance", "form": form, "report": report, "policy": None}
    return render(request, "governance/policy_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def policy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(Policy.objects.visible_to(request.user), pk=pk)
    may_change = services.can_manage_policies(request.user, policy.domain)
    form = PolicyForm(
        request.POST if request.method == "POST" else None,
        initial=PolicyForm.initial_for(policy), scopes=[], editing=True,
    )  # fmt: skip
    report = None
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                if "try" in request.POST:
                    report = _try(request, form, policy.domain)
                else:
                    services.update_policy(
                        policy=policy, actor=request.user, **form.policy_values()
                    )
                    messages.success(request, "Policy saved.")
                    return redirect("policy-detail", pk=policy.pk)
            except PlatformError as error:
                form.add_platform_error(error)
    counts = Evaluation.objects.filter(policy=policy, current=True).aggregate(
        judged=Count("id"), failing=Count("id", filter=Q(passed=False))
    )
    context = {
        "section": "governance", "policy": policy, "form": form, "report": report,
        "may_change": may_change, "versions": policy.versions.select_related("changed_by")[:20],
        **counts,
    }  # fmt: skip
    return render(request, "governance/policy_form.html", context)


def _try(request: HttpRequest, form: PolicyForm, domain: Domain | None) -> Any:
    """What the draft in `form` would fail, saving nothing."""
    rule, target = form.cleaned_data["rule"], form.target()
    return services.try_policy(actor=request.user, domain=domain, rule=rule, target=target)


@login_required
@require_http_methods(["GET", "POST"])
def waiver_new(request: HttpRequest, pk: int, domain: str, product: str) -> HttpResponse:
    """A domain owner asks the council to excuse one product from one policy."""
    policy = get_object_or_404(Policy.objects.visible_to(request.user), pk=pk)
    target = get_object_or_404(DataProduct.objects.addressed(request.user, domain, product))
    form = WaiverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        until = timezone.make_aware(datetime.combine(form.cleaned_data["until"], time(23, 59)))
        try:
            services.request_waiver(
                actor=request.user, policy=policy, product=target,
                reason=form.cleaned_data["reason"], until=until,
            )  # fmt: skip
            messages.success(request, "Waiver requested: the governance council decides.")
            return redirect("waiver-list")
        except Forbidden as error:
            raise PermissionDenied(error.message) from error
        except PlatformError as error:
            form.add_platform_error(error)
    context = {"section": "governance", "form": form, "policy": policy, "product": target}
    return render(request, "governance/waiver_form.html", context)


@login_required
@require_http_methods(["GET"])
def waiver_list(request: HttpRequest) -> HttpResponse:
    context = {
        "section": "governance",
        "waivers": Waiver.objects.visible_to(request.user)[:200],
        "decides": sees_everything(request.user),
    }
    return render(request, "governance/waiver_list.html", context)


@login_required
@require_POST
def waiver_decide(request: HttpRequest, pk: int) -> HttpResponse:
    waiver = get_object_or_404(Waiver.objects.visible_to(request.user), pk=pk)
    try:
        decided = services.decide_waiver(
            actor=request.user, waiver=waiver, approve=request.POST.get("decision") == "approve"
        )
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    except PlatformError as error:
        messages.error(request, error.message)
        return redirect("waiver-list")
    messages.success(request, f"Waiver {decided.get_status_display().lower()}.")
    return redirect("waiver-list")

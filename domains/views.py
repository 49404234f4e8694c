"""Portal pages for domains: the list, a domain's page with its members, a new domain.

The services in `domains.services` authorise every change; a Forbidden becomes the 403 page,
any other PlatformError is shown on the form or as a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from domains.forms import DomainForm, MemberAddForm
from domains.models import Domain, Membership, Role
from domains.permissions import (
    can_create_domain,
    can_edit_products,
    can_manage_domain,
    can_see_connections,
    roles_of,
)
from domains.services import add_member, change_member_role, create_domain, remove_member
from meshplatform.errors import Forbidden, PlatformError
from products.models import DataProduct

PAGE_SIZE = 25


def visible_domain(request: HttpRequest, slug: str) -> Domain:
    return get_object_or_404(Domain.objects.visible_to(request.user), slug=slug)


@login_required
@require_GET
def domain_list(request: HttpRequest) -> HttpResponse:
    visible = DataProduct.objects.visible_to(request.user).values("pk")
    domains = (
        Domain.objects.visible_to(request.user)
        .annotate(
            member_count=Count("memberships", distinct=True),
            product_count=Count("products", filter=Q(products__in=visible), distinct=True),
        )
        .order_by("name")
    )
    roles = roles_of(request.user)
    context = {
        "section": "domains",
        "domains": [
            (domain, Role(roles[domain.pk]) if domain.pk in roles else None) for domain in domains
        ],
        "can_create": can_create_domain(request.user),
    }
    return render(request, "domains/domain_list.html", context)


def render_domain(
    request: HttpRequest, domain: Domain, add_form: MemberAddForm | None = None, status: int = 200
) -> HttpResponse:
    """The domain page; a failed member form comes back bound, with its errors."""
    products = DataProduct.objects.visible_to(request.user).for_listing().filter(domain=domain)
    role = roles_of(request.user).get(domain.pk)
    context: dict[str, Any] = {
        "section": "domains",
        "domain": domain,
        "role": Role(role) if role else None,
        "memberships": domain.memberships.select_related("user"),
        "page": Paginator(products, PAGE_SIZE).get_page(request.GET.get("page")),
        "can_manage": can_manage_domain(request.user, domain),
        "can_edit": can_edit_products(request.user, domain),
        "can_see_connections": can_see_connections(request.user, domain),
        "add_form": add_form or MemberAddForm(),
        "roles": Role.choices,
    }
    return render(request, "domains/domain_detail.html", context, status=status)


@login_required
@require_GET
def domain_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return render_domain(request, visible_domain(request, slug))


@login_required
def domain_create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" and not can_create_domain(request.user):
        raise PermissionDenied("Only platform admins and the governance council create domains.")
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            domain = create_domain(
                slug=data["slug"],
                name=data["name"],
                description=data["description"],
                owner_username=data["owner_username"],
                actor=request.user,
            )
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except PlatformError as exc:
            form.add_platform_error(exc)
        else:
            messages.success(request, f"Created the domain {domain.slug}.")
            return redirect("domain-detail", slug=domain.slug)
    context = {"section": "domains", "form": form}
    return render(request, "domains/domain_form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    domain = visible_domain(request, slug)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = add_member(domain=domain, actor=request.user, **form.cleaned_data)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except PlatformError as exc:
            form.add_platform_error(exc)
        else:
            role = membership.get_role_display().lower()
            messages.success(request, f"Added {membership.user.username} as {role}.")
            return redirect("domain-detail", slug=domain.slug)
    return render_domain(request, domain, add_form=form, status=400)


def domain_membership(slug: str, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("domain", "user"), pk=pk, domain__slug=slug
    )


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = domain_membership(slug, pk)
    try:
        change_member_role(
            membership=membership, role=request.POST.get("role", ""), actor=request.user
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except PlatformError as exc:
        messages.error(request, exc.message)
    else:
        role = membership.get_role_display().lower()
        messages.success(request, f"{membership.user.username} is now {role}.")
    return redirect("domain-detail", slug=slug)


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = domain_membership(slug, pk)
    username = membership.user.username
    try:
        remove_member(membership=membership, actor=request.user)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except PlatformError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed {username} from {slug}.")
    return redirect("domain-detail", slug=slug)

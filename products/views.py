"""Portal pages for data products: catalog, product page, register, publish, versions, diff.

Views authenticate and present; the services in `products.services` authorise and write, the
same calls the API makes. A service's Forbidden becomes the 403 page, any other PlatformError
is shown on the form it came from.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from domains.models import Domain
from domains.permissions import can_edit_products, can_manage_domain
from governance.evaluation import failing_warnings
from governance.models import Evaluation
from meshplatform.errors import Forbidden, NotFound, PlatformError
from products import access, notify
from products.contracts import diff_contracts
from products.filters import ProductFilter
from products.forms import (
    AccessDecisionForm,
    AccessRequestForm,
    CatalogFilterForm,
    ContractForm,
    DiffForm,
    GrantRenewForm,
    ProductForm,
)
from products.models import (
    AccessRequest,
    DataProduct,
    Grant,
    Notification,
    Status,
)
from products.services import change_status, publish_contract, register_product
from products.tables import output_ports

PAGE_SIZE = 25
TABS = ("contract", "versions", "access", "compliance")
RECENT_GRANTS = 100
TRANSITION_VERBS = {
    Status.ACTIVE: "Activate",
    Status.DEPRECATED: "Deprecate",
    Status.RETIRED: "Retire",
}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails  # set by django_htmx's middleware


def product_url(product: DataProduct, **query: str) -> str:
    url = reverse("product-detail", args=[product.domain.slug, product.slug])
    return f"{url}?{urlencode(query)}" if query else url


def visible_product(request: HttpRequest, domain: str, product: str) -> DataProduct:
    """The product at `domain/product`, or 404 when it does not exist or is hidden from the user."""
    return get_object_or_404(DataProduct.objects.addressed(request.user, domain, product))


def editable_domains(user: Any) -> list[Domain]:
    return [domain for domain in Domain.objects.all() if can_edit_products(user, domain)]


@login_required
@require_GET
def catalog(request: HtmxHttpRequest) -> HttpResponse:
    form = CatalogFilterForm(request.GET, user=request.user)
    form.is_valid()  # to show a stale choice (a tag gone since) as an error on its select
    visible = DataProduct.objects.visible_to(request.user).for_listing()
    products = ProductFilter(request.GET, queryset=visible).qs
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"section": "catalog", "form": form, "page": page}
    if request.htmx and not request.htmx.history_restore_request:
        # The results, and their count out of band: it sits outside them, as a live region.
        response = render(request, "products/_catalog_results.html", {**context, "partial": True})
    else:
        context["can_register"] = bool(editable_domains(request.user))
        response = render(request, "products/catalog.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def product_page(request: HttpRequest, item: DataProduct, tab: str, **extra: Any) -> dict:
    """The context the product page's header needs, for every tab."""
    return {
        "section": "catalog",
        "product": item,
        "tab": tab,
        "can_edit": can_edit_products(request.user, item.domain),
        "transitions": [
            (status, verb)
            for status, verb in TRANSITION_VERBS.items()
            if item.can_transition_to(status)
        ],
        **extra,
    }


@login_required
@require_GET
def product_detail(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    tab = request.GET.get("tab", TABS[0])
    tab = tab if tab in TABS else TABS[0]
    context = product_page(request, item, tab)
    if tab == "access":
        context.update(access_context(request, item))
    if tab == "compliance":
        context["verdicts"] = Evaluation.objects.current_for(item)
        context["asks_waivers"] = can_manage_domain(request.user, item.domain)
    if tab == "versions":
        versions = list(
            item.contracts.select_related("published_by").defer("document", "normalized")
        )
        context["versions"] = [
            (version, versions[index + 1] if index + 1 < len(versions) else None)
            for index, version in enumerate(versions)
        ]
    return render(request, "products/product_detail.html", context)


@login_required
@require_POST
def product_status(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    try:
        change_status(product=item, status=request.POST.get("status", ""), actor=request.user)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except PlatformError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{item.address} is now {item.get_status_display().lower()}.")
        warn_about_policies(request, item)
    return redirect(product_url(item))


def warn_about_policies(request: HttpRequest, item: DataProduct) -> None:
    for text in failing_warnings(item):
        messages.warning(request, text)


@login_required
def product_register(request: HttpRequest) -> HttpResponse:
    domains = editable_domains(request.user)
    form = ProductForm(
        request.POST or None, domains=domains, initial={"domain": request.GET.get("domain")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            product = register_product(actor=request.user, **form.cleaned_data)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except PlatformError as exc:
            form.add_platform_error(exc)
        else:
            messages.success(
                request, f"Registered {product.address}. Publish its contract to activate it."
            )
            warn_about_policies(request, product)
            return redirect(product_url(product))
    context = {"section": "catalog", "form": form, "domains": domains}
    return render(
        request, "products/product_form.html", context, status=400 if form.errors else 200
    )


@login_required
def contract_publish(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    if request.method != "POST" and not can_edit_products(request.user, item.domain):
        raise PermissionDenied(
            f"Only engineers and owners of '{item.domain.slug}' publish contracts."
        )
    form = ContractForm(request.POST or None, request.FILES or None)
    error: PlatformError | None = None
    if request.method == "POST" and form.is_valid():
        document = form.cleaned_data["document"]
        try:
            version = publish_contract(product=item, document=document, actor=request.user)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except PlatformError as exc:
            error = exc
            # Show what was sent, uploaded or pasted, so that it can be fixed in place.
            form = ContractForm({"document": document})
        else:
            messages.success(request, f"Published version {version.version} of {item.address}.")
            warn_about_policies(request, item)
            if version.breaking_changes:
                audience = notify.breaking_change_audience(item)
                messages.info(
                    request,
                    f"Breaking changes: notified {len(audience.consumers)} consumer(s) and the "
                    f"teams of {len(audience.downstream)} downstream product(s).",
                )
            return redirect(product_url(item, tab="versions"))
    context = {
        "section": "catalog",
        "product": item,
        "form": form,
        "error": error,
        "breaking": error.detail.get("changes", []) if error else [],
        "audience": visible_audience(request, item),
    }
    status = 400 if (error or form.errors) else 200
    return render(request, "products/contract_form.html", context, status=status)


def visible_audience(request: HttpRequest, item: DataProduct) -> dict[str, Any]:
    """Who a breaking version would reach; downstream products the publisher may not see
    are only counted."""
    audience = notify.breaking_change_audience(item)
    visible = set(
        DataProduct.objects.visible_to(request.user)
        .filter(pk__in=[reader.pk for reader in audience.downstream])
        .values_list("pk", flat=True)
    )
    return {
        "consumers": audience.consumers,
        "downstream": [reader for reader in audience.downstream if reader.pk in visible],
        "hidden": sum(reader.pk not in visible for reader in audience.downstream),
    }


@login_required
@require_GET
def contract_raw(request: HttpRequest, domain: str, product: str, version: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    contract = get_object_or_404(item.contracts.only("document"), version=version)
    return HttpResponse(contract.document, content_type="text/plain; charset=utf-8")


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "equal", "replace", "delete" or "insert", as difflib names them
    old_number: int | None
    old_line: str
    new_number: int | None
    new_line: str


def side_by_side(old: str, new: str) -> list[DiffRow]:
    """The two documents line by line, aligned, each row saying how it changed."""
    left, right = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for kind, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + offset, j1 + offset
            rows.append(
                DiffRow(
                    kind=kind,
                    old_number=i + 1 if i < i2 else None,
                    old_line=left[i] if i < i2 else "",
                    new_number=j + 1 if j < j2 else None,
                    new_line=right[j] if j < j2 else "",
                )
            )
    return rows


@login_required
@require_GET
def contract_diff(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    versions = list(item.contracts.values_list("version", flat=True))
    defaults = {"from": versions[1], "to": versions[0]} if len(versions) > 1 else {}
    form = DiffForm({**defaults, **request.GET.dict()}, versions=versions)
    context: dict[str, Any] = {
        "section": "catalog",
        "product": item,
        "form": form,
        "versions": versions,
    }
    if len(versions) > 1 and form.is_valid():
        contracts = {
            c.version: c for c in item.contracts.filter(version__in=form.cleaned_data.values())
        }
        old, new = contracts[form.cleaned_data["from"]], contracts[form.cleaned_data["to"]]
        changes = diff_contracts(old.normalized, new.normalized)
        context.update(
            old=old,
            new=new,
            changes=changes,
            breaking_count=sum(change.breaking for change in changes),
            rows=side_by_side(old.document, new.document),
        )
    return render(request, "products/contract_diff.html", context)


# --- Access ----------------------------------------------------------------------------------


def access_context(
    request: HttpRequest, item: DataProduct, form: AccessRequestForm | None = None
) -> dict[str, Any]:
    """The Access tab: a consumer's grants, requests and the form to ask; for the owners, the
    pending requests, every grant, and the auto-grant switch."""
    now, user = timezone.now(), cast(Any, request.user)
    deciding = access.can_decide_access(request.user, item)
    context: dict[str, Any] = {
        "now": now,
        "reads_unmasked": access.reads_unmasked(request.user, item),
        "can_decide": deciding,
        "my_grants": Grant.objects.active(now)
        .filter(product=item, consumer=user)
        .select_related("granted_by"),
        "my_requests": AccessRequest.objects.filter(
            product=item, requester=user, status=AccessRequest.Status.REQUESTED
        ),
        "request_form": form or AccessRequestForm(ports=output_ports(item)),
    }
    if deciding:
        context.update(
            pending=AccessRequest.objects.filter(
                product=item, status=AccessRequest.Status.REQUESTED
            ).select_related("requester"),
            grants=Grant.objects.filter(product=item, revoked_at__isnull=True).select_related(
                "consumer", "granted_by"
            )[:RECENT_GRANTS],
            decision_form=AccessDecisionForm(initial={"clearance": item.classification}),
            auto_grant_allowed=item.may_auto_grant,
        )
    return context


def access_url(item: DataProduct) -> str:
    return product_url(item, tab="access")


def _refused(exc: PlatformError) -> None:
    if isinstance(exc, Forbidden):
        raise PermissionDenied(exc.message) from exc
    if isinstance(exc, NotFound):
        raise Http404(exc.message) from exc


@login_required
@require_POST
def access_request(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    form = AccessRequestForm(request.POST, ports=output_ports(item))
    if form.is_valid():
        try:
            asked = access.request_access(product=item, actor=request.user, **form.cleaned_data)
        except PlatformError as exc:
            _refused(exc)
            form.add_platform_error(exc)
        else:
            done = "granted" if asked.status == AccessRequest.Status.APPROVED else "requested"
            messages.success(request, f"Access to {item.address}:{asked.port} {done}.")
            return redirect(access_url(item))
    context = product_page(request, item, "access", **access_context(request, item, form))
    return render(request, "products/product_detail.html", context, status=400)


def _decided(request: HttpRequest, item: DataProduct, call: Any, done: str) -> HttpResponse:
    """Run a decision's service call; its refusal as a message on the Access tab."""
    try:
        call()
    except PlatformError as exc:
        _refused(exc)
        problems = "; ".join(f"{name}: {text}" for name, text in exc.fields.items())
        messages.error(request, f"{exc.message} {problems}".strip())
    else:
        messages.success(request, done)
    return redirect(access_url(item))


@login_required
@require_POST
def access_decide(request: HttpRequest, domain: str, product: str, pk: int) -> HttpResponse:
    item = visible_product(request, domain, product)
    asked = get_object_or_404(
        AccessRequest.objects.select_related("requester"), product=item, pk=pk
    )
    form = AccessDecisionForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
        )
        messages.error(request, problems)
        return redirect(access_url(item))
    fields = form.cleaned_data
    approve = fields["decision"] == "approve"
    verb = "approved" if approve else "denied"
    return _decided(
        request, item,
        lambda: access.decide_request(
            access_request=asked, approve=approve, actor=request.user,
            clearance=fields["clearance"] or None, expires_at=fields["expires_at"],
            note=fields["note"],
        ),
        f"The request of {asked.requester.username} is {verb}.",
    )  # fmt: skip


@login_required
@require_POST
def access_cancel(request: HttpRequest, domain: str, product: str, pk: int) -> HttpResponse:
    item = visible_product(request, domain, product)
    user = cast(Any, request.user)
    asked = get_object_or_404(AccessRequest, product=item, pk=pk, requester=user)
    return _decided(
        request, item, lambda: access.cancel_request(access_request=asked, actor=request.user),
        "Your request is cancelled.",
    )  # fmt: skip


def _grant(request: HttpRequest, item: DataProduct, pk: int) -> Grant:
    user = cast(Any, request.user)
    grants = Grant.objects.filter(product=item).select_related("consumer", "product__domain")
    if not access.can_decide_access(user, item):
        grants = grants.filter(consumer=user)
    return get_object_or_404(grants, pk=pk)


@login_required
@require_POST
def grant_renew(request: HttpRequest, domain: str, product: str, pk: int) -> HttpResponse:
    item = visible_product(request, domain, product)
    grant = _grant(request, item, pk)
    form = GrantRenewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The new end is not a date and time.")
        return redirect(access_url(item))
    until = form.cleaned_data["expires_at"]
    return _decided(
        request, item,
        lambda: access.renew_grant(grant=grant, actor=request.user, expires_at=until),
        f"The grant of {grant.consumer.username} is renewed.",
    )  # fmt: skip


@login_required
@require_POST
def grant_revoke(request: HttpRequest, domain: str, product: str, pk: int) -> HttpResponse:
    item = visible_product(request, domain, product)
    grant = _grant(request, item, pk)
    return _decided(
        request, item, lambda: access.revoke_grant(grant=grant, actor=request.user),
        f"The grant of {grant.consumer.username} is revoked.",
    )  # fmt: skip


@login_required
@require_POST
def auto_grant(request: HttpRequest, domain: str, product: str) -> HttpResponse:
    item = visible_product(request, domain, product)
    enabled = request.POST.get("enabled") == "on"
    state = "on" if enabled else "off"
    return _decided(
        request, item,
        lambda: access.set_auto_grant(product=item, enabled=enabled, actor=request.user),
        f"Automatic grants are {state} for {item.address}.",
    )  # fmt: skip


@login_required
@require_GET
def my_access(request: HttpRequest) -> HttpResponse:
    """Everything the user reads by grant, and what they asked for, across products."""
    user = cast(Any, request.user)
    context = {
        "section": "catalog",
        "grants": Grant.objects.active(timezone.now())
        .filter(consumer=user)
        .select_related("product__domain", "granted_by"),
        "requests": AccessRequest.objects.filter(requester=user).select_related(
            "product__domain", "decided_by"
        )[:RECENT_GRANTS],
    }
    return render(request, "products/my_access.html", context)


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    mine = Notification.objects.filter(user=cast(Any, request.user))
    page = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "products/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """One notification read (`id`), or all of them."""
    wanted = request.POST.get("id", "")
    notify.mark_read(user=request.user, notification_id=int(wanted) if wanted.isdigit() else None)
    return redirect("notifications")

"""Writes about data products and their contracts: authorise, change, audit.

The portal and the API call these same functions; they authorise, so an interface only has
to authenticate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from domains.models import Domain, Role
from domains.permissions import require_product_editor, role_in
from governance import audit
from governance.evaluation import enforce_change
from meshplatform.errors import Conflict, Invalid
from meshplatform.slugs import check_slug
from products.access import keep_auto_grant_allowed
from products.contracts import check_version_bump, diff_contracts, parse_contract
from products.models import (
    Classification,
    ContractVersion,
    DataProduct,
    Port,
    Status,
    Tag,
    check_classification,
)
from products.notify import notify_breaking_change
from products.runqueue import enqueue_provisioning, enqueue_stop_schedule

EDITABLE_FIELDS = {"title", "description", "classification", "tags", "owner"}


def product_snapshot(product: DataProduct) -> dict[str, Any]:
    return {
        "address": product.address,
        "title": product.title,
        "description": product.description,
        "classification": product.classification,
        "status": product.status,
        "owner": product.owner.username if product.owner else None,
        "tags": sorted(tag.name for tag in product.tags.all()),
    }


def _check_owner(domain: Domain, owner: Any) -> None:
    """A product's owner is accountable for it, so they work in its domain."""
    if role_in(owner, domain) not in {Role.OWNER, Role.ENGINEER}:
        raise Invalid(
            f"{owner.username} is not an engineer or owner of '{domain.slug}'.",
            fields={"owner": "Must be an engineer or owner of the domain."},
        )


def _clean_tags(names: Iterable[str]) -> list[str]:
    cleaned = sorted({name.strip().lower() for name in names if name.strip()})
    return [check_slug(name, "tags") for name in cleaned]


def _set_tags(product: DataProduct, names: Iterable[str]) -> None:
    tags = [Tag.objects.get_or_create(name=name)[0] for name in _clean_tags(names)]
    product.tags.set(tags)


@transaction.atomic
def register_product(
    *,
    domain: Domain,
    slug: str,
    title: str,
    actor: Any,
    description: str = "",
    classification: str = Classification.INTERNAL,
    tags: Iterable[str] = (),
    owner: Any = None,
) -> DataProduct:
    """Register a draft product in a domain; it goes active once it has a contract."""
    require_product_editor(actor, domain)
    check_slug(slug)
    check_classification(classification)
    if owner is not None:
        _check_owner(domain, owner)
    if DataProduct.objects.filter(domain=domain, slug=slug).exists():
        raise Conflict(
            f"'{domain.slug}/{slug}' already exists.",
            fields={"slug": "Already taken in this domain."},
        )
    product = DataProduct.objects.create(
        domain=domain,
        slug=slug,
        title=title,
        description=description,
        classification=classification,
        owner=owner or actor,
    )
    _set_tags(product, tags)
    enforce_change(product)
    audit.record(
        actor=actor, action="product.registered", target=product, domain_slug=domain.slug,
        after=product_snapshot(product),
    )  # fmt: skip
    return product


@transaction.atomic
def update_product(*, product: DataProduct, actor: Any, **changes: Any) -> DataProduct:
    """Change a product's descriptive fields; the status has its own service."""
    require_product_editor(actor, product.domain)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise Invalid(
            "These fields cannot be changed here.",
            fields=dict.fromkeys(sorted(unknown), "Read-only."),
        )
    if "classification" in changes:
        check_classification(changes["classification"])
    if changes.get("owner") is not None and changes["owner"] != product.owner:
        _check_owner(product.domain, changes["owner"])
    status = _lock(product)
    before = product_snapshot(product)
    changed = [
        field
        for field in ("title", "description", "classification", "owner")
        if field in changes and getattr(product, field) != changes[field]
    ]
    new_tags = _clean_tags(changes["tags"]) if "tags" in changes else before["tags"]
    if not changed and new_tags == before["tags"]:
        return product  # nothing to do: applying the same thing twice changes nothing
    if status == Status.RETIRED:
        raise Conflict(f"{product.address} is retired; it no longer changes.")
    for field in changed:
        setattr(product, field, changes[field])
    # Only the changed columns: a stale copy must not overwrite, say, the current contract.
    product.save(update_fields=[*changed, "updated_at"])
    if "classification" in changed:
        product.refresh_from_db(fields=["auto_grant"])
        keep_auto_grant_allowed(product=product, actor=actor)
    _set_tags(product, new_tags)
    enforce_change(product)
    audit.record(
        actor=actor, action="product.updated", target=product,
        domain_slug=product.domain.slug, before=before, after=product_snapshot(product),
    )  # fmt: skip
    return product


@transaction.atomic
def change_product(*, product: DataProduct, actor: Any, **changes: Any) -> DataProduct:
    """Descriptive changes and a status move together, all or nothing (the API's PATCH)."""
    status = changes.pop("status", None)
    if changes:
        update_product(product=product, actor=actor, **changes)
    if status is not None:
        change_status(product=product, status=status, actor=actor)
    return product


def _lock(product: DataProduct) -> str:
    """Lock the product's row for this transaction; returns its current status."""
    rows = DataProduct.objects.select_for_update().filter(pk=product.pk)
    return str(rows.values_list("status", flat=True).get())


def _lock_unretired(product: DataProduct) -> None:
    if _lock(product) == Status.RETIRED:
        raise Conflict(f"{product.address} is retired; it no longer changes.")


@transaction.atomic
def change_status(*, product: DataProduct, status: str, actor: Any) -> DataProduct:
    """Move along draft → active → deprecated → retired; only legal steps."""
    require_product_editor(actor, product.domain)
    if status not in Status.values:
        raise Invalid(
            f"Unknown status '{status}'.", fields={"status": f"One of {', '.join(Status.values)}."}
        )
    _lock(product)
    product.refresh_from_db(fields=["status", "current_contract"])
    if status == product.status:
        return product
    if not product.can_transition_to(status):
        allowed = ", ".join(sorted(_allowed(product))) or "none"
        raise Conflict(
            f"A {product.status} product cannot become {status}.",
            fields={"status": f"Allowed from {product.status}: {allowed}."},
        )
    if status == Status.ACTIVE and not product.can_be_activated():
        raise Conflict(
            "Publish a contract before activating the product.",
            fields={"status": "No contract yet."},
        )
    before = product.status
    product.status = status
    product.save(update_fields=["status", "updated_at"])
    enforce_change(product)
    audit.record(
        actor=actor, action="product.status_changed", target=product,
        domain_slug=product.domain.slug, before={"status": before}, after={"status": status},
    )  # fmt: skip
    if status == Status.ACTIVE:
        enqueue_provisioning(product)
    elif status == Status.RETIRED:
        enqueue_stop_schedule(product)
    return product


def _allowed(product: DataProduct) -> set[str]:
    return {status for status in Status.values if product.can_transition_to(status)}


@transaction.atomic
def publish_contract(*, product: DataProduct, document: str, actor: Any) -> ContractVersion:
    """Publish a new contract version; a breaking change needs a major version bump."""
    require_product_editor(actor, product.domain)
    # Lock the product row so two publishers cannot both become "the next version".
    _lock_unretired(product)
    product.refresh_from_db(fields=["current_contract"])
    parsed = parse_contract(document)
    current = product.current_contract
    changes = []
    if current is not None:
        if parsed.contract_id != current.contract_id:
            raise Conflict(
                f"This product's contract is '{current.contract_id}', not '{parsed.contract_id}'.",
                fields={"id": f"Must be {current.contract_id}."},
            )
        changes = diff_contracts(current.normalized, parsed.normalized)
        check_version_bump(current.version, parsed.version, changes)
    if ContractVersion.objects.filter(product=product, version=parsed.version).exists():
        raise Conflict(
            f"Version {parsed.version} is already published.",
            fields={"version": "Already published."},
        )
    major, minor, patch = _semver_parts(parsed.version)
    version = ContractVersion.objects.create(
        product=product,
        contract_id=parsed.contract_id,
        version=parsed.version,
        major=major,
        minor=minor,
        patch=patch,
        api_version=parsed.api_version,
        document=parsed.text,
        document_format=parsed.format,
        sha256=hashlib.sha256(parsed.text.encode()).hexdigest(),
        normalized=parsed.normalized,
        changes=[change.as_dict() for change in changes],
        published_by=actor,
    )
    product.current_contract = version
    product.save(update_fields=["current_contract", "updated_at"])
    enforce_change(product)
    audit.record(
        actor=actor, action="contract.published", target=version, domain_slug=product.domain.slug,
        before={"version": current.version} if current else None,
        after={"version": version.version, "sha256": version.sha256,
               "breaking": [c.as_dict() for c in changes if c.breaking]},
    )  # fmt: skip
    if any(change.breaking for change in changes):
        notify_breaking_change(version=version, actor=actor)
    if product.status == Status.ACTIVE:
        enqueue_provisioning(product)  # the tables follow the contract (new optional fields)
    return version


def _semver_parts(version: str) -> tuple[int, int, int]:
    core = version.split("-", 1)[0].split("+", 1)[0]
    major, minor, patch = (int(part) for part in core.split("."))
    return major, minor, patch


def port_rows(product: DataProduct) -> list[tuple[str, str, str, str]]:
    return sorted(
        (port.direction, port.name, port.contract_id, port.description)
        for port in product.ports.all()
    )


@transaction.atomic
def set_ports(
    *, product: DataProduct, ports: Iterable[tuple[str, str, str, str]], actor: Any
) -> DataProduct:
    """Replace the product's ports with (direction, name, contract_id, description) rows."""
    require_product_editor(actor, product.domain)
    _lock_unretired(product)
    wanted = sorted(ports)
    before = port_rows(product)
    if wanted == before:
        return product
    if len({(direction, name) for direction, name, _, _ in wanted}) != len(wanted):
        raise Invalid(
            "Port names must be unique per direction.", fields={"ports": "Duplicate name."}
        )
    product.ports.all().delete()
    Port.objects.bulk_create(
        Port(
            product=product,
            direction=direction,
            name=name,
            contract_id=contract_id,
            description=text,
        )
        for direction, name, contract_id, text in wanted
    )
    audit.record(
        actor=actor, action="product.ports_changed", target=product,
        domain_slug=product.domain.slug,
        before={"ports": [list(row) for row in before]},
        after={"ports": [list(row) for row in wanted]},
    )  # fmt: skip
    return product

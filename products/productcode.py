"""Products as code: apply descriptor + contract files idempotently, export them back.

Everything goes through the same services as the portal and the API, in one transaction:
a set of files applies whole or not at all, and applying it twice changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import semver
from django.contrib.auth import get_user_model
from django.db import transaction

from domains.models import Domain
from meshplatform.errors import Conflict, Invalid, NotFound
from products import runs, services
from products.contracts import ParsedContract, parse_contract
from products.contracts.loading import load_document
from products.descriptors import (
    PortDescriptor,
    ProductDescriptor,
    dump_descriptor,
    is_product_descriptor,
    parse_descriptor,
)
from products.models import ContractVersion, DataProduct, Port, status_path


@dataclass
class ApplyResult:
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _split(files: list[tuple[str, str]]) -> tuple[list[ProductDescriptor], dict[str, list[str]]]:
    descriptors: list[ProductDescriptor] = []
    contracts: dict[str, list[str]] = {}
    for name, text in files:
        try:
            document, _ = load_document(text)
            if is_product_descriptor(document):
                descriptors.append(parse_descriptor(document))
            elif document.get("kind") == "DataContract":
                contracts.setdefault(str(document.get("id")), []).append(text)
            else:
                raise Invalid(
                    "Neither a DataProduct nor a DataContract.", fields={"kind": "Unknown kind."}
                )
        except Invalid as error:
            raise type(error)(f"{name}: {error.message}", fields=error.fields) from error
    return descriptors, contracts


@transaction.atomic
def apply_files(*, files: list[tuple[str, str]], actor: Any) -> ApplyResult:
    """Create or update the products and contracts described by (file name, text) pairs."""
    descriptors, contracts = _split(files)
    if not descriptors:
        raise Invalid("No product descriptor (kind: DataProduct) among the files.")
    unreferenced = set(contracts) - {cid for d in descriptors for cid in d.contract_ids}
    if unreferenced:
        raise Invalid(
            f"Contracts not referenced by any output port: {', '.join(sorted(unreferenced))}."
        )
    result = ApplyResult()
    for descriptor in descriptors:
        _apply_one(descriptor, contracts, actor, result)
    return result


def _apply_one(
    descriptor: ProductDescriptor, contracts: dict[str, list[str]], actor: Any, result: ApplyResult
) -> None:
    domain = Domain.objects.filter(slug=descriptor.domain).first()
    if domain is None:
        raise NotFound(f"No domain '{descriptor.domain}'.", fields={"domain": "Unknown domain."})
    owner = _owner(descriptor.owner)
    address = f"{domain.slug}/{descriptor.slug}"
    product = DataProduct.objects.filter(domain=domain, slug=descriptor.slug).first()
    # Only what the descriptor mentions changes; a field it leaves out stays as it is.
    mentioned: dict[str, Any] = {
        name: value
        for name, value in (
            ("title", descriptor.title), ("description", descriptor.description),
            ("classification", descriptor.classification), ("tags", descriptor.tags),
            ("owner", owner),
        )
        if value is not None
    }  # fmt: skip
    if product is None:
        product = services.register_product(
            domain=domain, slug=descriptor.slug, actor=actor,
            **{"title": descriptor.slug, **mentioned},
        )  # fmt: skip
        result.changes.append(f"{address}: registered")
    else:
        before = services.product_snapshot(product)
        services.update_product(product=product, actor=actor, **mentioned)
        if services.product_snapshot(product) != before:
            result.changes.append(f"{address}: updated")
    ports = [("output", p.name, p.contract_id, p.description) for p in descriptor.output_ports]
    ports += [("input", p.name, p.contract_id, p.description) for p in descriptor.input_ports]
    if descriptor.declares_ports and sorted(ports) != services.port_rows(product):
        services.set_ports(product=product, ports=ports, actor=actor)
        result.changes.append(f"{address}: ports updated")
    if len(descriptor.contract_ids) > 1:
        raise Invalid(f"{address}: one contract per product; its output ports name several.")
    for contract_id in descriptor.contract_ids:
        # Parsed once here, in version order: 1.0.0 must publish before 2.0.0 can diff against it.
        parsed = sorted(map(parse_contract, contracts.get(contract_id, [])), key=_semver_key)
        for contract in parsed:
            if _publish_if_new(product, contract, actor):
                result.changes.append(f"{address}: contract {contract_id} published")
    if descriptor.pipeline is not None and descriptor.pipeline != product.pipeline:
        runs.set_pipeline(product=product, pipeline=descriptor.pipeline, actor=actor)
        result.changes.append(f"{address}: pipeline updated")
    if descriptor.status is not None and descriptor.status != product.status:
        # Walk the legal steps (draft → active → deprecated), or let the service refuse.
        for status in status_path(product.status, descriptor.status) or [descriptor.status]:
            services.change_status(product=product, status=status, actor=actor)
        result.changes.append(f"{address}: {descriptor.status}")


def _semver_key(contract: ParsedContract) -> semver.Version:
    return semver.Version.parse(contract.version)


def _owner(username: str | None) -> Any:
    if not username:
        return None
    owner = get_user_model().objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise NotFound(
            f"No active user '{username}'.", fields={"customProperties.owner": "No such user."}
        )
    return owner


def _publish_if_new(product: DataProduct, parsed: ParsedContract, actor: Any) -> bool:
    existing = ContractVersion.objects.filter(product=product, version=parsed.version).first()
    if existing is None:
        services.publish_contract(product=product, document=parsed.text, actor=actor)
        return True
    if existing.sha256 != hashlib.sha256(parsed.text.encode()).hexdigest():
        raise Conflict(
            f"{product.address}: version {parsed.version} is already published with other content; "
            "published versions never change, give this one a new version."
        )
    return False


def descriptor_of(product: DataProduct) -> ProductDescriptor:
    ports = list(product.ports.all())

    def of(direction: str) -> tuple[PortDescriptor, ...]:
        return tuple(
            PortDescriptor(name=p.name, contract_id=p.contract_id, description=p.description)
            for p in ports
            if p.direction == direction
        )

    return ProductDescriptor(
        slug=product.slug,
        domain=product.domain.slug,
        title=product.title,
        description=product.description,
        status=product.status,
        classification=product.classification,
        owner=product.owner.username if product.owner else None,
        tags=tuple(sorted(tag.name for tag in product.tags.all())),
        pipeline=product.pipeline,
        output_ports=of(Port.Direction.OUTPUT),
        input_ports=of(Port.Direction.INPUT),
    )


def export_product(product: DataProduct) -> dict[str, str]:
    """File name -> text: the descriptor and every published contract version, verbatim."""
    files = {"product.yaml": dump_descriptor(descriptor_of(product))}
    for version in product.contracts.order_by("major", "minor", "patch", "published_at"):
        files[f"contract-{version.version}.{version.document_format}"] = version.document
    return files

"""Product descriptors in the shape of Bitol's Open Data Product Standard (ODPS) v1.

Pure Python: reads a descriptor into a `ProductDescriptor`, and writes one back. We keep the
fields the platform acts on; `customProperties` carries the platform's own (classification,
owner) the way ODPS intends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshplatform.errors import Invalid
from products.contracts.loading import load_document

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STATUSES = {"draft", "active", "deprecated", "retired"}


@dataclass(frozen=True)
class PortDescriptor:
    name: str
    contract_id: str = ""
    description: str = ""


@dataclass(frozen=True)
class ProductDescriptor:
    slug: str
    domain: str
    title: str
    description: str = ""
    status: str = "draft"
    classification: str = "internal"
    owner: str | None = None
    tags: tuple[str, ...] = ()
    output_ports: tuple[PortDescriptor, ...] = field(default_factory=tuple)
    input_ports: tuple[PortDescriptor, ...] = field(default_factory=tuple)

    @property
    def contract_ids(self) -> set[str]:
        return {port.contract_id for port in self.output_ports if port.contract_id}


def is_product_descriptor(document: dict[str, Any]) -> bool:
    return document.get("kind") == "DataProduct"


def _text(value: Any, path: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("Expected text.", fields={path: "Must be a string."})
    return value


def _ports(raw: Any, path: str) -> tuple[PortDescriptor, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise Invalid("Ports must be a list.", fields={path: "Must be a list."})
    ports = []
    for index, port in enumerate(raw):
        where = f"{path}[{index}]"
        if not isinstance(port, dict) or not SLUG.match(str(port.get("name", ""))):
            raise Invalid(
                "Each port needs a slug-like name.",
                fields={f"{where}.name": "Required, lower-case slug."},
            )
        ports.append(
            PortDescriptor(
                name=port["name"],
                contract_id=_text(port.get("contractId"), f"{where}.contractId"),
                description=_text(port.get("description"), f"{where}.description"),
            )
        )
    return tuple(ports)


def parse_descriptor(document: dict[str, Any]) -> ProductDescriptor:
    """Validate an ODPS v1 descriptor already loaded by the safe loader."""
    errors: dict[str, str] = {}
    if not str(document.get("apiVersion", "")).startswith("v1."):
        errors["apiVersion"] = "ODPS v1.x.x is accepted (for example v1.0.0)."
    for key in ("id", "domain"):
        if not SLUG.match(str(document.get(key, ""))):
            errors[key] = "Required, a lower-case slug (letters, digits, hyphens)."
    status = document.get("status", "draft")
    if status not in STATUSES:
        errors["status"] = f"One of {', '.join(sorted(STATUSES))}."
    if errors:
        raise Invalid("The product descriptor is not valid.", fields=errors)
    description = document.get("description") or {}
    if isinstance(description, dict):
        description = description.get("purpose", "")
    custom = {
        item.get("property"): item.get("value")
        for item in document.get("customProperties") or []
        if isinstance(item, dict)
    }
    tags = document.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise Invalid("Tags must be a list of strings.", fields={"tags": "List of strings."})
    return ProductDescriptor(
        slug=document["id"],
        domain=document["domain"],
        title=_text(document.get("name"), "name") or document["id"],
        description=_text(description, "description.purpose"),
        status=status,
        classification=str(custom.get("classification", "internal")),
        owner=custom.get("owner"),
        tags=tuple(tags),
        output_ports=_ports(document.get("outputPorts"), "outputPorts"),
        input_ports=_ports(document.get("inputPorts"), "inputPorts"),
    )


def load_descriptor(text: str) -> ProductDescriptor:
    document, _ = load_document(text)
    if not is_product_descriptor(document):
        raise Invalid("Not a product descriptor.", fields={"kind": "Must be DataProduct."})
    return parse_descriptor(document)


def dump_descriptor(descriptor: ProductDescriptor) -> str:
    def ports(items: tuple[PortDescriptor, ...]) -> list[dict[str, str]]:
        return [
            {key: value for key, value in (("name", p.name), ("contractId", p.contract_id),
                                           ("description", p.description)) if value}
            for p in items
        ]  # fmt: skip

    document: dict[str, Any] = {
        "apiVersion": "v1.0.0",
        "kind": "DataProduct",
        "id": descriptor.slug,
        "name": descriptor.title,
        "domain": descriptor.domain,
        "status": descriptor.status,
        "description": {"purpose": descriptor.description},
        "tags": list(descriptor.tags),
        "customProperties": [
            {"property": "classification", "value": descriptor.classification},
            *([{"property": "owner", "value": descriptor.owner}] if descriptor.owner else []),
        ],
    }
    if descriptor.input_ports:
        document["inputPorts"] = ports(descriptor.input_ports)
    if descriptor.output_ports:
        document["outputPorts"] = ports(descriptor.output_ports)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)

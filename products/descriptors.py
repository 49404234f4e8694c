"""Product descriptors in the shape of Bitol's Open Data Product Standard (ODPS) v1.

Pure Python: reads a descriptor into a `ProductDescriptor`, and writes one back. We keep the
fields the platform acts on; `customProperties` carries the platform's own (classification,
owner) the way ODPS intends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from meshplatform.errors import Invalid
from meshplatform.slugs import SLUG

STATUSES = {"draft", "active", "deprecated", "retired"}
# ODPS v1 top-level keys; anything else is a typo we refuse rather than silently drop.
ODPS_KEYS = {
    "apiVersion", "kind", "id", "name", "version", "status", "domain", "tenant",
    "authoritativeDefinitions", "description", "customProperties", "tags", "inputPorts",
    "outputPorts", "managementPorts", "support", "team", "productCreatedTs",
}  # fmt: skip
CUSTOM_PROPERTIES = {"classification", "owner", "pipeline"}
MAPPING_PROPERTIES = {"pipeline"}  # the pipeline spec (meshplatform.pipeline.spec) is a mapping


@dataclass(frozen=True)
class PortDescriptor:
    name: str
    contract_id: str = ""
    description: str = ""


@dataclass(frozen=True)
class ProductDescriptor:
    """None means "not mentioned": applying leaves that field as it is."""

    slug: str
    domain: str
    title: str | None = None
    description: str | None = None
    status: str | None = None
    classification: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] | None = None
    pipeline: dict[str, Any] | None = None
    output_ports: tuple[PortDescriptor, ...] = field(default_factory=tuple)
    input_ports: tuple[PortDescriptor, ...] = field(default_factory=tuple)

    declares_ports: bool = True

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


def _custom_properties(items: list[Any], errors: dict[str, str]) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for index, item in enumerate(items):
        name = item.get("property") if isinstance(item, dict) else None
        expected = dict if name in MAPPING_PROPERTIES else str
        if name not in CUSTOM_PROPERTIES:
            errors[f"customProperties[{index}].property"] = (
                f"One of {', '.join(sorted(CUSTOM_PROPERTIES))}."
            )
        elif not isinstance(item.get("value"), expected):
            errors[f"customProperties[{index}].value"] = (
                "Must be a mapping." if expected is dict else "Must be a string."
            )
        else:
            custom[name] = item["value"]
    return custom


def parse_descriptor(document: dict[str, Any]) -> ProductDescriptor:
    """Validate an ODPS v1 descriptor already loaded by the safe loader."""
    errors: dict[str, str] = {}
    if not str(document.get("apiVersion", "")).startswith("v1."):
        errors["apiVersion"] = "ODPS v1.x.x is accepted (for example v1.0.0)."
    for key in ("id", "domain"):
        if not SLUG.match(str(document.get(key, ""))):
            errors[key] = "Required, a lower-case slug (letters, digits, hyphens)."
    for key in sorted(set(document) - ODPS_KEYS):
        errors[key] = "Unknown field (not in ODPS v1)."
    status = document.get("status")
    if status is not None and status not in STATUSES:
        errors["status"] = f"One of {', '.join(sorted(STATUSES))}."
    custom = _custom_properties(document.get("customProperties") or [], errors)
    tags = document.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags)
    ):
        errors["tags"] = "A list of strings."
    if errors:
        raise Invalid("The product descriptor is not valid.", fields=errors)
    description = document.get("description")
    if isinstance(description, dict):
        description = description.get("purpose")
    return ProductDescriptor(
        slug=document["id"],
        domain=document["domain"],
        title=_text(document["name"], "name") if "name" in document else None,
        description=None if description is None else _text(description, "description.purpose"),
        status=status,
        classification=custom.get("classification"),
        owner=custom.get("owner"),
        tags=None if tags is None else tuple(tags),
        pipeline=custom.get("pipeline"),
        output_ports=_ports(document.get("outputPorts"), "outputPorts"),
        input_ports=_ports(document.get("inputPorts"), "inputPorts"),
        declares_ports="inputPorts" in document or "outputPorts" in document,
    )


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
        "tags": list(descriptor.tags or ()),
        "customProperties": [
            {"property": name, "value": value}
            for name, value in (
                ("classification", descriptor.classification),
                ("owner", descriptor.owner),
                ("pipeline", descriptor.pipeline),
            )
            if value
        ],
    }
    if descriptor.input_ports:
        document["inputPorts"] = ports(descriptor.input_ports)
    if descriptor.output_ports:
        document["outputPorts"] = ports(descriptor.output_ports)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)

"""Parse and validate an ODCS v3 data contract, and reduce it to a normalized form.

The verbatim text is what gets stored and served; the normalized form exists for queries and
for diffing one version against the next, so it keeps only what those need.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any

import pydantic
import semver
from open_data_contract_standard import model as odcs
from open_data_contract_standard.model import (
    CustomProperty,
    DataQuality,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
)

from meshplatform.errors import Invalid
from products.contracts.loading import load_document

SUPPORTED_API_VERSION = re.compile(r"^v3\.(0\.\d+|1\.0|2\.0)$")
LOGICAL_TYPES = frozenset(
    {
        "string",
        "date",
        "timestamp",
        "time",
        "number",
        "integer",
        "object",
        "array",
        "boolean",
    }
    | {"map", "vector"}  # added in ODCS 3.2
)
OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
TRUTHY_STRINGS = frozenset({"true", "yes", "y", "1"})
MASKINGS = frozenset({"hash", "redact"})  # customProperties `masking` of a property


class ContractInvalid(Invalid):
    code = "contract_invalid"


@dataclass(frozen=True)
class ParsedContract:
    """A validated contract: the author's text untouched, plus what the platform reads from it."""

    text: str
    format: str
    contract_id: str
    version: str
    api_version: str
    name: str | None
    model: OpenDataContractStandard
    normalized: dict[str, Any]


def parse_contract(text: str) -> ParsedContract:
    """Load and validate an ODCS v3 document; raise ContractInvalid listing every problem."""
    data, fmt = load_document(text)
    errors: dict[str, str] = {}
    _find_unknown_keys(data, OpenDataContractStandard, "", errors)
    model: OpenDataContractStandard | None = None
    try:
        model = OpenDataContractStandard.model_validate(data)
    except pydantic.ValidationError as error:
        for detail in error.errors():
            if detail["type"] == "extra_forbidden":
                continue  # already reported, at every depth, by _find_unknown_keys
            _add(errors, _loc_to_path(detail["loc"]), detail["msg"])
    _check_fundamentals(data, errors)
    if errors or model is None:
        raise ContractInvalid(
            "The document is not a valid ODCS v3 data contract.",
            fields=dict(sorted(errors.items())),
        )
    assert model.id is not None and model.version is not None and model.apiVersion is not None
    return ParsedContract(
        text=text,
        format=fmt,
        contract_id=model.id,
        version=model.version,
        api_version=model.apiVersion,
        name=model.name,
        model=model,
        normalized=normalize_contract(model),
    )


def _add(errors: dict[str, str], path: str, message: str) -> None:
    # A union type reports once per member; join them rather than keep an arbitrary one.
    if path in errors and message not in errors[path]:
        errors[path] = f"{errors[path]}; {message}"
    else:
        errors.setdefault(path, message)


def _check_fundamentals(data: dict[str, Any], errors: dict[str, str]) -> None:
    for key in ("apiVersion", "kind", "id", "version"):
        if data.get(key) in (None, ""):
            errors.setdefault(key, "This field is required.")
    api_version, kind, version = (
        data.get("apiVersion"),
        data.get("kind"),
        data.get("version"),
    )
    if (
        isinstance(api_version, str)
        and api_version
        and not SUPPORTED_API_VERSION.match(api_version)
    ):
        errors.setdefault("apiVersion", "Supported versions are v3.0.x, v3.1.0 and v3.2.0.")
    if isinstance(kind, str) and kind and kind != "DataContract":
        errors.setdefault("kind", "Must be DataContract.")
    if isinstance(version, str) and version and not semver.Version.is_valid(version):
        errors.setdefault("version", "Must be a semantic version such as 1.2.0.")
    _check_unique_names(data.get("schema"), "schema", errors)
    for index, obj in enumerate(_as_list(data.get("schema"))):
        if isinstance(obj, dict):
            _check_logical_types(obj.get("properties"), f"schema[{index}]", errors)


def _check_unique_names(items: Any, path: str, errors: dict[str, str]) -> None:
    """Two objects or properties with one name would collide in every diff and query."""
    seen: set[str] = set()
    for index, item in enumerate(_as_list(items)):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in seen:
            errors.setdefault(f"{path}[{index}].name", f"Duplicate name {name!r}.")
        seen.add(str(name))


def _check_logical_types(properties: Any, path: str, errors: dict[str, str]) -> None:
    _check_unique_names(properties, f"{path}.properties", errors)
    for index, prop in enumerate(_as_list(properties)):
        if not isinstance(prop, dict):
            continue
        here = f"{path}.properties[{index}]"
        logical_type = prop.get("logicalType")
        if isinstance(logical_type, str) and logical_type not in LOGICAL_TYPES:
            errors.setdefault(
                f"{here}.logicalType",
                f"Must be one of {', '.join(sorted(LOGICAL_TYPES))}.",
            )
        for n, custom in enumerate(_as_list(prop.get("customProperties"))):
            if (
                isinstance(custom, dict)
                and custom.get("property") == "masking"
                and _masking(custom.get("value")) is None
            ):
                errors.setdefault(f"{here}.customProperties[{n}].value", "Must be hash or redact.")
        _check_logical_types(prop.get("properties"), here, errors)
        items = prop.get("items")
        if isinstance(items, dict):
            _check_logical_types(items.get("properties"), f"{here}.items", errors)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_FIELD_NAMES = frozenset(
    (info.alias or name)
    for cls in vars(odcs).values()
    if isinstance(cls, type) and issubclass(cls, pydantic.BaseModel)
    for name, info in cls.model_fields.items()
)


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    """('schema', 0, 'properties', 2, 'logicalType') -> 'schema[0].properties[2].logicalType'.

    Pydantic puts union member names ('str', 'Team', 'list[TeamMember]') into the location;
    anything that is not a field name of the model is one of those and is dropped.
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _FIELD_NAMES:
            path += f".{part}" if path else part
    return path or "__root__"


def _models_in(annotation: Any) -> tuple[type[pydantic.BaseModel] | None, Any]:
    """The model a mapping would be validated as, and the item type a list would be."""
    model, item = None, None
    candidates = [annotation]
    while candidates:
        current = candidates.pop()
        origin = typing.get_origin(current)
        if origin in (typing.Union, types.UnionType):
            candidates.extend(typing.get_args(current))
        elif origin is list:
            item = typing.get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, pydantic.BaseModel):
            model = current
    return model, item


def _find_unknown_keys(value: Any, annotation: Any, path: str, errors: dict[str, str]) -> None:
    # Only the top-level ODCS model forbids extra keys; nested ones silently drop them, which
    # would hide a misspelt `requried: true` deep in a schema.
    model, item = _models_in(annotation)
    if isinstance(value, dict) and model is not None:
        fields = {(info.alias or name): info for name, info in model.model_fields.items()}
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if key not in fields:
                errors.setdefault(child_path, "Unknown field.")
            else:
                _find_unknown_keys(child, fields[key].annotation, child_path, errors)
    elif isinstance(value, list) and item is not None:
        for index, child in enumerate(value):
            _find_unknown_keys(child, item, f"{path}[{index}]", errors)


def normalize_contract(contract: OpenDataContractStandard) -> dict[str, Any]:
    """The JSON-serialisable form used for queries and diffs (see the module docstring)."""
    fields: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    quality: list[dict[str, Any]] = []
    primary_key: dict[str, list[str]] = {}
    for obj in contract.schema_ or []:
        object_name = obj.name or ""
        objects.append(
            {
                "name": object_name,
                "physicalName": obj.physicalName,
                "description": obj.description,
            }
        )
        quality.extend({**rule, "object": object_name} for rule in _normalize_rules(obj.quality))
        object_fields = list(_flatten(obj, obj.properties or [], prefix=""))
        fields.extend(object_fields)
        keyed = [f for f in object_fields if f["primaryKey"]]
        if keyed:
            keyed.sort(
                key=lambda f: (
                    f["primaryKeyPosition"] is None,
                    f["primaryKeyPosition"] or 0,
                )
            )
            primary_key[object_name] = [f["path"] for f in keyed]
    sla = [
        {
            "property": item.property,
            "value": item.value,
            "unit": item.unit,
            "element": item.element,
        }
        for item in contract.slaProperties or []
    ]
    return {
        "fields": fields,
        "objects": objects,
        "quality": quality,
        "sla": sla,
        "primaryKey": primary_key,
    }


def _flatten(
    obj: SchemaObject, properties: list[SchemaProperty], prefix: str
) -> typing.Iterator[dict[str, Any]]:
    for prop in properties:
        name = f"{prefix}{prop.name or ''}"
        yield _normalize_field(obj.name or "", name, prop)
        yield from _flatten(obj, prop.properties or [], prefix=f"{name}.")
        if prop.items is not None:
            yield from _flatten(obj, prop.items.properties or [], prefix=f"{name}[].")


def _normalize_field(object_name: str, name: str, prop: SchemaProperty) -> dict[str, Any]:
    custom = _custom_properties(prop.customProperties)
    tags = sorted(prop.tags or [])
    options = dict(prop.logicalTypeOptions or {})
    enum = _enum_values(prop, custom, options)
    if enum is not None:
        options["enum"] = enum
    classification = prop.classification
    return {
        "object": object_name,
        "name": name,
        "path": f"{object_name}.{name}",
        "logicalType": prop.logicalType,
        "physicalType": prop.physicalType,
        "physicalName": prop.physicalName,
        "required": bool(prop.required),
        "unique": bool(prop.unique),
        "primaryKey": bool(prop.primaryKey),
        "primaryKeyPosition": prop.primaryKeyPosition,
        "classification": classification,
        "pii": (
            "pii" in (tag.lower() for tag in tags)
            or _truthy(custom.get("pii"))
            or (classification or "").lower() == "pii"
        ),
        "description": prop.description,
        "tags": tags,
        # How a sensitive value is hidden from a reader without clearance: hash or redact.
        "masking": _masking(custom.get("masking")),
        "options": options,
        "quality": _normalize_rules(prop.quality),
    }


def _custom_properties(items: list[CustomProperty] | None) -> dict[str, Any]:
    return {item.property: item.value for item in items or [] if item.property}


def _masking(value: Any) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    return text if text in MASKINGS else None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUTHY_STRINGS
    return bool(value)


def _enum_values(
    prop: SchemaProperty, custom: dict[str, Any], options: dict[str, Any]
) -> list[Any] | None:
    if prop.enum is not None:
        return [item.value for item in prop.enum]
    for source in (options.get("enum"), custom.get("enum")):
        if isinstance(source, list):
            return list(source)
    return None


def _normalize_rules(rules: list[DataQuality] | None) -> list[dict[str, Any]]:
    normalized: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for rule in rules or []:
        entry = _normalize_rule(rule)
        # Two rules may share a key (e.g. the same metric with different arguments); number
        # the repeats so that each still matches its counterpart in the next version.
        seen[entry["key"]] = seen.get(entry["key"], 0) + 1
        if seen[entry["key"]] > 1:
            entry["key"] = f"{entry['key']}#{seen[entry['key']]}"
        normalized.append(entry)
    return normalized


def _normalize_rule(rule: DataQuality) -> dict[str, Any]:
    operator = next((name for name in OPERATORS if getattr(rule, name) is not None), None)
    rule_type = rule.type or "library"
    metric = rule.metric or rule.rule
    key = (
        rule.id
        or rule.name
        or ":".join(part for part in (rule_type, metric, rule.query, rule.engine) if part)
    )
    return {
        "key": key,
        "type": rule_type,
        "metric": metric,
        "arguments": rule.arguments,
        "operator": operator,
        "value": getattr(rule, operator) if operator else None,
        "unit": rule.unit,
        "dimension": rule.dimension,
        "severity": rule.severity,
        "query": rule.query,
        "engine": rule.engine,
        "implementation": rule.implementation,
        "description": rule.description,
    }

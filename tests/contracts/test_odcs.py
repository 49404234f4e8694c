import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from products.contracts import ContractInvalid, DocumentInvalid, ParsedContract, parse_contract

DATA = Path(__file__).parent / "data"
FULL_YAML = (DATA / "orders-v3.1.0.yaml").read_text(encoding="utf-8")
FULL_JSON = (DATA / "customers-v3.0.2.json").read_text(encoding="utf-8")


def minimal(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "orders",
        "version": "1.0.0",
        "schema": [{"name": "orders", "properties": [{"name": "id", "logicalType": "string"}]}],
    }
    document.update(overrides)
    return document


def invalid_fields(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ContractInvalid) as raised:
        parse_contract(json.dumps(document))
    assert raised.value.code == "contract_invalid"
    return raised.value.fields


def field(parsed: ParsedContract, path: str) -> dict[str, Any]:
    return next(f for f in parsed.normalized["fields"] if f["path"] == path)


def test_full_v3_1_yaml_document_parses_with_its_fundamentals() -> None:
    parsed = parse_contract(FULL_YAML)
    assert parsed.format == "yaml"
    assert parsed.contract_id == "0b8a3e2c-5f1d-4c1e-9a7b-orders"
    assert parsed.version == "1.2.0"
    assert parsed.api_version == "v3.1.0"
    assert parsed.name == "Orders — Ventes en ligne"
    assert parsed.model.slaProperties is not None
    assert parsed.model.contractCreatedTs == "2024-05-01T09:30:00Z"


def test_every_top_level_section_of_the_full_document_is_used() -> None:
    document = yaml.safe_load(FULL_YAML)
    sections = {info.alias or name for name, info in OpenDataContractStandard.model_fields.items()}
    assert sections - set(document) == {"context"}  # context arrived in ODCS 3.2


def test_json_document_parses_as_json() -> None:
    parsed = parse_contract(FULL_JSON)
    assert parsed.format == "json"
    assert parsed.version == "2.0.0-rc.1"
    assert parsed.api_version == "v3.0.2"
    assert parsed.normalized["primaryKey"] == {"customers": ["customers.id"]}


def test_text_is_kept_byte_for_byte_including_unicode_and_crlf() -> None:
    text = "\ufeff" + FULL_YAML.replace("\n", "\r\n") + "# ünïcödé ✓\r\n"
    parsed = parse_contract(text)
    assert parsed.text == text
    assert parsed.text.encode("utf-8") == text.encode("utf-8")
    assert parse_contract(FULL_JSON).text == FULL_JSON


def test_normalized_form_is_json_serialisable_and_deterministic() -> None:
    first, second = parse_contract(FULL_YAML), parse_contract(FULL_YAML)
    assert json.dumps(first.normalized, sort_keys=True) == json.dumps(
        second.normalized, sort_keys=True
    )


def test_nested_properties_are_flattened_with_dotted_paths() -> None:
    paths = [f["path"] for f in parse_contract(FULL_YAML).normalized["fields"]]
    assert "orders.customer.id" in paths
    assert "orders.customer.email" in paths
    assert "orders.items[].sku" in paths
    customer_id = field(parse_contract(FULL_YAML), "orders.customer.id")
    assert customer_id["object"] == "orders"
    assert customer_id["name"] == "customer.id"


def test_field_attributes_and_options_are_normalized() -> None:
    order_id = field(parse_contract(FULL_YAML), "orders.order_id")
    assert order_id["logicalType"] == "string"
    assert order_id["physicalType"] == "varchar(36)"
    assert (order_id["required"], order_id["unique"], order_id["primaryKey"]) == (True, True, True)
    assert order_id["options"] == {"minLength": 36, "maxLength": 36, "format": "uuid"}
    status = field(parse_contract(FULL_YAML), "orders.status")
    assert status["required"] is False
    assert status["options"]["enum"] == ["placed", "shipped", "cancelled"]


def test_enum_is_read_from_odcs_3_2_enum_values() -> None:
    document = minimal(apiVersion="v3.2.0")
    document["schema"][0]["properties"][0]["enum"] = [{"value": "a"}, {"value": "b"}]
    parsed = parse_contract(json.dumps(document))
    assert field(parsed, "orders.id")["options"]["enum"] == ["a", "b"]


def test_pii_comes_from_tags_custom_property_or_classification() -> None:
    parsed = parse_contract(FULL_YAML)
    assert field(parsed, "orders.customer.email")["pii"] is True  # tag
    assert field(parsed, "customers.id")["pii"] is True  # customProperty "true"
    assert field(parsed, "orders.amount")["pii"] is False
    assert field(parse_contract(FULL_JSON), "customers.email")["pii"] is True  # classification


def test_primary_key_is_listed_in_position_order() -> None:
    assert parse_contract(FULL_YAML).normalized["primaryKey"] == {
        "orders": ["orders.order_id", "orders.line_no"],
        "customers": ["customers.id"],
    }


def test_quality_rules_are_normalized_at_property_and_object_level() -> None:
    parsed = parse_contract(FULL_YAML)
    invalid = field(parsed, "orders.amount")["quality"][1]
    assert invalid["metric"] == "invalidValues"
    assert (invalid["operator"], invalid["value"], invalid["unit"]) == (
        "mustBeLessThan",
        5,
        "percent",
    )
    rules = {rule["key"]: rule for rule in parsed.normalized["quality"]}
    assert rules["library:rowCount"]["operator"] == "mustBeGreaterThan"
    assert rules["library:rowCount"]["dimension"] == "completeness"
    assert rules["no_future_orders"]["type"] == "sql"
    assert rules["no_future_orders"]["query"].startswith("SELECT COUNT(*)")
    assert all(rule["object"] == "orders" for rule in parsed.normalized["quality"])
    legacy = parse_contract(FULL_JSON).normalized["quality"][0]
    assert (legacy["metric"], legacy["value"]) == ("rowCount", [1, 1000000])


def test_objects_and_sla_are_normalized() -> None:
    normalized = parse_contract(FULL_YAML).normalized
    assert normalized["objects"][0] == {
        "name": "orders",
        "physicalName": "orders_v1",
        "description": "One row per order line.",
    }
    assert normalized["sla"][0] == {
        "property": "latency",
        "value": 4,
        "unit": "h",
        "element": "orders.placed_at",
    }


def test_unknown_field_is_reported_with_its_path() -> None:
    document = minimal(colour="blue")
    document["schema"][0]["properties"][0]["requried"] = True
    fields = invalid_fields(document)
    assert fields["colour"] == "Unknown field."
    assert fields["schema[0].properties[0].requried"] == "Unknown field."


def test_wrong_type_is_reported_with_its_path() -> None:
    document = minimal()
    document["schema"][0]["properties"].append({"name": "x", "required": "sometimes"})
    fields = invalid_fields(document)
    assert "schema[0].properties[1].required" in fields
    assert "boolean" in fields["schema[0].properties[1].required"]


def test_every_error_is_reported_not_just_the_first() -> None:
    document = minimal(version="one", kind="Contract")
    document["schema"][0]["properties"][0]["logicalType"] = "text"
    document["schema"][0]["properties"].append({"name": "y", "unique": [1]})
    assert set(invalid_fields(document)) == {
        "version",
        "kind",
        "schema[0].properties[0].logicalType",
        "schema[0].properties[1].unique",
    }


def test_union_member_names_do_not_leak_into_paths() -> None:
    fields = invalid_fields(minimal(slaProperties=[{"property": "latency", "value": [1]}]))
    assert list(fields) == ["slaProperties[0].value"]


@pytest.mark.parametrize("api_version", ["v2.2.2", "v3.3.0", "3.1.0", "v4.0.0"])
def test_unsupported_api_version_is_refused(api_version: str) -> None:
    assert "apiVersion" in invalid_fields(minimal(apiVersion=api_version))


@pytest.mark.parametrize("api_version", ["v3.0.0", "v3.0.2", "v3.1.0", "v3.2.0"])
def test_supported_api_versions_are_accepted(api_version: str) -> None:
    assert parse_contract(json.dumps(minimal(apiVersion=api_version))).api_version == api_version


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "latest"])
def test_version_that_is_not_semver_is_refused(version: str) -> None:
    assert "version" in invalid_fields(minimal(version=version))


def test_yaml_float_version_is_refused_as_not_a_string() -> None:
    with pytest.raises(ContractInvalid) as raised:
        parse_contract("apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0\n")
    assert "version" in raised.value.fields


@pytest.mark.parametrize("missing", ["apiVersion", "kind", "id", "version"])
def test_fundamentals_are_required(missing: str) -> None:
    document = minimal()
    del document[missing]
    assert invalid_fields(document)[missing] == "This field is required."


def test_hostile_document_is_refused_before_validation() -> None:
    with pytest.raises(DocumentInvalid):
        parse_contract("apiVersion: &v v3.1.0\nkind: *v\n")


def test_duplicate_property_and_object_names_are_refused_with_their_path() -> None:
    document = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "d", "version": "1.0.0",
        "status": "active",
        "schema": [
            {"name": "orders", "properties": [{"name": "a"}, {"name": "a"}]},
            {"name": "orders"},
        ],
    }  # fmt: skip
    with pytest.raises(ContractInvalid) as error:
        parse_contract(json.dumps(document))
    assert set(error.value.fields) >= {"schema[1].name", "schema[0].properties[1].name"}

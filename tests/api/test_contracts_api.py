"""Publishing, reading, exporting and comparing contract versions through the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from governance.models import AuditEvent
from products.models import ContractVersion
from tests.api.conftest import API, BREAKING_PROPERTIES, error_of
from tests.dbstate import database_state
from tests.factories import odcs_document

Client = Callable[[str], APIClient]
CONTRACTS = f"{API}/products/sales/orders/contracts/"

# Comments, blank lines and a quoting style a YAML re-dump would not keep.
HAND_WRITTEN_YAML = """\
# Orders contract, kept by the sales team.
apiVersion: "v3.1.0"
kind: DataContract
id: orders
version: 1.0.0
status: active

schema:
  - name: orders
    logicalType: object
    properties:
      - {name: order_id, logicalType: string, required: true, primaryKey: true}
      - name: amount   # in euros
        logicalType: number
"""


def publish(client: APIClient, document: str, content_type: str = "application/yaml") -> object:
    return client.post(CONTRACTS, data=document.encode(), content_type=content_type)


@pytest.fixture
def engineer(client_for: Client) -> APIClient:
    return client_for("engineer")


def test_publishing_the_first_version_makes_it_current(
    engineer: APIClient, people: SimpleNamespace
) -> None:
    response = publish(engineer, odcs_document(version="1.0.0"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["contract_id"], body["api_version"]) == (
        "1.0.0",
        "orders",
        "v3.1.0",
    )
    assert (body["published_by"], body["breaking_change_count"], body["changes"]) == (
        "ethan",
        0,
        [],
    )
    assert body["document_format"] == "yaml"
    assert response["Location"].endswith("/api/v1/products/sales/orders/contracts/1.0.0/")
    product = engineer.get(f"{API}/products/sales/orders/").json()
    assert product["current_contract_version"] == "1.0.0"
    assert AuditEvent.objects.filter(action="contract.published").count() == 1


def test_a_breaking_change_without_a_major_bump_is_409_listing_the_changes(
    engineer: APIClient,
) -> None:
    publish(engineer, odcs_document(version="1.0.0"))
    before = database_state()

    response = publish(engineer, odcs_document(version="1.1.0", properties=BREAKING_PROPERTIES))

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "breaking_change"
    assert [(c["path"], c["kind"], c["breaking"]) for c in error["changes"]] == [
        ("orders.note", "field_removed", True)
    ]
    assert "version" in error["fields"]
    assert database_state() == before


def test_a_breaking_change_with_a_major_bump_is_published(engineer: APIClient) -> None:
    publish(engineer, odcs_document(version="1.0.0"))

    response = publish(engineer, odcs_document(version="2.0.0", properties=BREAKING_PROPERTIES))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["breaking_change_count"] == 1
    assert body["changes"][0]["path"] == "orders.note"
    versions = engineer.get(CONTRACTS).json()["results"]
    assert [(v["version"], v["breaking_change_count"]) for v in versions] == [
        ("2.0.0", 1),
        ("1.0.0", 0),
    ]


def test_a_document_can_be_sent_inside_json(engineer: APIClient) -> None:
    document = odcs_document(version="1.0.0")

    response = engineer.post(CONTRACTS, {"document": document}, format="json")

    assert response.status_code == 201, response.content
    assert ContractVersion.objects.get().document == document


@pytest.mark.parametrize(
    ("document", "content_type"),
    [
        (HAND_WRITTEN_YAML, "application/yaml"),
        (HAND_WRITTEN_YAML.replace("\n", "\r\n"), "application/x-yaml"),
        ("\ufeff" + HAND_WRITTEN_YAML, "text/yaml; charset=utf-8"),
    ],
)
def test_a_yaml_document_is_exported_byte_for_byte(
    engineer: APIClient, document: str, content_type: str
) -> None:
    assert publish(engineer, document, content_type).status_code == 201

    response = engineer.get(f"{CONTRACTS}1.0.0/", {"format": "odcs"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response.content == document.encode()


def test_a_raw_json_document_is_exported_byte_for_byte(engineer: APIClient) -> None:
    contract = yaml.safe_load(odcs_document(version="1.0.0", description={"purpose": "Café ☕"}))
    document = json.dumps(contract, indent=3, ensure_ascii=False) + "\n\n"

    assert publish(engineer, document, "application/json").status_code == 201
    response = engineer.get(f"{CONTRACTS}1.0.0/?format=odcs", HTTP_ACCEPT="application/yaml")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == document.encode()
    assert ContractVersion.objects.get().document_format == "json"


def test_a_version_shows_its_normalized_form_and_where_to_export_it(engineer: APIClient) -> None:
    publish(engineer, odcs_document(version="1.0.0"))

    body = engineer.get(f"{CONTRACTS}1.0.0/").json()

    assert [field["path"] for field in body["normalized"]["fields"]] == [
        "orders.order_id", "orders.amount", "orders.note",
    ]  # fmt: skip
    assert body["document_url"].endswith("/contracts/1.0.0/?format=odcs")
    assert len(body["sha256"]) == 64


def test_an_unknown_version_is_404_also_when_exporting(engineer: APIClient) -> None:
    for url in (f"{CONTRACTS}9.9.9/", f"{CONTRACTS}9.9.9/?format=odcs"):
        response = engineer.get(url)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_diff_lists_every_change_between_two_versions(engineer: APIClient) -> None:
    publish(engineer, odcs_document(version="1.0.0"))
    publish(engineer, odcs_document(version="1.0.1", description={"purpose": "Orders."}))
    publish(engineer, odcs_document(version="2.0.0", properties=BREAKING_PROPERTIES))

    response = engineer.get(f"{CONTRACTS}diff/", {"from": "1.0.0", "to": "2.0.0"})

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["breaking"]) == ("1.0.0", "2.0.0", True)
    assert ("orders.note", "field_removed", True) in [
        (c["path"], c["kind"], c["breaking"]) for c in body["changes"]
    ]
    same = engineer.get(f"{CONTRACTS}diff/", {"from": "1.0.1", "to": "1.0.1"}).json()
    assert (same["breaking"], same["changes"]) == (False, [])


def test_diff_needs_both_versions(engineer: APIClient) -> None:
    publish(engineer, odcs_document(version="1.0.0"))

    missing = engineer.get(f"{CONTRACTS}diff/", {"from": "1.0.0"})
    unknown = engineer.get(f"{CONTRACTS}diff/", {"from": "1.0.0", "to": "3.0.0"})

    assert missing.status_code == 400
    assert error_of(missing)["fields"] == {"to": "This query parameter is required."}
    assert unknown.status_code == 404
    error_of(unknown)


def test_an_invalid_contract_is_400_pointing_at_the_field(engineer: APIClient) -> None:
    before = database_state()

    response = publish(engineer, odcs_document(version="one"))

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "contract_invalid"
    assert "version" in error["fields"]
    assert database_state() == before


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        ({"document": "x", "version": "1.0.0"}, {"version"}),
        ({}, {"document"}),
        ({"document": ""}, {"document"}),
    ],
)
def test_a_json_body_with_other_fields_or_no_document_is_400(
    engineer: APIClient, body: dict[str, str], bad_fields: set[str]
) -> None:
    response = engineer.post(CONTRACTS, body, format="json")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == bad_fields
    assert not ContractVersion.objects.exists()


def test_a_body_that_is_not_utf8_is_400(engineer: APIClient) -> None:
    response = engineer.post(
        CONTRACTS, data=odcs_document().encode("utf-16"), content_type="application/yaml"
    )

    assert response.status_code == 400
    error_of(response)
    assert not ContractVersion.objects.exists()


def test_an_unsupported_content_type_is_415(engineer: APIClient) -> None:
    response = engineer.post(CONTRACTS, data=odcs_document(), content_type="text/plain")

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert not ContractVersion.objects.exists()


def test_a_body_over_the_upload_limit_is_413(engineer: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    response = publish(engineer, odcs_document() + "#" * 10_000 + "\n")

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert not ContractVersion.objects.exists()

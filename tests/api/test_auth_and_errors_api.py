"""Authentication on every endpoint, tokens, and the one error envelope."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api.conftest import API, error_of
from tests.dbstate import database_state
from tests.factories import PASSWORD

Client = Callable[[str], APIClient]

ENDPOINTS = [
    ("get", "/domains/"),
    ("post", "/domains/"),
    ("get", "/domains/sales/"),
    ("patch", "/domains/sales/"),
    ("get", "/domains/sales/members/"),
    ("post", "/domains/sales/members/"),
    ("get", "/domains/sales/members/vera/"),
    ("patch", "/domains/sales/members/vera/"),
    ("delete", "/domains/sales/members/vera/"),
    ("get", "/products/"),
    ("post", "/products/"),
    ("get", "/products/sales/orders/"),
    ("patch", "/products/sales/orders/"),
    ("get", "/products/sales/orders/contracts/"),
    ("post", "/products/sales/orders/contracts/"),
    ("get", "/products/sales/orders/contracts/1.0.0/"),
    ("get", "/products/sales/orders/contracts/1.0.0/?format=odcs"),
    ("get", "/products/sales/orders/contracts/diff/?from=1.0.0&to=1.0.0"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_anonymous_requests_with_401(
    people: SimpleNamespace, method: str, path: str
) -> None:
    before = database_state()

    response = getattr(APIClient(), method)(f"{API}{path}", {}, format="json")

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"
    assert database_state() == before


def test_a_token_obtained_with_a_password_authenticates_api_calls(people: SimpleNamespace) -> None:
    client = APIClient()
    obtained = client.post(
        f"{API}/auth/token/", {"username": "ethan", "password": PASSWORD}, format="json"
    )
    assert obtained.status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Token {obtained.json()['token']}")

    listed = client.get(f"{API}/products/")
    registered = client.post(
        f"{API}/products/",
        {"domain": "sales", "slug": "refunds", "title": "Refunds"},
        format="json",
    )

    assert listed.status_code == 200
    assert "sales/payroll-links" in [p["address"] for p in listed.json()["results"]]
    assert registered.status_code == 201
    assert registered.json()["owner"] == "ethan"


def test_a_wrong_token_is_401(people: SimpleNamespace) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get(f"{API}/products/")

    assert response.status_code == 401
    error_of(response)


def test_errors_share_one_envelope(client_for: Client) -> None:
    viewer = client_for("viewer")

    invalid = viewer.post(f"{API}/products/", {"slug": "x", "colour": "red"}, format="json")
    forbidden = viewer.post(
        f"{API}/products/", {"domain": "sales", "slug": "x", "title": "X"}, format="json"
    )
    missing = viewer.get(f"{API}/products/sales/nothing/")
    conflict = client_for("engineer").post(
        f"{API}/products/", {"domain": "sales", "slug": "orders", "title": "X"}, format="json"
    )

    assert error_of(invalid) == {
        "code": "invalid",
        "message": "The request is not valid.",
        "fields": {"colour": "This field is unknown or read-only."},
    }
    assert (forbidden.status_code, error_of(forbidden)["code"]) == (403, "forbidden")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")
    assert (conflict.status_code, error_of(conflict)["code"]) == (409, "conflict")
    assert error_of(conflict)["message"] == "'sales/orders' already exists."


def test_a_body_that_is_not_json_is_400_in_the_envelope(client_for: Client) -> None:
    response = client_for("engineer").post(
        f"{API}/products/", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_the_schema_and_the_docs_are_served(client_for: Client, settings: Any) -> None:
    client = client_for("viewer")

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/products/{domain}/{product}/contracts/{version}/" in paths
    assert docs.status_code == 200


def test_an_unknown_api_url_answers_with_the_json_envelope(client_for: Client) -> None:
    response = client_for("viewer").get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_wrong_password_gets_401_with_a_challenge(people: SimpleNamespace) -> None:
    response = APIClient().post(
        f"{API}/auth/token/", {"username": "ethan", "password": "wrong"}, format="json"
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert error_of(response)["code"] == "authentication_failed"


def test_a_token_expires_and_can_be_revoked(people: SimpleNamespace) -> None:
    client = APIClient()
    token = client.post(
        f"{API}/auth/token/", {"username": "ethan", "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert AuthToken.objects.get(user=people.engineer).expiry is not None

    assert client.post(f"{API}/auth/logout/").status_code == 204
    assert client.get(f"{API}/products/").status_code == 401

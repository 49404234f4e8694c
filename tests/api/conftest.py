"""Clients per actor, a snapshot of everything a refused write must leave alone, builders."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import ORDER_FIELDS

ACTORS = ("outsider", "viewer", "engineer", "owner", "governance", "admin")
API = "/api/v1"

# odcs_document()'s default properties without `note`: a breaking change.
BREAKING_PROPERTIES = [field for field in ORDER_FIELDS if field["name"] != "note"]


@pytest.fixture
def client_for(people: SimpleNamespace) -> Callable[[str], APIClient]:
    """An API client signed in (by session) as one of `people`, or anonymous."""

    def make(who: str) -> APIClient:
        client = APIClient()
        if who != "anonymous":
            client.force_login(getattr(people, who))
        return client

    return make


def error_of(response: Any) -> dict[str, Any]:
    """The error envelope's body, after checking its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])

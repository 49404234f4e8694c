"""The whole state a refused write must leave alone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from domains.models import Domain, Membership
from governance.models import AuditChainHead, AuditEvent
from products.models import ContractVersion, DataProduct, Port, Tag


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row a write endpoint could touch, with its values; equal before and after a
    refused write, or something changed."""
    models = [
        get_user_model(), Domain, Membership, DataProduct, DataProduct.tags.through, Tag,
        Port, ContractVersion, AuditEvent, AuditChainHead,
    ]  # fmt: skip
    state = {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}
    for user in state[get_user_model()._meta.label]:
        del user["last_login"]  # signing a test client in sets it
    return state

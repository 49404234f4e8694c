"""Products, contracts and waits shared by the tests that run a real worker."""

from __future__ import annotations

import json
from typing import Any

import yaml

from products.models import DataProduct, Provisioning, Run
from products.productcode import apply_files
from tests.pipeline.conftest import wait_for

ORDERS_CONTRACT = {
    "apiVersion": "v3.1.0",
    "kind": "DataContract",
    "id": "orders",
    "version": "1.0.0",
    "status": "active",
    "schema": [
        {
            "name": "orders",
            "properties": [
                {"name": "order_id", "logicalType": "integer", "primaryKey": True},
                {
                    "name": "amount",
                    "logicalType": "number",
                    "logicalTypeOptions": {"minimum": 0},
                },
                {"name": "country", "logicalType": "string", "required": True},
            ],
        }
    ],
}
TOTALS_CONTRACT = {
    **ORDERS_CONTRACT,
    "id": "country-totals",
    "schema": [
        {
            "name": "totals",
            "properties": [
                {"name": "country", "logicalType": "string", "primaryKey": True},
                {"name": "total", "logicalType": "number"},
            ],
        }
    ],
}


def descriptor(slug: str, contract: str, pipeline: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1.0.0",
            "kind": "DataProduct",
            "id": slug,
            "domain": "sales",
            "status": "active",
            "outputPorts": [{"name": "default", "contractId": contract}],
            "customProperties": [{"property": "pipeline", "value": pipeline}],
        }
    )


def provisioned(slug: str) -> DataProduct:
    def ready() -> DataProduct | None:
        product = DataProduct.objects.get(slug=slug)
        assert product.provisioning != Provisioning.FAILED, product.provisioning_error
        return product if product.provisioning == Provisioning.READY else None

    return wait_for(ready, what=f"{slug} to be provisioned")


def finished(run: Run, timeout: float = 60.0) -> Run:
    def done() -> Run | None:
        run.refresh_from_db()
        return None if run.is_active else run

    return wait_for(done, timeout, what=f"run {run.pk} to finish")


def orders_product(user: Any, pipeline: dict[str, Any]) -> DataProduct:
    """sales/orders with ORDERS_CONTRACT and `pipeline`, applied as code and provisioned."""
    apply_files(
        files=[
            ("orders.yaml", descriptor("orders", "orders", pipeline)),
            ("orders-contract.json", json.dumps(ORDERS_CONTRACT)),
        ],
        actor=user,
    )
    return provisioned("orders")

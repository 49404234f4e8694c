"""The demo mesh that `make run` loads: 3 domains, 8 products with ODCS contracts, and a user
for each role. Products are applied as code (descriptor + contract YAML) through the same
services as everything else, so loading it twice changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from domains import services as domain_services
from domains.models import GOVERNANCE_GROUP, Domain, Membership
from governance.dashboard import snapshot_scores
from governance.models import Policy
from governance.services import create_policy
from products.access import decide_request, request_access
from products.models import DataProduct, Grant
from products.productcode import apply_files

DEMO_PASSWORD = "mesh-demo-2026"

USERS = {
    # username: (domain, role) — None for platform-wide people
    "admin": None,
    "grace": None,  # governance council
    "carl": None,  # a consumer from no domain
    "sam": ("sales", "owner"),
    "erin": ("sales", "engineer"),
    "val": ("sales", "viewer"),
    "lena": ("logistics", "owner"),
    "eli": ("logistics", "engineer"),
    "fiona": ("finance", "owner"),
    "felix": ("finance", "engineer"),
}
DOMAINS = {
    "sales": ("Sales", "Orders, customers and returns from the web shop and the stores."),
    "logistics": ("Logistics", "Shipments, carriers and warehouse stock."),
    "finance": ("Finance", "Invoices and revenue reporting."),
}

S, N, INT, D, T, B = "string", "number", "integer", "date", "timestamp", "boolean"


def _field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "logicalType": kind, **extra}


PK = {"required": True, "unique": True, "primaryKey": True, "primaryKeyPosition": 1}
PRODUCTS: list[dict[str, Any]] = [
    {"domain": "sales", "id": "orders", "name": "Orders", "classification": "internal",
     "status": "active", "owner": "sam", "tags": ["orders", "time-series"],
     "purpose": "Every confirmed order from the web shop and the stores, one row per order.",
     "pipeline": {"inputs": [{"name": "orders", "files": {"path": "orders-*.csv"}}],
                  "load": {"mode": "merge", "partitionBy": [{"dateOf": "ordered_at"}]},
                  "schedule": {"cron": "0 * * * *"}},
     "fields": [_field("order_id", S, **PK), _field("customer_id", S, required=True),
                _field("ordered_at", T, required=True),
                _field("amount", N, required=True, logicalTypeOptions={"minimum": 0}),
                _field("currency", S, required=True, logicalTypeOptions={"pattern": "^[A-Z]{3}$"}),
                _field("channel", S, description="web or store")]},
    {"domain": "sales", "id": "customers", "name": "Customers", "classification": "confidential",
     "status": "active", "owner": "sam", "tags": ["customers", "pii"],
     "purpose": "Customer master data, deduplicated across channels.",
     "fields": [_field("customer_id", S, **PK),
                _field("email", S, required=True, classification="restricted", tags=["pii"],
                       logicalTypeOptions={"format": "email"}),
                _field("country", S, logicalTypeOptions={"minLength": 2, "maxLength": 2}),
                _field("signed_up_on", D)]},
    {"domain": "sales", "id": "returns", "name": "Returns", "classification": "internal",
     "status": "draft", "owner": "erin", "tags": ["orders"],
     "purpose": "Returned items with their reason, for quality and refunds.",
     "fields": [_field("return_id", S, **PK), _field("order_id", S, required=True),
                _field("reason", S), _field("returned_on", D, required=True)]},
    {"domain": "logistics", "id": "shipments", "name": "Shipments", "classification": "internal",
     "status": "active", "owner": "lena", "tags": ["time-series"],
     "purpose": "Each parcel shipped, with carrier and delivery times.",
     "fields": [_field("shipment_id", S, **PK), _field("order_id", S, required=True),
                _field("carrier", S, required=True), _field("shipped_at", T, required=True),
                _field("delivered_at", T)]},
    {"domain": "logistics", "id": "warehouse-stock", "name": "Warehouse stock",
     "classification": "public", "status": "active", "owner": "eli", "tags": ["inventory"],
     "purpose": "Stock on hand per warehouse and SKU, refreshed hourly.",
     "fields": [_field("warehouse", S, required=True), _field("sku", S, required=True),
                _field("on_hand", INT, required=True, logicalTypeOptions={"minimum": 0})]},
    {"domain": "logistics", "id": "carriers", "name": "Carriers", "classification": "public",
     "status": "deprecated", "owner": "lena", "tags": ["reference"],
     "purpose": "Reference list of carriers (superseded by the partner registry).",
     "fields": [_field("carrier", S, **PK), _field("name", S, required=True)]},
    {"domain": "finance", "id": "invoices", "name": "Invoices", "classification": "restricted",
     "status": "active", "owner": "fiona", "tags": ["billing"],
     "purpose": "Issued invoices with amounts and tax, for accounting only.",
     "fields": [_field("invoice_id", S, **PK), _field("customer_id", S, required=True),
                _field("issued_on", D, required=True),
                _field("total", N, required=True, logicalTypeOptions={"minimum": 0}),
                _field("vat_rate", N, logicalTypeOptions={"minimum": 0, "maximum": 1})]},
    {"domain": "finance", "id": "revenue-daily", "name": "Daily revenue",
     "classification": "confidential", "status": "active", "owner": "felix",
     "tags": ["reporting", "time-series"], "inputs": ["sales/orders"],
     "pipeline": {
         "inputs": [{"name": "orders", "product": {"address": "sales/orders", "port": "main"}}],
         "transform": "select cast(ordered_at as date) as day, sales_channel as channel, "
                      "sum(amount) as revenue from orders group by 1, 2",
         "load": {"mode": "overwrite"},
         "schedule": {"upstream": True}},
     "purpose": "Revenue per day and channel, built on sales/orders.",
     "fields": [_field("day", D, required=True), _field("channel", S, required=True),
                _field("revenue", N, required=True)]},
]  # fmt: skip


# The council's first policies: one blocking, the rest warnings, some failing on purpose.
POLICIES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("sla-declared", "The SLA declares freshness and retention", "blocking",
     {"builtin": "sla_declared"},
     "Consumers plan on both: add slaProperties freshness and retention to the contract."),
    ("described", "Products are described", "warning",
     {"builtin": "owner_and_description", "params": {"minLength": 40}},
     "Say in at least 40 characters what the product holds, one row per what."),
    ("sensitive-masked", "PII and restricted fields are masked", "warning",
     {"builtin": "sensitive_fields_masked"},
     "Give each PII or restricted field a classification and customProperties masking: "
     "hash or redact."),
    ("time-partitioned", "Time series are partitioned by time", "warning",
     {"builtin": "time_series_partitioned"},
     "Partition the output of a time-series product by a date (load.partitionBy: dateOf)."),
    ("clean-runs", "Runs quarantine under 5 %", "warning",
     {"builtin": "quarantine_rate", "params": {"maxPercent": 5}},
     "Fix the source or the contract until fewer than 5 % of rows are quarantined."),
]  # fmt: skip


def _contract(spec: dict[str, Any], version: str, fields: list[dict[str, Any]]) -> str:
    document = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"{spec['domain']}-{spec['id']}",
        "version": version,
        "status": "active",
        "name": spec["name"],
        "domain": spec["domain"],
        "description": {"purpose": spec["purpose"]},
        "schema": [{"name": spec["id"].replace("-", "_"), "logicalType": "object",
                    "properties": fields,
                    "quality": [{"type": "library", "metric": "rowCount",
                                 "mustBeGreaterThan": 0}]}],
        "slaProperties": [{"property": "freshness", "value": 1, "unit": "d"},
                          {"property": "retention", "value": 365, "unit": "d"}],
    }  # fmt: skip
    return yaml.safe_dump(document, sort_keys=False)


def _descriptor(spec: dict[str, Any]) -> str:
    document = {
        "apiVersion": "v1.0.0",
        "kind": "DataProduct",
        "id": spec["id"],
        "name": spec["name"],
        "domain": spec["domain"],
        "status": spec["status"],
        "description": {"purpose": spec["purpose"]},
        "tags": spec["tags"],
        "customProperties": [{"property": "classification", "value": spec["classification"]},
                             {"property": "owner", "value": spec["owner"]}]
                            + ([{"property": "pipeline", "value": spec["pipeline"]}]
                               if "pipeline" in spec else []),
        "inputPorts": [{"name": source.replace("/", "-"), "description": f"from {source}"}
                       for source in spec.get("inputs", [])],
        "outputPorts": [{"name": "main", "contractId": f"{spec['domain']}-{spec['id']}"}],
    }  # fmt: skip
    return yaml.safe_dump(document, sort_keys=False)


def demo_files(spec: dict[str, Any]) -> list[tuple[str, str]]:
    files = [
        ("product.yaml", _descriptor(spec)),
        ("contract-1.0.0.yaml", _contract(spec, "1.0.0", spec["fields"])),
    ]
    if spec["id"] == "orders":  # a history with a breaking change, to show the diff view
        renamed = [f if f["name"] != "channel" else {**f, "name": "sales_channel", "required": True}
                   for f in spec["fields"]]  # fmt: skip
        files.append(("contract-2.0.0.yaml", _contract(spec, "2.0.0", renamed)))
    return files


def write_demo_orders(rows: int = 500) -> bool:
    """A day of orders for sales/orders' pipeline (a few bad rows among them), once."""
    roots = settings.PIPELINE_FILE_ROOTS
    if not roots:
        return False
    path = Path(roots[0]) / "sales" / "orders-2026-11-24.csv"  # sales' own folder
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    n = pl.col("n")
    hour, minute = (n % 24).cast(pl.String).str.zfill(2), (n % 60).cast(pl.String).str.zfill(2)
    pl.DataFrame({"n": pl.int_range(rows, eager=True)}).select(
        pl.format("o-{}", n).alias("order_id"),
        pl.format("c-{}", n % 97).alias("customer_id"),
        pl.format("2026-11-24T{}:{}:00Z", hour, minute).alias("ordered_at"),
        # Every 50th order has a negative amount, every 70th a bad currency: quarantined.
        pl.when(n % 50 == 7).then(-1.0).otherwise((n % 200) * 1.25 + 5).alias("amount"),
        pl.when(n % 70 == 3).then(pl.lit("euro")).otherwise(pl.lit("EUR")).alias("currency"),
        pl.when(n % 3 == 0).then(pl.lit("store")).otherwise(pl.lit("web")).alias("sales_channel"),
    ).write_csv(path)
    return True


@transaction.atomic
def load_demo() -> list[str]:
    User = get_user_model()
    council, _ = Group.objects.get_or_create(name=GOVERNANCE_GROUP)
    for username, _membership in USERS.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.example"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = user.is_staff = username == "admin"
            user.save()
        if username == "grace":
            user.groups.add(council)
    admin = User.objects.get(username="admin")
    for slug, (name, description) in DOMAINS.items():
        if not Domain.objects.filter(slug=slug).exists():
            owner = next(user for user, role in USERS.items() if role == (slug, "owner"))
            domain_services.create_domain(
                slug=slug, name=name, description=description, owner_username=owner, actor=admin
            )
    for username, membership in USERS.items():
        if (
            membership
            and not Membership.objects.filter(
                user__username=username, domain__slug=membership[0]
            ).exists()
        ):
            domain_services.add_member(
                domain=Domain.objects.get(slug=membership[0]),
                username=username,
                role=membership[1],
                actor=admin,
            )
    changes = []
    for spec in PRODUCTS:
        changes += apply_files(files=demo_files(spec), actor=admin).changes
    if write_demo_orders():
        changes.append("sales/orders: a day of orders in the inbox, to run (Run now)")
    # finance/revenue-daily is built on sales/orders: its owner holds a grant on it.
    orders = DataProduct.objects.get(domain__slug="sales", slug="orders")
    felix = User.objects.get(username="felix")
    if not Grant.objects.filter(product=orders, consumer=felix, revoked_at=None).exists():
        purpose = "Daily revenue per channel (finance/revenue-daily)."
        asked = request_access(product=orders, port="main", actor=felix, purpose=purpose)
        decide_request(access_request=asked, approve=True, actor=User.objects.get(username="sam"))
        changes.append("finance: felix granted access to sales/orders")
    grace = User.objects.get(username="grace")
    for slug, title, severity, rule, why in POLICIES:
        if not Policy.objects.filter(slug=slug, domain=None).exists():
            create_policy(actor=grace, domain=None, slug=slug, title=title, description=why,
                          severity=severity, rule=rule)  # fmt: skip
            changes.append(f"policy global:{slug}")
    snapshot_scores(timezone.now().date())
    summary = (
        f"Demo mesh: {len(DOMAINS)} domains, {len(PRODUCTS)} products "
        f"({len(changes)} changes applied)."
    )
    return [summary, *changes]

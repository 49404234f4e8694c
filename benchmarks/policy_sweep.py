"""Policy evaluation and the governance dashboard at scale: N products, 30 policies.

Runs against PostgreSQL (DATABASE_URL) in a throw-away database it creates and drops. Measures
a full sweep (every policy on every product, verdicts written), a second sweep (nothing
changed: nothing written), and the dashboard page for a council member (p50/p95, queries).
Usage: python benchmarks/policy_sweep.py [--products 10000] [--requests 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshplatform.settings")

from djangobench import p50_p95, throwaway_database  # noqa: E402 (benchmarks/ is on the path)

BUILTINS = [
    {"builtin": "owner_and_description", "params": {"minLength": 20}},
    {"builtin": "owner_and_description", "params": {"minLength": 80}},
    {"builtin": "quality_rules", "params": {"min": 1}},
    {"builtin": "quality_rules", "params": {"min": 3}},
    {"builtin": "sensitive_fields_masked"},
    {"builtin": "sla_declared"},
    {"builtin": "max_retention", "params": {"days": 365}},
    {"builtin": "breaking_needs_major"},
    {"builtin": "restricted_needs_approval"},
    {"builtin": "time_series_partitioned"},
    {"builtin": "quarantine_rate", "params": {"maxPercent": 5}},
    {"builtin": "freshness_met"},
]
CEL = [
    "size(product.tags) > 0",
    "product.owner != null",
    "contract == null || size(contract.fields) <= 50",
    "contract == null || contract.fields.exists(f, f.primaryKey)",
    "contract == null || contract.fields.all(f, f.logicalType != null)",
    "product.classification != 'restricted' || 'pii' in product.tags",
    "run == null || run.quarantinePercent < 2.0",
    "run == null || run.rowsRead > 0",
    "contract == null || contract.sla.retentionDays == null || contract.sla.retentionDays <= 400.0",
    "product.title.size() >= 3",
    "product.description.contains('Benchmark')",
    "contract == null || contract.major >= 1",
    "grants.all(g, g.approved || product.classification == 'public')",
    "contract == null || contract.qualityRules >= 1",
    "product.status != 'deprecated'",
    "product.address.startsWith(product.domain + '/')",
    "contract == null || !contract.fields.exists(f, f.pii && f.masking == null)",
    "product.pipeline == null || product.pipeline.load.mode != 'overwrite'",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    with throwaway_database():
        council = build_mesh(args.products)
        print(f"Governance, {args.products:,} products, {len(BUILTINS) + len(CEL)} policies")
        measure_sweeps()
        measure_new_policy(council)
        measure_dashboard(council, args.requests)


def build_mesh(count: int) -> object:
    """20 domains, `count` active products with a contract, a run for a third, 30 policies."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from domains.models import GOVERNANCE_GROUP, Domain
    from governance.models import Policy
    from products.contracts import parse_contract
    from products.models import Classification, ContractVersion, DataProduct, Run, Tag
    from tests.factories import odcs_document

    council = get_user_model().objects.create_user("council", password="bench-password-123")
    council.groups.add(Group.objects.get_or_create(name=GOVERNANCE_GROUP)[0])
    domains = [Domain.objects.create(slug=f"d{i}", name=f"Domain {i}") for i in range(20)]
    tags = [Tag.objects.create(name=name) for name in ("pii", "time-series", "orders", "x")]
    classes = Classification.values
    products = DataProduct.objects.bulk_create(
        DataProduct(
            domain=domains[i % 20], slug=f"p{i}", title=f"Product {i}", owner=council,
            description="Benchmark product " * (i % 6), classification=classes[i % 4],
            status="active",
            pipeline={"inputs": [], "load": {"mode": "append"}} if i % 2 else None,
        )
        for i in range(count)
    )  # fmt: skip
    through = DataProduct.tags.through
    through.objects.bulk_create(
        through(dataproduct_id=p.pk, tag_id=tags[i % 4].pk) for i, p in enumerate(products)
    )
    parsed = parse_contract(odcs_document())
    versions = ContractVersion.objects.bulk_create(
        ContractVersion(
            product=p, contract_id="orders", version="1.0.0", major=1, minor=0, patch=0,
            api_version=parsed.api_version, document=parsed.text, document_format="yaml",
            sha256="0" * 64, normalized=parsed.normalized, published_by=council,
        )
        for p in products
    )  # fmt: skip
    for product, version in zip(products, versions, strict=True):
        product.current_contract = version
    DataProduct.objects.bulk_update(products, ["current_contract"], batch_size=2000)
    Run.objects.bulk_create(
        Run(product=p, trigger="manual", status="succeeded", rows_read=1000,
            rows_written=990 - i % 40, rows_quarantined=10 + i % 40)
        for i, p in enumerate(products) if i % 3 == 0
    )  # fmt: skip
    for n, rule in enumerate(BUILTINS + [{"cel": expression} for expression in CEL]):
        Policy.objects.create(
            slug=f"policy-{n}", title=f"Policy {n}", description="Benchmark policy.",
            scope="global", severity="blocking" if n % 3 == 0 else "warning", rule=rule,
        )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return council


def measure_sweeps() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from governance import services
    from governance.models import Evaluation

    labels = ("first sweep, from no verdicts at all (every one written)",
              "second sweep (nothing changed: the periodic one)")  # fmt: skip
    for label in labels:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            written = services.sweep()
        seconds = time.perf_counter() - started
        print(f"  {label}: {seconds:.2f} s, {written:,} verdicts written, "
              f"{len(queries)} queries")  # fmt: skip
    print(f"  current verdicts: {Evaluation.objects.filter(current=True).count():,}")


def measure_new_policy(council: object) -> None:
    """What the council waits for when it enables a policy: every product judged at once."""
    from governance import services

    started = time.perf_counter()
    services.create_policy(
        actor=council, domain=None, slug="one-more", title="One more", severity="warning",
        description="Benchmark policy.", rule={"cel": "size(product.description) >= 10"},
    )  # fmt: skip
    print(f"  enabling one more policy (judges every product): "
          f"{time.perf_counter() - started:.2f} s")  # fmt: skip


def measure_dashboard(council: object, requests: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(council)  # type: ignore[arg-type]
    for _ in range(5):
        assert client.get("/governance/").status_code == 200
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/governance/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    p50, p95 = p50_p95(timings)
    print(f"  dashboard page: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"{len(queries)} queries")  # fmt: skip


if __name__ == "__main__":
    main()

"""p50/p95 latency of the catalog API list (`GET /api/v1/products/`) with N products.

Runs against PostgreSQL (DATABASE_URL) in a throw-away database it creates and drops, through
Django's test client (the whole middleware, auth, filtering, serialisation and pagination path;
no network). Usage: python benchmarks/catalog_api.py [--products 10000] [--requests 200]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    with throwaway_database():
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from domains.models import Domain, Membership, Role
        from products.models import Classification, DataProduct, Tag

        user = get_user_model().objects.create_user("bench", password="bench-password-123")
        domains = [Domain.objects.create(slug=f"d{i}", name=f"Domain {i}") for i in range(20)]
        Membership.objects.create(domain=domains[0], user=user, role=Role.ENGINEER)
        tags = [Tag.objects.create(name=f"t{i}") for i in range(10)]
        classes = Classification.values
        products = DataProduct.objects.bulk_create(
            DataProduct(
                domain=domains[i % len(domains)], slug=f"p{i}", title=f"Product {i}",
                description="Benchmark product " * 4, classification=classes[i % 4], owner=user,
            )
            for i in range(args.products)
        )  # fmt: skip
        through = DataProduct.tags.through
        through.objects.bulk_create(
            through(dataproduct_id=p.pk, tag_id=tags[i % len(tags)].pk)
            for i, p in enumerate(products)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        client = Client()
        client.force_login(user)
        cases = {
            "list (first page)": "/api/v1/products/",
            "filter status+q": "/api/v1/products/?status=draft&q=Product%201",
            "page 50": "/api/v1/products/?page=50",
        }
        print(f"Catalog API, {args.products:,} products, {args.requests} requests each, PostgreSQL")
        for name, url in cases.items():
            for _ in range(10):  # warm up
                assert client.get(url).status_code == 200
            timings = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            p50, p95 = p50_p95(timings)
            print(f"  {name:<20} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   queries {len(queries)}")


if __name__ == "__main__":
    main()

"""A product's lineage, the one both the portal page and the API show: on the database."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from products.lineage_graph import HIDDEN_LABEL, NodeRole, product_lineage
from products.models import DataProduct, Status
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

READS_ORDERS = {"inputs": [{"name": "o", "product": {"address": "sales/orders"}}]}


def with_pipeline(product: DataProduct, pipeline: dict[str, Any]) -> DataProduct:
    product.pipeline = pipeline
    product.save(update_fields=["pipeline"])
    return product


def test_inputs_become_sources_and_upstream_products_without_their_secrets(
    people: SimpleNamespace,
) -> None:
    ProductFactory(domain=people.sales, slug="customers", title="Customers")
    orders = with_pipeline(
        people.internal,
        {
            "inputs": [
                {"name": "files_in", "files": {"path": "sales/orders-*.csv"}},
                {"name": "changes", "postgres": {"connection": "sales-db", "query": "select 1"}},
                {"name": "clicks", "redisStream": {"connection": "events", "stream": "clicks"}},
                {"name": "customers", "product": {"address": "sales/customers"}},
                {"name": "again", "product": {"address": "sales/customers", "port": "default"}},
            ],
            "transform": "select * from files_in",
        },
    )

    lineage = product_lineage(orders, people.viewer)

    assert [(n.role, n.kind, n.label) for n in lineage.upstream] == [
        (NodeRole.SOURCE, "files", "sales/orders-*.csv"),
        (NodeRole.SOURCE, "postgres", "sales-db"),
        (NodeRole.SOURCE, "redisStream", "clicks"),
        (NodeRole.UPSTREAM, "product", "sales/customers"),
    ]
    files, postgres, stream, customers = lineage.upstream
    assert files.file_format == "csv"
    assert (postgres.connection, stream.connection) == ("sales-db", "events")
    assert customers.title == "Customers" and customers.status == Status.DRAFT
    assert "select 1" not in repr(lineage.nodes)
    into_orders = [(e.source, e.input) for e in lineage.edges if e.target == lineage.center.id]
    assert into_orders[-2:] == [
        ("product:sales/customers", "customers"),
        ("product:sales/customers", "again"),
    ]
    assert lineage.downstream == []


def test_an_upstream_product_the_user_cannot_see_is_there_but_unnamed(
    people: SimpleNamespace,
) -> None:
    audit = with_pipeline(
        ProductFactory(domain=people.hr, slug="audit"),
        {"inputs": [{"name": "p", "product": {"address": "sales/payroll-links"}}]},
    )

    [hidden] = product_lineage(audit, people.outsider).upstream
    [shown] = product_lineage(audit, people.viewer).upstream

    assert (hidden.label, hidden.product, hidden.hidden) == (HIDDEN_LABEL, None, True)
    assert "payroll-links" not in repr(hidden)
    assert shown.product == people.restricted and not shown.hidden


def test_downstream_is_every_visible_reader_but_retired_ones_with_its_status(
    people: SimpleNamespace,
) -> None:
    orders = people.internal
    readers = {"a-draft": Status.DRAFT, "b-active": Status.ACTIVE,
               "c-deprecated": Status.DEPRECATED, "d-retired": Status.RETIRED}  # fmt: skip
    for slug, status in readers.items():
        ProductFactory(domain=people.hr, slug=slug, status=status, pipeline=READS_ORDERS)
    with_pipeline(people.hr_restricted, READS_ORDERS)  # restricted to hr
    ProductFactory(domain=people.hr, slug="lookalike", pipeline={"note": "sales/orders"})
    ProductFactory(
        domain=people.hr,
        slug="other-orders",
        pipeline={"inputs": [{"name": "o", "product": {"address": "sales/orders-2"}}]},
    )

    seen_by_viewer = product_lineage(orders, people.viewer).downstream
    seen_by_governance = product_lineage(orders, people.governance)

    assert [(n.label, n.status) for n in seen_by_viewer] == [
        ("hr/a-draft", Status.DRAFT),
        ("hr/b-active", Status.ACTIVE),
        ("hr/c-deprecated", Status.DEPRECATED),
    ]
    assert [n.label for n in seen_by_governance.downstream][-1] == "hr/salaries"
    assert {(e.source, e.target, e.input) for e in seen_by_governance.edges} >= {
        ("product:sales/orders", "product:hr/salaries", "o")
    }


def test_a_spec_the_parser_refuses_has_no_lineage_and_reads_nothing(
    people: SimpleNamespace,
) -> None:
    broken = {"inputs": "sales/orders"}
    orders = with_pipeline(people.internal, broken)
    ProductFactory(domain=people.hr, slug="broken-reader", pipeline={"inputs": ["sales/orders"]})

    lineage = product_lineage(orders, people.viewer)

    assert (lineage.upstream, lineage.downstream, lineage.edges) == ([], [], [])


@pytest.mark.parametrize("readers", [1, 12])
def test_lineage_takes_the_same_queries_however_many_products_read_it(
    people: SimpleNamespace,
    django_assert_num_queries: Callable[[int], Any],
    readers: int,
) -> None:
    ProductFactory(domain=people.sales, slug="customers")
    orders = with_pipeline(
        people.internal,
        {
            "inputs": [
                {"name": "customers", "product": {"address": "sales/customers"}},
                {"name": "payroll", "product": {"address": "sales/payroll-links"}},
            ],
            "transform": "select * from customers join payroll using (id)",
        },
    )
    for number in range(readers):
        ProductFactory(domain=people.hr, slug=f"reader-{number}", pipeline=READS_ORDERS)

    with django_assert_num_queries(2):  # the governance check, then every candidate at once
        lineage = product_lineage(orders, people.viewer)

    assert len(lineage.upstream) == 2 and len(lineage.downstream) == readers

"""Pipelines, runs, data, lineage and connections through the API: who may, and what shows."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from governance.models import AuditEvent
from meshplatform import lake
from products import access
from products.models import Connection, DataProduct, Provisioning, Run, Status
from products.services import publish_contract
from products.tables import quarantine_uri, table_uri
from tests.api.conftest import API, error_of
from tests.factories import ProductFactory, odcs_document

Client = Callable[[str], APIClient]
ORDERS = f"{API}/products/sales/orders"
RESTRICTED = f"{API}/products/sales/payroll-links"
SPEC = {"inputs": [{"name": "orders", "files": {"path": "sales/orders-*.csv"}}]}
WRITERS = [("anonymous", 401), ("outsider", 403), ("viewer", 403), ("governance", 403),
           ("engineer", None), ("owner", None), ("admin", None)]  # fmt: skip
# Session and user, the governance check, the product, its tags, count, page.
RUN_LIST_QUERIES = 7
# Session and user, the product and its tags, the governance check, the candidates.
LINEAGE_QUERIES = 6
SCHEMA = pa.schema([("order_id", pa.string()), ("amount", pa.float64())])
DB_PASSWORD = "s3cr3t-Hunter2"


@pytest.fixture
def orders(people: SimpleNamespace, settings: Any, tmp_path: Path) -> DataProduct:
    """sales/orders, active and provisioned, with a contract and a pipeline; its lake in tmp."""
    settings.LAKE_URI = str(tmp_path / "lake")
    publish_contract(product=people.internal, document=odcs_document(), actor=people.owner)
    DataProduct.objects.filter(pk=people.internal.pk).update(
        pipeline=SPEC, status=Status.ACTIVE, provisioning=Provisioning.READY
    )
    return DataProduct.objects.get(pk=people.internal.pk)


def make_run(product: DataProduct, **fields: Any) -> Run:
    return Run.objects.create(
        product=product, trigger=Run.Trigger.SCHEDULE, status=Run.Status.SUCCEEDED, **fields
    )


@pytest.fixture
def orders_table(orders: DataProduct) -> list[Run]:
    """The output at versions 0 (empty), 1 (two rows) and 2 (one more), and a quarantine."""
    runs = [make_run(orders), make_run(orders)]
    uri = table_uri("sales", "orders", "default")
    lake.ensure_table(uri, SCHEMA)
    batches = [{"order_id": ["a", "b"], "amount": [1.0, 2.0]}, {"order_id": ["c"], "amount": [3.0]}]
    for run, rows in zip(runs, batches, strict=True):
        lake.commit(
            uri, pa.table(rows, schema=SCHEMA), app_id="mesh:test", run=run.pk,
            metadata={"mesh.run": str(run.pk)},
        )  # fmt: skip
    bad = quarantine_uri("sales", "orders", "default")
    lake.ensure_table(bad, SCHEMA.append(pa.field("_run", pa.int64())))
    rows = {"order_id": ["x", "y", "z"], "amount": [-1.0, -2.0, -3.0]}
    rows["_run"] = [runs[0].pk, runs[1].pk, runs[1].pk]
    lake.commit(bad, pa.table(rows), app_id="mesh:test", run=1)
    return runs


# --- Pipeline spec ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "shown"),
    [("anonymous", 401, False), ("outsider", 200, False), ("viewer", 200, False),
     ("engineer", 200, True), ("owner", 200, True)],
)  # fmt: skip
def test_whoever_sees_the_product_sees_its_provisioning_and_only_its_team_the_spec(
    client_for: Client, orders: DataProduct, who: str, status: int, shown: bool
) -> None:
    # The spec names sources, queries and upstream products that others may not see.
    response = client_for(who).get(f"{ORDERS}/pipeline/")

    assert response.status_code == status
    if status == 200:
        assert response.json() | {"provisioned_at": None} == {
            "pipeline": SPEC if shown else None, "declared": True, "provisioning": "ready",
            "provisioning_error": "", "provisioned_at": None, "next_run_at": None,
        }  # fmt: skip


@pytest.mark.parametrize(("who", "status"), WRITERS)
def test_only_a_domains_engineers_owners_and_admins_change_the_pipeline(
    client_for: Client, orders: DataProduct, who: str, status: int | None
) -> None:
    spec = {**SPEC, "load": {"mode": "overwrite"}}

    response = client_for(who).put(f"{ORDERS}/pipeline/", {"pipeline": spec}, format="json")

    orders.refresh_from_db()
    if status is not None:
        assert response.status_code == status
        error_of(response)
        assert orders.pipeline == SPEC
        return
    assert response.status_code == 200, response.content
    assert response.json()["pipeline"] == orders.pipeline
    assert orders.pipeline["load"] == {"mode": "overwrite"}
    assert AuditEvent.objects.filter(action="product.pipeline_changed").count() == 1


def test_a_hidden_products_pipeline_is_404_even_to_write(client_for: Client) -> None:
    client = client_for("outsider")

    assert client.get(f"{RESTRICTED}/pipeline/").status_code == 404
    response = client.put(f"{RESTRICTED}/pipeline/", {"pipeline": SPEC}, format="json")
    assert response.status_code == 404
    error_of(response)


def test_a_bad_spec_is_400_with_the_path_of_each_mistake(
    client_for: Client, orders: DataProduct
) -> None:
    spec = {"inputs": [{"name": "orders", "files": {}}], "load": {"mode": "upsert"}}

    response = client_for("engineer").put(f"{ORDERS}/pipeline/", {"pipeline": spec}, format="json")

    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert {"pipeline.inputs[0].files.path", "pipeline.load.mode"} <= set(fields)
    orders.refresh_from_db()
    assert orders.pipeline == SPEC


def test_null_removes_the_pipeline_and_an_empty_body_is_refused(
    client_for: Client, orders: DataProduct
) -> None:
    client = client_for("engineer")

    assert client.put(f"{ORDERS}/pipeline/", {}, format="json").status_code == 400
    response = client.put(f"{ORDERS}/pipeline/", {"pipeline": None}, format="json")

    assert response.status_code == 200
    orders.refresh_from_db()
    assert orders.pipeline is None


# --- Runs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), WRITERS)
def test_only_a_domains_engineers_owners_and_admins_run_a_product_now(
    client_for: Client, people: SimpleNamespace, orders: DataProduct, who: str, status: int | None
) -> None:
    response = client_for(who).post(f"{ORDERS}/runs/")

    if status is not None:
        assert response.status_code == status
        error_of(response)
        assert not Run.objects.exists()
        return
    assert response.status_code == 202, response.content
    run = Run.objects.get()
    assert (run.status, run.trigger, run.triggered_by) == ("queued", "manual", getattr(people, who))
    body = response.json()
    assert body["id"] == run.pk and body["status"] == "queued"
    assert response["Location"].endswith(f"/api/v1/products/sales/orders/runs/{run.pk}/")


def test_run_now_while_a_run_is_active_is_409_in_the_envelope(
    client_for: Client, orders: DataProduct
) -> None:
    client = client_for("engineer")
    first = client.post(f"{ORDERS}/runs/")

    second = client.post(f"{ORDERS}/runs/")

    assert first.status_code == 202
    assert second.status_code == 409
    assert error_of(second) | {"message": ""} == {
        "code": "conflict", "message": "", "run": first.json()["id"]
    }  # fmt: skip
    assert Run.objects.count() == 1


@pytest.mark.parametrize("count", [1, 30])
def test_runs_list_newest_first_in_constant_queries(
    client_for: Client,
    people: SimpleNamespace,
    orders: DataProduct,
    django_assert_max_num_queries: Callable[[int], Any],
    count: int,
) -> None:
    made = [make_run(orders, triggered_by=people.engineer) for _ in range(count)]
    make_run(people.restricted)  # another product's run is not listed
    client = client_for("viewer")

    with django_assert_max_num_queries(RUN_LIST_QUERIES):
        response = client.get(f"{ORDERS}/runs/", {"page_size": 200})

    body = response.json()
    assert body["count"] == count
    assert [run["id"] for run in body["results"]] == [run.pk for run in reversed(made)]
    assert body["results"][0]["triggered_by"] == "ethan"


def test_run_detail_shows_stages_quality_and_quarantine_sample(
    client_for: Client, orders: DataProduct
) -> None:
    quality = {"ok": False, "rows_in": 3, "rows_passed": 2, "rows_quarantined": 1,
               "rule_counts": {"orders.amount:minimum": {"checked": 3, "failed": 1}},
               "dataset": [{"rule": "orders:rowCount", "passed": True}]}  # fmt: skip
    stages = [{"name": "extract", "started_at": "2025-01-01T00:00:00+00:00",
               "finished_at": "2025-01-01T00:00:02+00:00"}]  # fmt: skip
    run = make_run(
        orders, stage="done", attempts=1, rows_read=3, rows_written=2, rows_quarantined=1,
        output_version=4, watermark={"orders": "f.csv"}, stages=stages, quality=quality,
        quarantine_sample=[{"order_id": "x", "amount": -1}], trace_id="ab" * 16,
    )  # fmt: skip

    body = client_for("viewer").get(f"{ORDERS}/runs/{run.pk}/").json()

    assert body["quality"] == quality
    assert body["stages"] == stages
    assert body["quarantine_sample"] == [{"order_id": "x", "amount": -1}]
    assert (body["rows_read"], body["rows_written"], body["rows_quarantined"]) == (3, 2, 1)
    assert (body["output_version"], body["watermark"], body["trace_id"]) == (
        4, {"orders": "f.csv"}, "ab" * 16
    )  # fmt: skip
    assert body["duration"] is None


def test_a_run_is_found_only_under_its_own_product(
    client_for: Client, people: SimpleNamespace, orders: DataProduct
) -> None:
    other = make_run(ProductFactory(domain=people.sales, slug="customers"))

    response = client_for("engineer").get(f"{ORDERS}/runs/{other.pk}/")

    assert response.status_code == 404
    error_of(response)


# --- Data: versions, preview (time travel), download, quarantine --------------------------


def test_versions_list_the_tables_commits_newest_first(
    client_for: Client, orders_table: list[Run]
) -> None:
    body = client_for("viewer").get(f"{ORDERS}/versions/").json()

    assert [v["version"] for v in body["versions"]] == [2, 1, 0]
    assert [v["run"] for v in body["versions"][:2]] == [orders_table[1].pk, orders_table[0].pk]


def test_preview_reads_the_latest_version_or_travels_back_in_time(
    client_for: Client, people: SimpleNamespace, orders_table: list[Run]
) -> None:
    # An outsider reads with a grant (internal clearance: nothing in this table is masked).
    asked = access.request_access(
        product=people.internal, port="default", purpose="Reporting", actor=people.outsider
    )
    access.decide_request(access_request=asked, approve=True, actor=people.owner)
    client = client_for("outsider")

    latest = client.get(f"{ORDERS}/preview/").json()
    first = client.get(f"{ORDERS}/preview/", {"version": 1, "limit": 10}).json()

    assert latest["version"] == 2
    assert sorted(row["order_id"] for row in latest["rows"]) == ["a", "b", "c"]
    assert (first["version"], first["port"]) == (1, "default")
    assert sorted(row["order_id"] for row in first["rows"]) == ["a", "b"]
    assert first["columns"] == [
        {"name": "order_id", "type": "string"}, {"name": "amount", "type": "double"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "status"),
    [({"version": 99}, 404), ({"version": "latest"}, 400), ({"limit": 0}, 400),
     ({"port": "nope"}, 404)],
)  # fmt: skip
def test_preview_refuses_versions_limits_and_ports_that_do_not_exist(
    client_for: Client, orders_table: list[Run], params: dict[str, Any], status: int
) -> None:
    response = client_for("viewer").get(f"{ORDERS}/preview/", params)

    assert response.status_code == status
    error_of(response)


def test_csv_downloads_keep_spreadsheets_from_running_cells_as_formulas(
    client_for: Client, orders: DataProduct
) -> None:
    uri = table_uri("sales", "orders", "default")
    lake.ensure_table(uri, SCHEMA)
    hostile = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTAB", "plain", "a=b"]
    rows = pa.table(
        {"order_id": hostile, "amount": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]}, schema=SCHEMA
    )
    lake.commit(uri, rows, app_id="mesh:test", run=make_run(orders).pk)
    client = client_for("viewer")

    csv = client.get(f"{ORDERS}/download/", {"format": "csv"})
    parquet = client.get(f"{ORDERS}/download/", {"format": "parquet"})

    lines = b"".join(csv.streaming_content).decode().splitlines()[1:]
    assert lines == [
        '"\'=HYPERLINK(""http://x"")",-1', "\"'+1\",2", "\"'-2\",3", "\"'@SUM(A1)\",4",
        '"\'\tTAB",5', '"plain",6', '"a=b",7',
    ]  # fmt: skip
    stored = pq.read_table(io.BytesIO(b"".join(parquet.streaming_content)))
    assert stored["order_id"].to_pylist() == hostile  # Parquet keeps the values as they are


def test_download_returns_the_file_at_a_version_as_an_attachment(
    client_for: Client, orders_table: list[Run]
) -> None:
    client = client_for("viewer")

    csv = client.get(f"{ORDERS}/download/", {"format": "csv", "version": 1})
    parquet = client.get(f"{ORDERS}/download/", {"format": "parquet"})

    assert csv.status_code == 200
    assert csv["Content-Type"] == "text/csv"
    assert csv["Content-Disposition"] == 'attachment; filename="orders-default-v1.csv"'
    assert sorted(b"".join(csv.streaming_content).decode().splitlines()[1:]) == [
        '"a",1',
        '"b",2',
    ]
    chunks = list(parquet.streaming_content)
    assert len(chunks) > 1  # streamed batch by batch (the table has two files), not built whole
    table = pq.read_table(io.BytesIO(b"".join(chunks)))
    assert sorted(table["order_id"].to_pylist()) == ["a", "b", "c"]
    assert parquet["Content-Disposition"] == 'attachment; filename="orders-default.parquet"'


@pytest.mark.parametrize(
    ("params", "status"), [({"format": "xml"}, 400), ({"format": "csv", "version": 7}, 404)]
)
def test_download_refuses_unknown_formats_and_versions(
    client_for: Client, orders_table: list[Run], params: dict[str, Any], status: int
) -> None:
    response = client_for("viewer").get(f"{ORDERS}/download/", params)

    assert response.status_code == status
    error_of(response)


def test_a_runs_quarantine_shows_only_the_rows_it_quarantined(
    client_for: Client, orders_table: list[Run]
) -> None:
    run = orders_table[1]

    body = client_for("viewer").get(f"{ORDERS}/runs/{run.pk}/quarantine/").json()

    assert body["run"] == run.pk
    assert sorted(row["order_id"] for row in body["rows"]) == ["y", "z"]


def test_a_product_without_a_table_has_no_data_to_read(
    client_for: Client, orders: DataProduct
) -> None:
    response = client_for("viewer").get(f"{ORDERS}/preview/")

    assert response.status_code == 404
    error_of(response)


READS = ["pipeline/", "runs/", "versions/", "preview/", "download/?format=csv", "lineage/"]


@pytest.mark.parametrize("url", READS)
@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("outsider", 404)])
def test_a_hidden_products_pipeline_runs_data_and_lineage_are_not_found(
    client_for: Client, url: str, who: str, status: int
) -> None:
    response = client_for(who).get(f"{RESTRICTED}/{url}")

    assert response.status_code == status
    error_of(response)


# --- Lineage ------------------------------------------------------------------------------


def test_lineage_shows_sources_upstream_and_the_visible_downstream_but_retired(
    client_for: Client, people: SimpleNamespace, orders: DataProduct
) -> None:
    ProductFactory(domain=people.sales, slug="customers", title="Customers")
    orders.pipeline = {
        "inputs": [
            {"name": "orders", "files": {"path": "sales/orders-*.csv"}},
            {"name": "changes", "postgres": {"connection": "sales-db", "query": "select 1"}},
            {"name": "customers", "product": {"address": "sales/customers"}},
            {"name": "payroll", "product": {"address": "sales/payroll-links"}},
        ],
        "transform": "select * from orders",
    }
    orders.save()
    reads_orders = {"inputs": [{"name": "o", "product": {"address": "sales/orders"}}]}
    ProductFactory(domain=people.hr, slug="order-stats", pipeline=reads_orders)
    DataProduct.objects.filter(pk=people.hr_restricted.pk).update(pipeline=reads_orders)
    ProductFactory(domain=people.hr, slug="other", pipeline={"note": "sales/orders-2"})
    ProductFactory(domain=people.hr, slug="old-stats", pipeline=reads_orders, status=Status.RETIRED)

    engineer = client_for("engineer").get(f"{ORDERS}/lineage/").json()
    governance = client_for("governance").get(f"{ORDERS}/lineage/").json()
    outsider = client_for("outsider").get(f"{ORDERS}/lineage/").json()

    nodes = {node["id"]: node for node in engineer["nodes"]}
    assert {(n["kind"], n["role"], n["label"]) for n in nodes.values()} == {
        ("product", "self", "sales/orders"),
        ("files", "source", "sales/orders-*.csv"),
        ("postgres", "source", "sales-db"),
        ("product", "upstream", "sales/customers"),
        ("product", "upstream", "sales/payroll-links"),
        ("product", "downstream", "hr/order-stats"),
    }
    assert nodes["product:sales/customers"]["title"] == "Customers"
    assert {(e["source"], e["target"], e["input"]) for e in engineer["edges"]} >= {
        ("product:sales/customers", "product:sales/orders", "customers"),
        ("product:sales/orders", "product:hr/order-stats", "o"),
    }
    assert "select 1" not in json.dumps(engineer)
    downstream = {n["label"] for n in governance["nodes"] if n["role"] == "downstream"}
    assert downstream == {"hr/order-stats", "hr/salaries"}
    hidden = [n for n in outsider["nodes"] if n["id"].startswith("hidden:")]
    assert [(n["label"], n["url"]) for n in hidden] == [("a product you cannot see", None)]
    assert "payroll-links" not in json.dumps(outsider)


def test_lineage_takes_constant_queries_however_many_products_read_it(
    client_for: Client,
    people: SimpleNamespace,
    orders: DataProduct,
    django_assert_max_num_queries: Callable[[int], Any],
) -> None:
    reads_orders = {"inputs": [{"name": "o", "product": {"address": "sales/orders"}}]}
    for number in range(8):
        ProductFactory(domain=people.hr, slug=f"reader-{number}", pipeline=reads_orders)
    client = client_for("viewer")

    with django_assert_max_num_queries(LINEAGE_QUERIES):
        body = client.get(f"{ORDERS}/lineage/").json()

    assert len([n for n in body["nodes"] if n["role"] == "downstream"]) == 8


# --- Connections --------------------------------------------------------------------------

CONNECTIONS = f"{API}/domains/sales/connections/"
DB_URL = f"postgresql://loader:{DB_PASSWORD}@db.internal:5432/sales"


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 403), ("viewer", 403), ("governance", 403),
     ("engineer", 200), ("owner", 200), ("admin", 200)],
)  # fmt: skip
def test_only_those_who_may_change_them_list_a_domains_connections(
    client_for: Client, people: SimpleNamespace, who: str, status: int
) -> None:
    Connection.objects.create(
        domain=people.sales, name="sales-db", kind="postgres", url_encrypted="token",
        display="postgresql://loader:***@db.internal:5432/sales",
    )  # fmt: skip

    response = client_for(who).get(CONNECTIONS)

    assert response.status_code == status
    if status != 200:
        error_of(response)
        return
    [connection] = response.json()["results"]
    assert connection["display"] == "postgresql://loader:***@db.internal:5432/sales"
    assert set(connection) == {"name", "kind", "display", "updated_by", "updated_at"}


def test_a_connections_url_is_never_shown_nor_audited(client_for: Client) -> None:
    client = client_for("engineer")
    new_url = DB_URL.replace("5432", "6543")

    created = client.post(
        CONNECTIONS, {"name": "sales-db", "kind": "postgres", "url": DB_URL}, format="json"
    )
    listed = client.get(CONNECTIONS)
    replaced = client.put(
        f"{CONNECTIONS}sales-db/", {"kind": "postgres", "url": new_url}, format="json"
    )
    read = client.get(f"{CONNECTIONS}sales-db/")
    deleted = client.delete(f"{CONNECTIONS}sales-db/")

    assert [r.status_code for r in (created, listed, replaced, read, deleted)] == [
        201, 200, 200, 200, 204
    ]  # fmt: skip
    assert created.json()["display"] == "postgresql://loader:***@db.internal:5432/sales"
    assert replaced.json()["display"].endswith(":6543/sales")
    for response in (created, listed, replaced, read, deleted):
        assert DB_PASSWORD.encode() not in response.content
    events = AuditEvent.objects.filter(action__startswith="connection.")
    assert [e.action for e in events.order_by("pk")] == [
        "connection.created", "connection.changed", "connection.deleted"
    ]  # fmt: skip
    assert all(DB_PASSWORD not in json.dumps([e.before, e.after]) for e in events)
    assert not Connection.objects.exists()


def test_a_viewer_cannot_add_a_connection(client_for: Client) -> None:
    payload = {"name": "sales-db", "kind": "postgres", "url": DB_URL}

    response = client_for("viewer").post(CONNECTIONS, payload, format="json")

    assert response.status_code == 403
    assert DB_PASSWORD.encode() not in response.content
    assert not Connection.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="connection.").exists()


def test_connection_mistakes_are_refused_without_quoting_the_url(client_for: Client) -> None:
    client = client_for("engineer")
    payload = {"name": "sales-db", "kind": "postgres", "url": DB_URL}
    client.post(CONNECTIONS, payload, format="json")

    taken = client.post(CONNECTIONS, payload, format="json")
    bad_url = client.post(
        CONNECTIONS,
        {"name": "cache", "kind": "postgres", "url": f"redis://:{DB_PASSWORD}@cache:6379/0"},
        format="json",
    )
    missing = client.put(f"{CONNECTIONS}nope/", {"kind": "postgres", "url": DB_URL}, format="json")

    assert taken.status_code == 409
    assert bad_url.status_code == 400
    assert "url" in error_of(bad_url)["fields"]
    assert missing.status_code == 404
    for response in (taken, bad_url, missing):
        assert DB_PASSWORD.encode() not in response.content
    assert Connection.objects.count() == 1


def test_connections_of_an_unknown_domain_are_404(client_for: Client) -> None:
    response = client_for("engineer").get(f"{API}/domains/nowhere/connections/")

    assert response.status_code == 404
    error_of(response)

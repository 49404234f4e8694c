"""Pipeline pages: the Runs tab and Run now, progress, a run, the Data tab, the pipeline
editor, lineage and a domain's connections."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from governance.models import AuditEvent
from meshplatform import lake
from products.models import Connection, DataProduct, Provisioning, Run, Status
from products.tables import table_uri
from tests.factories import ProductFactory
from tests.portal.helpers import login_as

pytestmark = pytest.mark.django_db

ORDERS = "/p/sales/orders/"
RESTRICTED = "/p/sales/payroll-links/"
SPEC = {"inputs": [{"name": "orders", "files": {"path": "sales/orders.csv", "format": "csv"}}]}
SECRET = "s3cr3t-Pa55word"
DB_URL = f"postgresql://app:{SECRET}@db.example.com:5432/sales"


def make_runnable(product: DataProduct, pipeline: dict[str, Any] = SPEC) -> DataProduct:
    """Active and provisioned, as the (absent) worker would leave it."""
    DataProduct.objects.filter(pk=product.pk).update(
        status=Status.ACTIVE, provisioning=Provisioning.READY, pipeline=pipeline
    )
    product.refresh_from_db()
    return product


@pytest.fixture
def orders(people: SimpleNamespace, contracts: SimpleNamespace) -> DataProduct:
    return make_runnable(people.internal)


def running_run(product: DataProduct, **fields: Any) -> Run:
    return Run.objects.create(
        product=product,
        trigger=Run.Trigger.MANUAL,
        status=Run.Status.RUNNING,
        stage=Run.Stage.VALIDATE,
        started_at=timezone.now(),
        **fields,
    )


# --- Runs tab and Run now ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees_button"),
    [("viewer", False), ("governance", False), ("engineer", True), ("owner", True),
     ("admin", True)],
)  # fmt: skip
def test_only_engineers_owners_and_admins_see_run_now(
    client: Any, people: SimpleNamespace, orders: DataProduct, role: str, sees_button: bool
) -> None:
    login_as(client, people, role)
    body = client.get(f"{ORDERS}runs/").content.decode()
    assert ("Run now</button>" in body) is sees_button
    assert 'action="/p/sales/orders/runs/new/"' in body if sees_button else True


def test_run_now_queues_a_run_and_a_second_press_shows_the_conflict(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    client.force_login(people.engineer)
    response = client.post(f"{ORDERS}runs/new/", follow=True)
    run = Run.objects.get(product=orders)
    assert run.status == Run.Status.QUEUED and run.triggered_by == people.engineer
    assert response.redirect_chain[-1][0] == f"{ORDERS}runs/"
    assert f"Run #{run.pk} of sales/orders is queued." in response.content.decode()
    assert AuditEvent.objects.filter(action="run.triggered").count() == 1

    again = client.post(f"{ORDERS}runs/new/", follow=True).content.decode()
    assert "A run of this product is already queued or running." in again
    assert Run.objects.filter(product=orders).count() == 1


def test_run_now_explains_why_a_draft_product_does_not_run(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    body = client.post(f"{ORDERS}runs/new/", follow=True).content.decode()
    assert "A draft product does not run; activate it first." in body
    assert not Run.objects.exists()


def test_runs_tab_lists_runs_and_a_live_progress_bar_for_the_active_one(
    client: Any, people: SimpleNamespace, orders: DataProduct, django_assert_max_num_queries: Any
) -> None:
    now = timezone.now()
    Run.objects.create(
        product=orders, trigger=Run.Trigger.SCHEDULE, status=Run.Status.SUCCEEDED,
        stage=Run.Stage.DONE, started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=5) + timedelta(seconds=12.5),
        rows_read=120, rows_written=118, rows_quarantined=2,
    )  # fmt: skip
    active = running_run(orders, rows_read=40)
    client.force_login(people.viewer)
    with django_assert_max_num_queries(12):
        body = client.get(f"{ORDERS}runs/").content.decode()
    assert "Succeeded" in body and "12.5 s" in body and ">118<" in body
    assert f'hx-get="/p/sales/orders/runs/{active.pk}/progress/"' in body
    assert 'hx-trigger="every 1s"' in body
    assert "Stage: <strong>Validate</strong>" in body
    assert 'aria-current="page">Runs</a>' in body


def test_runs_tab_shows_the_provisioning_state_and_its_error(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    DataProduct.objects.filter(pk=orders.pk).update(
        provisioning=Provisioning.FAILED, provisioning_error="The lake is not writable."
    )
    client.force_login(people.viewer)
    body = client.get(f"{ORDERS}runs/").content.decode()
    assert "Provisioning failed" in body
    assert "The lake is not writable." in body
    assert "No runs yet." in body


def test_progress_partial_polls_while_running_and_stops_when_the_run_ends(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    run = running_run(orders, rows_read=1234, rows_quarantined=5)
    client.force_login(people.viewer)
    url = f"{ORDERS}runs/{run.pk}/progress/"
    response = client.get(url, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert "Validate" in body and "1234 rows read" in body and "5 quarantined" in body
    assert 'value="3"' in body  # the third of six stages
    assert "HX-Trigger" not in response.headers

    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.SUCCEEDED, stage=Run.Stage.DONE, finished_at=timezone.now(),
        rows_written=1229,
    )  # fmt: skip
    response = client.get(url, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "hx-trigger" not in body  # no trigger left: polling stops
    assert "Succeeded" in body and "1229 written" in body
    assert response.headers["HX-Trigger"] == "run-finished"


def test_run_detail_shows_stages_quality_quarantine_and_error(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    start = timezone.now() - timedelta(seconds=10)
    stages = [
        {"name": name, "started_at": (start + timedelta(seconds=s)).isoformat(),
         "finished_at": (start + timedelta(seconds=e)).isoformat()}
        for name, s, e in [("extract", 0, 4), ("validate", 4, 9), ("quarantine", 9, 10)]
    ]  # fmt: skip
    run = Run.objects.create(
        product=orders, trigger=Run.Trigger.MANUAL, triggered_by=people.engineer,
        status=Run.Status.HELD, stage=Run.Stage.DONE, started_at=start,
        finished_at=start + timedelta(seconds=10), rows_read=10, rows_written=0,
        rows_quarantined=2, output_version=4, stages=stages,
        watermark_from={"updated_at": "2024-01-01T00:00:00"},
        watermark={"updated_at": "2024-02-01T00:00:00"},
        error="orders:rowCount: expected ≥ 100, got 10",
        quality={
            "ok": False, "rows_in": 10, "rows_passed": 8, "rows_quarantined": 2,
            "rule_counts": {"orders.amount:minimum": {"checked": 10, "failed": 2},
                            "orders.order_id:required": {"checked": 10, "failed": 0}},
            "dataset": [{"rule": "orders:rowCount", "passed": False, "actual": 10,
                         "expected": "≥ 100"}],
        },
        quarantine_sample=[
            {"order_id": "A-17", "amount": -5, "note": None, "_row": 3,
             "_errors": [{"rule": "orders.amount:minimum", "field": "amount",
                          "message": "is less than 0"}]},
        ],
    )  # fmt: skip
    client.force_login(people.viewer)
    body = client.get(f"{ORDERS}runs/{run.pk}/").content.decode()
    assert "Held, not published." in body and "expected ≥ 100, got 10" in body
    assert "80.0 %" in body and "100.0 %" in body  # pass rates, rule by rule
    assert "<code>orders.amount:minimum</code>" in body
    assert "<code>orders:rowCount</code>: expected ≥ 100, actual 10" in body
    assert "A-17" in body and "is less than 0" in body
    assert body.count('class="stage-bar"') == 3
    assert 'x="40.0" y="0" width="50.0"' in body  # validate: from 4 s to 9 s of 10
    assert "2024-02-01T00:00:00" in body
    assert f'href="{ORDERS}data/?version=4"' in body
    assert "ethan" in body


def test_another_products_run_is_not_found(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    other = make_runnable(ProductFactory(domain=people.sales, slug="returns"))
    run = running_run(other)
    client.force_login(people.engineer)
    assert client.get(f"{ORDERS}runs/{run.pk}/").status_code == 404
    assert client.get(f"{ORDERS}runs/{run.pk}/progress/").status_code == 404


# --- Permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "data"),
    [(f"{ORDERS}runs/new/", {}), (f"{ORDERS}pipeline/", {"spec": "inputs: []"}),
     ("/domains/sales/connections/", {"name": "db", "kind": "postgres", "url": DB_URL})],
)  # fmt: skip
def test_a_viewer_gets_403_on_every_post(
    client: Any, people: SimpleNamespace, orders: DataProduct, url: str, data: dict
) -> None:
    client.force_login(people.viewer)
    assert client.post(url, data).status_code == 403
    assert not Run.objects.exists() and not Connection.objects.exists()
    assert DataProduct.objects.get(pk=orders.pk).pipeline == SPEC


def test_a_viewer_may_not_open_the_pipeline_editor(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    client.force_login(people.viewer)
    assert client.get(f"{ORDERS}pipeline/").status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "runs/"), ("get", "data/"), ("get", "data/download.csv"), ("get", "lineage/"),
     ("get", "pipeline/"), ("post", "runs/new/"), ("post", "pipeline/")],
)  # fmt: skip
def test_an_outsider_gets_404_for_a_restricted_product(
    client: Any, people: SimpleNamespace, method: str, path: str
) -> None:
    make_runnable(people.restricted)
    client.force_login(people.outsider)
    assert getattr(client, method)(f"{RESTRICTED}{path}").status_code == 404
    assert not Run.objects.exists()


def test_an_outsider_gets_404_for_a_restricted_products_run(
    client: Any, people: SimpleNamespace
) -> None:
    run = running_run(make_runnable(people.restricted))
    client.force_login(people.outsider)
    assert client.get(f"{RESTRICTED}runs/{run.pk}/").status_code == 404
    assert client.get(f"{RESTRICTED}runs/{run.pk}/progress/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client: Any, people: SimpleNamespace) -> None:
    response = client.get(f"{ORDERS}runs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Pipeline editor --------------------------------------------------------------------------


def test_pipeline_form_shows_each_problem_next_to_the_field(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    client.force_login(people.engineer)
    spec = "inputs:\n  - name: Bad Name\n    files: {path: a.csv}\nbogus: 1\n"
    response = client.post(f"{ORDERS}pipeline/", {"spec": spec})
    assert response.status_code == 400
    body = response.content.decode()
    assert "The pipeline spec is not valid." in body
    errors = response.context["form"].errors["spec"]
    assert any(e.startswith("pipeline.inputs[0].name: ") for e in errors)
    assert "pipeline.bogus: Unknown field." in errors
    assert 'id="id_spec_error"' in body and 'aria-invalid="true"' in body
    assert "Bad Name" in body  # what was sent, to fix in place
    assert DataProduct.objects.get(pk=orders.pk).pipeline == SPEC


def test_pipeline_form_refuses_text_that_is_not_a_mapping(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    client.force_login(people.engineer)
    response = client.post(f"{ORDERS}pipeline/", {"spec": "inputs: [\n"})
    assert response.status_code == 400
    assert response.context["form"].errors["spec"]
    assert DataProduct.objects.get(pk=orders.pk).pipeline == SPEC


def test_pipeline_form_shows_the_current_spec_and_saves_a_good_one(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    client.force_login(people.engineer)
    assert "sales/orders.csv" in client.get(f"{ORDERS}pipeline/").content.decode()
    spec = (
        "inputs:\n  - name: orders\n    files: {path: sales/2024/*.csv, format: csv}\n"
        "transform: select * from orders where amount >= 0\n"
        "schedule: {cron: '*/15 * * * *'}\n"
    )
    response = client.post(f"{ORDERS}pipeline/", {"spec": spec})
    assert response.status_code == 302 and response["Location"] == f"{ORDERS}runs/"
    saved = DataProduct.objects.get(pk=orders.pk).pipeline
    assert saved["inputs"][0]["files"]["path"] == "sales/2024/*.csv"
    assert saved["schedule"] == {"cron": "*/15 * * * *"}
    assert AuditEvent.objects.filter(action="product.pipeline_changed").exists()


# --- Data tab ---------------------------------------------------------------------------------


@pytest.fixture
def lake_table(settings: Any, tmp_path: Any, orders: DataProduct) -> str:
    """sales/orders' output with two versions after creation: 1 (two rows) and 2 (one more)."""
    settings.LAKE_URI = str(tmp_path / "lake")
    uri = table_uri("sales", "orders", "default")
    schema = pa.schema([("order_id", pa.string()), ("amount", pa.float64())])
    lake.ensure_table(uri, schema)
    first = pa.table({"order_id": ["A-1", "A-2"], "amount": [10.0, 20.5]}, schema=schema)
    lake.commit(uri, first, app_id="test", run=1, metadata={"mesh.run": "1"})
    lake.commit(uri, pa.table({"order_id": ["B-3"], "amount": [7.25]}), app_id="test", run=2)
    return uri


def test_data_tab_previews_the_latest_version_with_history_and_downloads(
    client: Any, people: SimpleNamespace, lake_table: str
) -> None:
    client.force_login(people.viewer)
    response = client.get(f"{ORDERS}data/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "version 2" in body
    assert "A-1" in body and "B-3" in body and "20.5" in body
    history = response.context["history"]
    assert [entry["version"] for entry in history] == [2, 1, 0]
    assert history[1]["rows_added"] == 2
    assert f'href="{ORDERS}data/download.parquet"' in body
    assert f'href="{ORDERS}data/download.csv"' in body


def test_data_tab_travels_back_to_an_older_version(
    client: Any, people: SimpleNamespace, lake_table: str
) -> None:
    client.force_login(people.viewer)
    body = client.get(f"{ORDERS}data/?version=1").content.decode()
    assert "A-1" in body and "B-3" not in body
    assert '<option value="1" selected>' in body
    assert f'href="{ORDERS}data/download.csv?version=1"' in body
    missing = client.get(f"{ORDERS}data/?version=9")
    assert missing.status_code == 404
    assert "The table has no version 9." in missing.content.decode()


def test_downloads_serve_the_table_as_csv_and_parquet(
    client: Any, people: SimpleNamespace, lake_table: str
) -> None:
    client.force_login(people.viewer)
    response = client.get(f"{ORDERS}data/download.csv?version=1")
    assert response["Content-Type"] == "text/csv"
    assert 'filename="orders-default-v1.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert "A-2" in text and "B-3" not in text
    response = client.get(f"{ORDERS}data/download.parquet")
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content)))
    assert table.num_rows == 3
    assert client.get(f"{ORDERS}data/download.xlsx").status_code == 400


def test_data_tab_says_what_to_do_before_the_table_exists(
    client: Any, people: SimpleNamespace, orders: DataProduct, settings: Any, tmp_path: Any
) -> None:
    settings.LAKE_URI = str(tmp_path / "empty")
    client.force_login(people.viewer)
    body = client.get(f"{ORDERS}data/").content.decode()
    assert "No data yet." in body
    assert client.get(f"{ORDERS}data/download.csv").status_code == 404


# --- Lineage ----------------------------------------------------------------------------------


LINEAGE_INPUTS = {
    "inputs": [
        {"name": "files_in", "files": {"path": "sales/orders.csv", "format": "csv"}},
        {"name": "changes", "postgres": {"connection": "sales-db", "query": "select 1"}},
        {"name": "clicks", "redisStream": {"connection": "events", "stream": "clicks"}},
    ],
    "transform": "select * from files_in",
}


def test_lineage_draws_inputs_and_the_products_reading_this_one_but_retired_ones(
    client: Any, people: SimpleNamespace, orders: DataProduct
) -> None:
    make_runnable(orders, LINEAGE_INPUTS)
    reads_orders = {"inputs": [{"name": "o", "product": {"address": "sales/orders"}}]}
    make_runnable(ProductFactory(domain=people.sales, slug="returns"), reads_orders)
    ProductFactory(domain=people.sales, slug="draft-reader", pipeline=reads_orders)
    ProductFactory(
        domain=people.sales, slug="gone-reader", pipeline=reads_orders, status=Status.RETIRED
    )
    client.force_login(people.viewer)
    response = client.get(f"{ORDERS}lineage/")
    body = response.content.decode()
    graph = response.context["graph"]
    assert [box.kind for box in graph.upstream] == ["Files (csv)", "PostgreSQL", "Redis stream"]
    assert [(box.kind, box.label) for box in graph.downstream] == [
        ("Product (draft)", "sales/draft-reader"),
        ("Product", "sales/returns"),
    ]
    assert len(graph.edges) == 5
    assert body.count("<rect ") == 6 and body.count("<line ") == 5
    assert '<a href="/p/sales/returns/">' in body
    assert "events / clicks" in body and "gone-reader" not in body
    assert "select 1" not in body  # a source is named, its query is not shown


@pytest.mark.parametrize(
    ("role", "linked"),
    [("viewer", False), ("governance", False), ("engineer", True), ("owner", True),
     ("admin", True)],
)  # fmt: skip
def test_lineage_links_sources_to_the_connections_for_those_who_may_see_them(
    client: Any, people: SimpleNamespace, orders: DataProduct, role: str, linked: bool
) -> None:
    make_runnable(orders, LINEAGE_INPUTS)
    login_as(client, people, role)
    body = client.get(f"{ORDERS}lineage/").content.decode()
    assert body.count('<a href="/domains/sales/connections/">') == (
        4 if linked else 0
    )  # in the graph and the list


def test_lineage_hides_the_name_of_an_upstream_product_the_user_cannot_see(
    client: Any, people: SimpleNamespace
) -> None:
    make_runnable(
        ProductFactory(domain=people.hr, slug="audit"),
        {"inputs": [{"name": "p", "product": {"address": "sales/payroll-links"}}]},
    )
    client.force_login(people.outsider)  # owns hr, not a member of sales
    body = client.get("/p/hr/audit/lineage/").content.decode()
    assert "a product you cannot see" in body and "payroll-links" not in body
    client.force_login(people.viewer)  # a member of sales sees its restricted product
    body = client.get("/p/hr/audit/lineage/").content.decode()
    assert '<a href="/p/sales/payroll-links/">' in body


# --- Connections ------------------------------------------------------------------------------


def test_connections_page_never_shows_the_secret(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.engineer)
    page = "/domains/sales/connections/"
    response = client.post(page, {"name": "sales-db", "kind": "postgres", "url": DB_URL})
    assert response.status_code == 302
    connection = Connection.objects.get(domain=people.sales, name="sales-db")
    assert SECRET not in connection.url_encrypted

    body = client.get(page).content.decode()
    assert "sales-db" in body and "postgresql://app:***@db.example.com:5432/sales" in body
    assert SECRET not in body

    refused = client.post(page, {"name": "Not A Slug", "kind": "postgres", "url": DB_URL})
    assert refused.status_code == 400
    assert SECRET not in refused.content.decode()  # not even on the form sent back

    client.force_login(people.owner)
    body = client.get(page).content.decode()
    assert "sales-db" in body and SECRET not in body


def test_connection_url_problems_show_next_to_the_url_field(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    response = client.post(
        "/domains/sales/connections/",
        {"name": "cache", "kind": "redis", "url": f"http://x:{SECRET}@cache:6379/0"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["url"]
    assert SECRET not in response.content.decode()
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("outsider", 403), ("viewer", 403), ("governance", 403),
     ("engineer", 200), ("owner", 200), ("admin", 200)],
)  # fmt: skip
def test_connections_are_for_the_domains_engineers_owners_and_admins(
    client: Any, people: SimpleNamespace, role: str, status: int
) -> None:
    login_as(client, people, role)
    assert client.get("/domains/sales/connections/").status_code == status


@pytest.mark.parametrize(
    ("role", "linked"),
    [("outsider", False), ("viewer", False), ("governance", False), ("engineer", True),
     ("owner", True), ("admin", True)],
)  # fmt: skip
def test_the_domain_page_links_its_connections_for_those_who_may_see_them(
    client: Any, people: SimpleNamespace, role: str, linked: bool
) -> None:
    login_as(client, people, role)
    body = client.get("/domains/sales/").content.decode()
    assert ('href="/domains/sales/connections/"' in body) is linked


def test_an_engineer_deletes_a_connection(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.engineer)
    client.post("/domains/sales/connections/", {"name": "db", "kind": "postgres", "url": DB_URL})
    client.force_login(people.viewer)
    assert client.post("/domains/sales/connections/db/delete/").status_code == 403
    client.force_login(people.engineer)
    response = client.post("/domains/sales/connections/db/delete/")
    assert response.status_code == 302 and not Connection.objects.exists()
    assert client.post("/domains/sales/connections/db/delete/").status_code == 404


@pytest.mark.parametrize("finished", [1, 30])
def test_runs_tab_runs_as_many_queries_for_thirty_runs_as_for_one(
    client: Any,
    people: SimpleNamespace,
    orders: DataProduct,
    django_assert_num_queries: Any,
    finished: int,
) -> None:
    now = timezone.now()
    Run.objects.bulk_create(
        Run(
            product=orders, trigger=Run.Trigger.MANUAL, triggered_by=people.engineer,
            status=Run.Status.SUCCEEDED, stage=Run.Stage.DONE, started_at=now,
            finished_at=now, rows_read=i,
        )
        for i in range(finished)
    )  # fmt: skip
    client.force_login(people.viewer)
    client.get(f"{ORDERS}runs/")  # warm: the session and the permission caches
    # Session, user, product, memberships, council, runs, the active run, the top bar's unread
    # notifications: whatever the count.
    with django_assert_num_queries(8):
        assert client.get(f"{ORDERS}runs/").status_code == 200

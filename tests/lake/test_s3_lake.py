"""The lake on an S3-compatible object store: a local server speaking the S3 protocol (moto).

Provisioning, a run, the preview and time travel go through the platform's own code with
`LAKE_URI=s3://…`. Then the property delta-rs relies on to commit safely on S3: a commit is a
put-if-absent of the next log file (`If-None-Match: *`), so of two writers that read the same
version one takes it and the other sees the conflict, retries an append, and fails an overwrite.
"""

from __future__ import annotations

import base64
import os
import threading
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError
from rest_framework.test import APIClient

from meshplatform import lake
from meshplatform.lake.tables import storage_options
from products.models import Provisioning, Run
from products.tables import quarantine_uri, table_uri

# The moto server and its AWS_* variables, shared with the pipeline tests (one server a session).
from tests.pipeline.conftest import s3 as s3_bucket  # noqa: F401
from tests.pipeline.conftest import s3_endpoint  # noqa: F401
from tests.products.test_run_jobs import ready, run_now

WRITERS = 4
SCHEMA = pa.schema([pa.field("x", pa.int64())])


@pytest.fixture
def lake_uri(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> str:
    """The platform's lake in the test's bucket; file inputs from a local inbox."""
    settings.LAKE_URI = f"s3://{request.getfixturevalue('s3_bucket').bucket}/lake"
    settings.PIPELINE_FILE_ROOTS = [str(tmp_path / "inbox")]
    settings.LINEAGE_DIR = str(tmp_path / "lineage")
    (tmp_path / "inbox" / "sales").mkdir(parents=True)
    return str(settings.LAKE_URI)


def new_table(uri: str) -> None:
    DeltaTable.create(uri, SCHEMA, storage_options=storage_options(uri))
    write_deltalake(uri, pa.table({"x": [0]}), mode="append", storage_options=storage_options(uri))


def values(uri: str) -> list[int]:
    return sorted(lake.read(uri)["x"].to_pylist())


def test_s3_commits_are_put_if_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert storage_options("s3://bucket/lake") == {"conditional_put": "etag"}
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    assert storage_options("s3://bucket/lake") == {"conditional_put": "etag", "allow_http": "true"}
    assert storage_options("/srv/lake") is None


def test_provisioning_a_run_the_preview_and_time_travel_work_on_s3(
    people: SimpleNamespace, lake_uri: str, tmp_path: Any
) -> None:
    product = ready(people.internal, people.engineer, {
        "inputs": [{"name": "orders", "files": {"path": "*.csv"}}],
    })  # fmt: skip
    assert product.provisioning == Provisioning.READY, product.provisioning_error
    output = table_uri("sales", "orders", "default")
    assert output.startswith(f"{lake_uri}/sales/orders/")
    assert lake.table_exists(output)
    assert lake.table_exists(quarantine_uri("sales", "orders", "default"))
    created = lake.table_version(output)

    inbox = tmp_path / "inbox" / "sales"
    (inbox / "a.csv").write_text("order_id,amount,note\no-1,10,\no-2,-5,negative\n")
    first = run_now(product, people.engineer)
    assert first.status == Run.Status.SUCCEEDED
    assert (first.rows_written, first.rows_quarantined) == (1, 1)
    (inbox / "b.csv").write_text("order_id,amount,note\no-3,30,\n")
    second = run_now(product, people.engineer)
    assert (second.status, second.rows_written) == (Run.Status.SUCCEEDED, 1)

    client = APIClient()
    client.force_login(people.engineer)
    latest = client.get("/api/v1/products/sales/orders/preview/").json()
    assert sorted(row["order_id"] for row in latest["rows"]) == ["o-1", "o-3"]
    then = client.get(
        f"/api/v1/products/sales/orders/preview/?version={first.output_version}"
    ).json()
    assert [row["order_id"] for row in then["rows"]] == ["o-1"]
    assert (first.output_version or 0) > created
    assert lake.read(output, version=created).num_rows == 0
    assert lake.read(quarantine_uri("sales", "orders", "default")).num_rows == 1


def test_part_files_of_several_upload_parts_are_committed_with_their_true_size(
    lake_uri: str,
) -> None:
    """pyarrow uploads a file of more than one S3 part in pieces; the add action's size must
    be the object's (readers find the Parquet footer by it)."""
    uri = f"{lake_uri}/big"
    schema = pa.schema([("id", pa.int64()), ("note", pa.string())])
    lake.ensure_table(uri, schema)
    rows = 200_000
    raw = os.urandom(96 * rows)  # does not compress: 128 characters of base64 a row
    noise = pa.array([base64.b64encode(raw[i * 96 : (i + 1) * 96]).decode() for i in range(rows)])
    lake.commit(uri, pa.table({"id": pa.array(range(rows)), "note": noise}), app_id="t", run=1)
    table = DeltaTable(uri, storage_options=storage_options(uri))
    (action,) = pa.table(table.get_add_actions(flatten=False)).to_pylist()
    stored = lake.s3_filesystem().get_file_info(f"{uri.removeprefix('s3://')}/{action['path']}")
    assert action["size_bytes"] == stored.size > 10 * 1024 * 1024  # several 10 MB parts
    read = lake.read(uri)
    assert read.num_rows == rows and read["note"][rows - 1].as_py() == noise[rows - 1].as_py()


def test_an_append_from_a_stale_snapshot_is_retried_on_the_next_version(lake_uri: str) -> None:
    uri = f"{lake_uri}/stale-append"
    new_table(uri)
    first, second = (DeltaTable(uri, storage_options=storage_options(uri)) for _ in range(2))
    write_deltalake(first, pa.table({"x": [1]}), mode="append")
    # `second` still believes version 1 is the latest: its put of version 2 is refused by the
    # store, and delta-rs, finding no conflict between two appends, commits version 3.
    write_deltalake(second, pa.table({"x": [2]}), mode="append")
    assert values(uri) == [0, 1, 2]
    assert lake.table_version(uri) == 3


def test_an_overwrite_from_a_stale_snapshot_fails_and_leaves_the_winner(lake_uri: str) -> None:
    uri = f"{lake_uri}/stale-overwrite"
    new_table(uri)
    first, second = (DeltaTable(uri, storage_options=storage_options(uri)) for _ in range(2))
    write_deltalake(first, pa.table({"x": [10]}), mode="overwrite")
    with pytest.raises(CommitFailedError):
        write_deltalake(second, pa.table({"x": [20]}), mode="overwrite")
    assert values(uri) == [10]
    assert lake.table_version(uri) == 2


def race(uri: str, write: Any) -> list[str]:
    """`WRITERS` threads, each with the table at the same version, writing at the same moment."""
    start = threading.Barrier(WRITERS)
    outcomes = [""] * WRITERS

    def writer(index: int) -> None:
        table = DeltaTable(uri, storage_options=storage_options(uri))
        start.wait()
        try:
            write(table, index)
            outcomes[index] = "ok"
        except CommitFailedError:
            outcomes[index] = "conflict"

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_appends_all_land(lake_uri: str) -> None:
    uri = f"{lake_uri}/appends"
    new_table(uri)
    outcomes = race(
        uri, lambda table, i: write_deltalake(table, pa.table({"x": [i + 1]}), mode="append")
    )
    assert outcomes == ["ok"] * WRITERS
    assert values(uri) == list(range(WRITERS + 1))
    assert lake.table_version(uri) == 1 + WRITERS


def test_competing_overwrites_leave_one_winner_and_a_consistent_table(lake_uri: str) -> None:
    uri = f"{lake_uri}/overwrites"
    new_table(uri)
    outcomes = race(
        uri,
        lambda table, i: write_deltalake(
            table,
            pa.table({"x": [100 + i]}),
            mode="overwrite",
            commit_properties=CommitProperties(app_transactions=[Transaction(f"writer-{i}", 1)]),
        ),
    )
    assert sorted(outcomes) == ["conflict"] * (WRITERS - 1) + ["ok"]
    winner = outcomes.index("ok")
    assert values(uri) == [100 + winner]
    assert lake.table_version(uri) == 2
    assert lake.transaction_version(uri, f"writer-{winner}") == 1
    for loser in (i for i in range(WRITERS) if i != winner):
        assert lake.transaction_version(uri, f"writer-{loser}") is None

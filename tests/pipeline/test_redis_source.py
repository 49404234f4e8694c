"""The Redis stream source against the local Redis, on a stream key of its own per test."""

import secrets
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
import redis

from meshplatform.pipeline.errors import SourceUnavailable, StepFailed
from meshplatform.pipeline.sources import ExtractContext, Extracted
from meshplatform.pipeline.sources.redis_stream import extract_redis_stream

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    with redis.Redis.from_url(URL, decode_responses=True) as client:
        yield client


@pytest.fixture
def stream(client: redis.Redis) -> Iterator[str]:
    key = f"test:clicks:{secrets.token_hex(6)}"
    yield key
    client.delete(key)


def extract(
    stream: str, *, batch_size: int = 100, previous: Any = None, url: str = URL
) -> Extracted:
    ctx = ExtractContext(
        previous=previous,
        file_roots=[],
        connection_url=lambda name: url if name == "events" else "",
        product_table=lambda address, port: "",
        batch_rows=1000,
    )
    options = {"connection": "events", "stream": stream, "batchSize": batch_size}
    return extract_redis_stream(options, ctx, group="mesh-product-7", consumer="product-7")


def rows(extracted: Extracted) -> list[dict[str, Any]]:
    frames = list(extracted.batches)
    return pl.concat(frames).to_dicts() if frames else []


def add(client: redis.Redis, stream: str, *entries: dict[str, Any]) -> list[str]:
    return [client.xadd(stream, entry) for entry in entries]


def test_new_entries_are_read_once_when_acknowledged(client: redis.Redis, stream: str) -> None:
    ids = add(client, stream, {"page": "/a", "ms": 12}, {"page": "/b", "ms": 30})
    first = extract(stream)
    assert rows(first) == [{"page": "/a", "ms": "12"}, {"page": "/b", "ms": "30"}]
    assert first.watermark == ids[-1]
    assert first.lineage_namespace == "redis://127.0.0.1:6379"
    assert first.lineage_name == stream
    assert first.acknowledge is not None
    first.acknowledge()
    again = extract(stream, previous=first.watermark)
    assert rows(again) == []
    assert again.watermark == ids[-1]
    assert again.acknowledge is None


def test_entries_read_but_not_acknowledged_are_read_again_by_the_next_run(
    client: redis.Redis, stream: str
) -> None:
    add(client, stream, {"page": "/a"}, {"page": "/b"})
    crashed = extract(stream)
    assert len(rows(crashed)) == 2  # the run crashes before its commit: no acknowledge
    later = add(client, stream, {"page": "/c"})
    retried = extract(stream, previous=None)
    assert [row["page"] for row in rows(retried)] == ["/a", "/b", "/c"]
    assert retried.facts == {"entries": 3, "redelivered": 2}
    assert retried.watermark == later[-1]
    assert retried.acknowledge is not None
    retried.acknowledge()
    assert client.xpending(stream, "mesh-product-7")["pending"] == 0
    assert rows(extract(stream)) == []


def test_batch_size_caps_a_run_including_redelivered_entries(
    client: redis.Redis, stream: str
) -> None:
    ids = add(client, stream, *({"n": n} for n in range(5)))
    first = extract(stream, batch_size=2)
    assert [row["n"] for row in rows(first)] == ["0", "1"]
    assert first.watermark == ids[1]
    unacknowledged = extract(stream, batch_size=2)
    assert [row["n"] for row in rows(unacknowledged)] == ["0", "1"]
    assert unacknowledged.acknowledge is not None
    unacknowledged.acknowledge()
    seen = []
    for _ in range(3):
        run = extract(stream, batch_size=2)
        seen.append([row["n"] for row in rows(run)])
        if run.acknowledge:
            run.acknowledge()
    assert seen == [["2", "3"], ["4"], []]


def test_fields_become_text_columns_with_nulls_where_an_entry_lacks_one(
    client: redis.Redis, stream: str
) -> None:
    add(client, stream, {"a": 1}, {"b": "x"}, {"a": 3, "c": "é"})
    frame = pl.concat(list(extract(stream).batches))
    assert frame.schema == pl.Schema({"a": pl.String, "b": pl.String, "c": pl.String})
    assert frame.to_dict(as_series=False) == {
        "a": ["1", None, "3"],
        "b": [None, "x", None],
        "c": [None, None, "é"],
    }


def test_an_entry_deleted_while_pending_is_acknowledged_without_a_row(
    client: redis.Redis, stream: str
) -> None:
    ids = add(client, stream, {"n": 1}, {"n": 2})
    extract(stream)
    client.xdel(stream, ids[0])
    retried = extract(stream)
    assert rows(retried) == [{"n": "2"}]
    assert retried.acknowledge is not None
    retried.acknowledge()
    assert client.xpending(stream, "mesh-product-7")["pending"] == 0


def test_a_missing_stream_is_created_empty(client: redis.Redis, stream: str) -> None:
    extracted = extract(stream, previous="0-0")
    assert list(extracted.batches) == []
    assert extracted.watermark == "0-0"
    assert client.type(stream) == "stream"


def test_an_unreachable_server_is_unavailable_and_the_message_has_no_password(
    stream: str,
) -> None:
    with pytest.raises(SourceUnavailable) as raised:
        extract(stream, url="redis://:hunter2-secret@127.0.0.1:1/0")
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_key_that_is_not_a_stream_fails_the_step(client: redis.Redis, stream: str) -> None:
    client.set(stream, "not a stream")
    with pytest.raises(StepFailed, match="WRONGTYPE"):
        extract(stream)


def test_entries_committed_but_never_acknowledged_are_not_published_again(
    client: redis.Redis, stream: str
) -> None:
    add(client, stream, {"page": "/a"}, {"page": "/b"})
    committed = extract(stream)  # its run commits (watermark ids[-1]), then dies before XACK
    assert len(rows(committed)) == 2
    newer = add(client, stream, {"page": "/c"})
    after = extract(stream, previous=committed.watermark)
    assert [row["page"] for row in rows(after)] == ["/c"]  # /a and /b are not published twice
    assert after.watermark == newer[-1]
    assert client.xpending(stream, "mesh-product-7")["pending"] == 1  # only /c, until its commit

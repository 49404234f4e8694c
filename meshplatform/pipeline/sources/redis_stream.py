"""Redis stream input: a consumer group's entries, acknowledged only after the output commits.

Each run first re-reads the entries this consumer was given and never acknowledged (a run
that crashed before its commit), then takes new ones, at most `batchSize` in all. The
runtime calls `acknowledge` after the output commit, so an entry is lost only if XACK fails
after it, and then it is read again (at least once). `consumer` must stay the same from run
to run of an input, or its pending entries stay with a consumer nobody reads as.

Entries become rows: a text column per field seen, null where an entry lacks the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from meshplatform.pipeline.errors import SourceUnavailable, StepFailed
from meshplatform.pipeline.sources import ExtractContext, Extracted
from meshplatform.secrets import hide_secrets

CONNECT_TIMEOUT = 10  # seconds
SOCKET_TIMEOUT = 60  # a read of a million entries takes seconds, not minutes
ACK_CHUNK = 10_000  # ids per XACK, to keep each command small
PENDING = "0"  # XREADGROUP from id 0: this consumer's delivered, unacknowledged entries
NEW = ">"  # XREADGROUP ">": entries never delivered to the group


def extract_redis_stream(
    options: dict[str, Any], ctx: ExtractContext, *, group: str, consumer: str
) -> Extracted:
    """Read a redisStream input (options: connection, stream, batchSize) as `consumer`."""
    url = ctx.connection_url(options["connection"])
    stream: str = options["stream"]
    limit: int = options["batchSize"]
    with _client(url) as client, _translated(url):
        _ensure_group(client, stream, group)
        entries = _read(client, stream, group, consumer, PENDING, limit)
        # Pending entries at or before the committed watermark were published by a run that
        # died before acknowledging them: acknowledge them now, never publish them twice.
        done = [entry_id for entry_id, _ in entries if _at_or_before(entry_id, ctx.previous)]
        for start in range(0, len(done), ACK_CHUNK):
            client.xack(stream, group, *done[start : start + ACK_CHUNK])
        entries = [entry for entry in entries if entry[0] not in set(done)]
        pending = len(entries)
        if pending < limit:
            entries += _read(client, stream, group, consumer, NEW, limit - pending)
        address = client.connection_pool.connection_kwargs
        host, port = address.get("host", "localhost"), address.get("port", 6379)
    ids = [entry_id for entry_id, _ in entries]
    # An entry deleted from the stream while pending comes back without fields: ack, no row.
    frame = _frame([fields for _, fields in entries if fields])

    def acknowledge() -> None:
        with _client(url) as client, _translated(url):
            for start in range(0, len(ids), ACK_CHUNK):
                client.xack(stream, group, *ids[start : start + ACK_CHUNK])

    return Extracted(
        batches=frame.iter_slices(ctx.batch_rows) if frame.height else iter(()),
        watermark=ids[-1] if ids else ctx.previous,
        lineage_name=stream,
        lineage_namespace=f"redis://{host}:{port}",
        acknowledge=acknowledge if ids else None,
        facts={"entries": len(ids), "redelivered": pending},
    )


def _at_or_before(entry_id: str, watermark: Any) -> bool:
    """Whether a stream id (`<ms>-<seq>`) is at or before the watermark id, numerically."""
    if not isinstance(watermark, str) or "-" not in watermark:
        return False
    ms, _, seq = entry_id.partition("-")
    mark_ms, _, mark_seq = watermark.partition("-")
    return (int(ms), int(seq)) <= (int(mark_ms), int(mark_seq))


def _ensure_group(client: redis.Redis, stream: str, group: str) -> None:
    """Create the group (and the stream) if missing; id 0: the group starts at the beginning."""
    try:
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if not str(exc).startswith("BUSYGROUP"):
            raise


def _read(
    client: redis.Redis, stream: str, group: str, consumer: str, start: str, count: int
) -> list[tuple[str, dict[str, str]]]:
    response: Any = client.xreadgroup(group, consumer, {stream: start}, count=count)
    if not response:
        return []
    # RESP2 answers [[stream, entries]]; RESP3 (protocol=3 in the URL) {stream: [entries]}.
    raw = next(iter(response.values()))[0] if isinstance(response, dict) else response[0][1]
    return [
        (_text(entry_id), {_text(k): _text(v) for k, v in (fields or {}).items()})
        for entry_id, fields in raw
    ]


def _frame(rows: list[dict[str, str]]) -> pl.DataFrame:
    """Rows as text columns, built a column at a time (no frame per row)."""
    columns: dict[str, list[str | None]] = {}
    for index, fields in enumerate(rows):
        for name, value in fields.items():
            column = columns.get(name)
            if column is None:
                column = columns[name] = []
            if len(column) < index:  # the field is new, or earlier entries lacked it
                column.extend([None] * (index - len(column)))
            column.append(value)
    for column in columns.values():
        column.extend([None] * (len(rows) - len(column)))
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))


def _text(value: Any) -> str:
    """Redis holds bytes; bytes that are not UTF-8 are kept visible as \\x escapes."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _client(url: str) -> redis.Redis:
    """A client that fails fast: the runtime retries the run with backoff, not each command."""
    try:
        return redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError:
        raise StepFailed(
            "The connection's URL is not one Redis accepts: check the connection."
        ) from None


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """Redis errors as the pipeline's, never quoting the URL or its password."""
    try:
        yield
    except redis.AuthenticationError:
        raise StepFailed("Redis refused the connection's credentials: check them.") from None
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise SourceUnavailable(f"Redis is unreachable: {hide_secrets(str(exc), url)}") from None
    except redis.ResponseError as exc:  # WRONGTYPE (not a stream), NOPERM, a read-only replica
        raise StepFailed(f"Redis refused the read: {hide_secrets(str(exc), url)}") from None

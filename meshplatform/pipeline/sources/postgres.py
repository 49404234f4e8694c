"""PostgreSQL input: the user's query read with COPY, incrementally past a watermark column.

With a watermark column each run reads the rows whose column lies in (previous, new], where
`new` is `max(column)::text` computed in SQL first: the database compares numbers and
timestamps, never Python on text. The bound makes the read consistent with the watermark
without holding one snapshot open from `extract_postgres` until the runtime consumes the
batches (an idle transaction would hold back VACUUM on the source database): a row committed
in between with a value in the range is read now; one past `new` is read by the next run.
The first run reads everything up to `new`, and the rows whose column is NULL.

The result is streamed with `COPY (...) TO STDOUT (FORMAT csv)` and parsed by polars a batch
at a time, all columns text (the validator converts types); only about `ctx.batch_rows`
rows of CSV are in memory at once. Every value is passed as a `psycopg.sql.Literal`.

The query runs without parameters, so psycopg sends it with the simple protocol, which runs
several statements in one string: `...) AS source; COMMIT; UPDATE ...` would end the READ ONLY
transaction and write. So before `max()` and before the COPY the wrapped query is prepared,
which PostgreSQL refuses for more than one statement; and every transaction defaults to read
only, should a COMMIT ever slip through.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import string
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg
from psycopg import sql

from meshplatform.pipeline.errors import SourceUnavailable, StepFailed
from meshplatform.pipeline.sources import ExtractContext, Extracted
from meshplatform.secrets import hide_secrets

CONNECT_TIMEOUT = 10  # seconds
# libpq falls back to ~/.pgpass for a missing password: the worker's own, for the platform's
# database. A path under /dev/null can never exist, so libpq skips it without a warning.
NO_PASSFILE = os.path.join(os.devnull, "pgpass")
READ_ONLY_SESSION = "-c default_transaction_read_only=on"
STATEMENT_TIMEOUT = "10min"
_TRAILING = string.whitespace + ";"


def extract_postgres(options: dict[str, Any], ctx: ExtractContext) -> Extracted:
    """Read a postgres input (options: connection, query, watermark column or None)."""
    url = ctx.connection_url(options["connection"])
    query = _subquery(options["query"])
    column: str | None = options.get("watermark")
    previous = None if ctx.previous is None or column is None else str(ctx.previous)
    with _connect(url) as conn, _translated(url):
        host, port, database = conn.info.host, conn.info.port, conn.info.dbname
        newest = _newest(conn, query, column, previous) if column else None
    watermark = (newest if newest is not None else previous) if column else None
    select = _select(query, column, previous, newest)
    digest = hashlib.sha256(options["query"].encode()).hexdigest()[:12]
    return Extracted(
        batches=_batches(url, query, select, ctx.batch_rows),
        watermark=watermark,
        lineage_name=f"{database}.query_{digest}",
        lineage_namespace=f"postgres://{host}:{port}",
        facts={"watermarkColumn": column, "from": previous, "to": watermark},
    )


def _subquery(query: str) -> sql.Composable:
    """The user's query in parentheses: a trailing `;` dropped, a trailing comment closed."""
    return sql.SQL("(\n{}\n) AS source").format(sql.SQL(query.rstrip(_TRAILING)))


def _newest(
    conn: psycopg.Connection[Any], query: sql.Composable, column: str, previous: str | None
) -> str | None:
    """max(column) as text over the rows past `previous` (None: no such rows)."""
    statement = sql.SQL("SELECT max(source.{column})::text FROM {query}").format(
        column=sql.Identifier(column), query=query
    )
    if previous is not None:
        statement = sql.SQL("{} WHERE source.{} > {}").format(
            statement, sql.Identifier(column), sql.Literal(previous)
        )
    with conn.transaction():
        _check_single_statement(conn, query)
        row = conn.execute(statement).fetchone()
    return None if row is None else row[0]


def _check_single_statement(conn: psycopg.Connection[Any], query: sql.Composable) -> None:
    """StepFailed unless the wrapped query is one statement: prepared, it cannot be several."""
    check = sql.SQL("SELECT * FROM {} LIMIT 0").format(query)
    try:
        conn.execute(check, prepare=True)
    except psycopg.errors.SyntaxError as exc:
        if "multiple commands" not in (exc.diag.message_primary or ""):
            raise
        raise StepFailed("The query must be a single SELECT, not several statements.") from None


def _select(
    query: sql.Composable, column: str | None, previous: str | None, newest: str | None
) -> sql.Composable:
    if column is None:
        return sql.SQL("SELECT * FROM {}").format(query)
    source_column = sql.Identifier(column)
    upper = sql.SQL("source.{} <= {}").format(source_column, sql.Literal(newest))
    if previous is None:
        where = sql.SQL("({} OR source.{} IS NULL)").format(upper, source_column)
    else:
        where = sql.SQL("source.{} > {} AND {}").format(source_column, sql.Literal(previous), upper)
    return sql.SQL("SELECT * FROM {} WHERE {} ORDER BY source.{}").format(
        query, where, source_column
    )


def _batches(
    url: str, query: sql.Composable, select: sql.Composable, batch_rows: int
) -> Iterator[pl.DataFrame]:
    """Frames of about `batch_rows` rows; one empty frame (with the columns) when none."""
    # A NULL marker no value can guess, so that NULL and '' stay apart in the CSV.
    null = f"NULL-{secrets.token_hex(12)}"
    copy = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER, NULL {})").format(
        select, sql.Literal(null)
    )
    with _connect(url) as conn, _translated(url), conn.transaction():
        _check_single_statement(conn, query)
        with conn.cursor() as cursor, cursor.copy(copy) as chunks:
            yield from _frames(chunks, null, batch_rows)


def _frames(
    chunks: Iterable[bytes | memoryview], null: str, batch_rows: int
) -> Iterator[pl.DataFrame]:
    schema: pl.Schema | None = None  # from the header, which only the first batch has
    buffer = bytearray()
    rows = 0
    for chunk in chunks:
        buffer += chunk
        rows += 1  # the server sends a row per COPY message; a miscount only resizes a batch
        if rows < batch_rows:
            continue
        end = _last_row_end(buffer)
        if not end:
            continue
        frame = _parse(bytes(buffer[:end]), schema, null)
        schema = frame.schema
        yield frame
        del buffer[:end]
        rows = 0
    if buffer or schema is None:
        yield _parse(bytes(buffer), schema, null)


def _last_row_end(buffer: bytearray) -> int:
    """Index after the last newline outside quotes (0: none); the buffer starts a row.

    Quotes inside a quoted CSV value are doubled, so a newline ends a row exactly when an
    even number of quotes precede it.
    """
    end = buffer.rfind(b"\n")
    quotes = buffer.count(b'"', 0, end) if end >= 0 else 0
    while end >= 0 and quotes % 2:
        before = buffer.rfind(b"\n", 0, end)
        quotes -= buffer.count(b'"', max(before, 0), end)
        end = before
    return end + 1


def _parse(data: bytes, schema: pl.Schema | None, null: str) -> pl.DataFrame:
    if schema is None:
        return pl.read_csv(data, infer_schema=False, null_values=null, empty_string_is_null=False)
    return pl.read_csv(
        data, has_header=False, schema=schema, null_values=null, empty_string_is_null=False
    )


def _connect(url: str) -> psycopg.Connection[Any]:
    """A connection whose transactions are READ ONLY, with a statement timeout.

    The session defaults to read-only transactions too, and never reads the worker's
    ~/.pgpass. The messages never quote the URL: libpq's own can, for a malformed one.
    """
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="meshplatform",
            options=READ_ONLY_SESSION,
            passfile=NO_PASSFILE,
        )
    except psycopg.OperationalError as exc:
        raise SourceUnavailable(f"Cannot connect to PostgreSQL: {_first_line(exc, url)}") from None
    except psycopg.Error:
        raise StepFailed(
            "The connection's URL is not one PostgreSQL accepts: check the connection."
        ) from None
    with _translated(url):
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false),"
            " set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO', false),"
            " set_config('client_encoding', 'UTF8', false)",
            (STATEMENT_TIMEOUT,),
        )
    conn.read_only = True
    return conn


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """Database errors as the pipeline's: the user's SQL fails the run, an outage retries."""
    try:
        yield
    except psycopg.errors.QueryCanceled:
        raise StepFailed(
            f"The query ran longer than {STATEMENT_TIMEOUT}: select less, or add an index."
        ) from None
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise SourceUnavailable(f"PostgreSQL connection lost: {_first_line(exc, url)}") from None
    except psycopg.DatabaseError as exc:
        raise StepFailed(f"The query failed: {_database_message(exc)}") from exc


def _database_message(exc: psycopg.Error) -> str:
    diag = exc.diag
    parts = [diag.message_primary or str(exc).strip(), diag.message_detail, diag.message_hint]
    return " ".join(part for part in parts if part)


def _first_line(exc: Exception, url: str) -> str:
    return hide_secrets(str(exc).strip().split("\n")[0], url)

"""The postgres source against the local PostgreSQL, in a scratch schema per test."""

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import psycopg
import pytest
from psycopg import sql

from meshplatform.pipeline.errors import SourceUnavailable, StepFailed
from meshplatform.pipeline.sources import ExtractContext, Extracted
from meshplatform.pipeline.sources.postgres import extract_postgres

URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Source:
    schema: str
    conn: psycopg.Connection[Any]

    @property
    def orders(self) -> str:
        return f"{self.schema}.orders"

    def insert(self, *rows: tuple[Any, ...]) -> None:
        self.conn.cursor().executemany(
            sql.SQL(
                "INSERT INTO {}.orders (id, code, note, updated_at) VALUES (%s, %s, %s, %s)"
            ).format(sql.Identifier(self.schema)),
            rows,
        )

    def insert_range(self, first: int, last: int) -> None:
        self.conn.execute(
            sql.SQL(
                "INSERT INTO {}.orders (id, code, note, updated_at)"
                " SELECT i, 'c' || lpad(i::text, 4, '0'), 'n',"
                " timestamptz '2025-01-01 00:00:00+00' + i * interval '1 second'"
                " FROM generate_series(%s::int, %s::int) AS i"
            ).format(sql.Identifier(self.schema)),
            (first, last),
        )


@pytest.fixture
def source() -> Iterator[Source]:
    schema = f"src_{secrets.token_hex(6)}"
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.orders (id integer PRIMARY KEY, code text, note text,"
                " updated_at timestamptz NOT NULL)"
            ).format(sql.Identifier(schema))
        )
        try:
            yield Source(schema=schema, conn=conn)
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def extract(
    query: str,
    *,
    watermark: str | None = "updated_at",
    previous: Any = None,
    url: str = URL,
    batch_rows: int = 1000,
) -> Extracted:
    ctx = ExtractContext(
        previous=previous,
        file_roots=[],
        connection_url=lambda name: url if name == "sales-db" else "",
        product_table=lambda address, port: "",
        batch_rows=batch_rows,
    )
    options = {"connection": "sales-db", "query": query, "watermark": watermark}
    return extract_postgres(options, ctx)


def read(extracted: Extracted) -> pl.DataFrame:
    return pl.concat(list(extracted.batches))


def test_first_run_reads_every_row_as_text_and_returns_the_newest_watermark(
    source: Source,
) -> None:
    source.insert_range(1, 3)
    extracted = extract(f"select id, code, updated_at from {source.orders}")
    frame = read(extracted)
    assert frame["id"].to_list() == ["1", "2", "3"]
    assert frame.schema == pl.Schema({"id": pl.String, "code": pl.String, "updated_at": pl.String})
    assert extracted.watermark == "2025-01-01 00:00:03+00"
    assert extracted.lineage_namespace == "postgres://127.0.0.1:5432"
    assert extracted.lineage_name.startswith("postgres.query_")


def test_next_run_reads_only_rows_inserted_past_the_watermark(source: Source) -> None:
    source.insert_range(1, 3)
    first = extract(f"select * from {source.orders}")
    read(first)
    source.insert_range(4, 5)
    second = extract(f"select * from {source.orders}", previous=first.watermark)
    assert read(second)["id"].to_list() == ["4", "5"]
    assert second.watermark == "2025-01-01 00:00:05+00"


def test_run_with_nothing_new_reads_no_rows_and_keeps_the_watermark(source: Source) -> None:
    source.insert_range(1, 3)
    first = extract(f"select id, code from {source.orders}", watermark="id")
    read(first)
    again = extract(f"select id, code from {source.orders}", watermark="id", previous="3")
    frame = read(again)
    assert frame.height == 0
    assert frame.columns == ["id", "code"]  # an empty batch still tells the columns
    assert again.watermark == "3" == first.watermark


def test_watermark_compares_numbers_as_numbers_not_text(source: Source) -> None:
    source.insert_range(1, 12)
    extracted = extract(f"select * from {source.orders}", watermark="id", previous="9")
    assert read(extracted)["id"].to_list() == ["10", "11", "12"]
    assert extracted.watermark == "12"


def test_without_a_watermark_column_every_run_reads_everything(source: Source) -> None:
    source.insert_range(1, 2)
    for _ in range(2):
        extracted = extract(f"select id from {source.orders}", watermark=None, previous="x")
        assert read(extracted)["id"].to_list() == ["1", "2"]
        assert extracted.watermark is None


def test_null_and_empty_string_stay_apart_and_text_survives_csv_quoting(
    source: Source,
) -> None:
    awkward = 'a "quoted", comma\nand a newline'
    source.insert(
        (1, "", None, "2025-01-01T00:00:01Z"),
        (2, None, awkward, "2025-01-01T00:00:02Z"),
        (3, "NULL", "\\N", "2025-01-01T00:00:03Z"),
    )
    frame = read(extract(f"select id, code, note from {source.orders}", watermark="id"))
    assert frame["code"].to_list() == ["", None, "NULL"]
    assert frame["note"].to_list() == [None, awkward, "\\N"]


def test_first_run_also_reads_rows_whose_watermark_is_null(source: Source) -> None:
    source.insert_range(1, 2)
    source.conn.execute(
        sql.SQL("ALTER TABLE {}.orders ALTER updated_at DROP NOT NULL").format(
            sql.Identifier(source.schema)
        )
    )
    source.insert((3, "c", "n", None))
    extracted = extract(f"select * from {source.orders}")
    assert sorted(read(extracted)["id"].to_list()) == ["1", "2", "3"]
    assert extracted.watermark == "2025-01-01 00:00:02+00"


def test_a_large_result_streams_in_ordered_batches_of_about_batch_rows(source: Source) -> None:
    source.insert_range(1, 1050)
    frames = list(extract(f"select * from {source.orders}", batch_rows=100).batches)
    assert [frame.height for frame in frames] == [99] + [100] * 9 + [51]  # the header is a row
    ids = pl.concat(frames)["id"].cast(pl.Int64).to_list()
    assert ids == list(range(1, 1051))


def test_abandoning_the_batches_closes_the_connection(source: Source) -> None:
    source.insert_range(1, 500)
    batches = extract(f"select * from {source.orders}", batch_rows=100).batches

    def open_copies() -> Any:
        return source.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
            (f"COPY%{source.schema}%",),
        ).fetchone()

    next(batches)
    assert open_copies() == (1,)
    batches.close()
    time.sleep(0.2)
    assert open_copies() == (0,)


@pytest.mark.parametrize("ending", [" ;\n", "\n-- every order", "; "])
def test_a_trailing_semicolon_or_comment_and_a_percent_sign_are_accepted(
    source: Source, ending: str
) -> None:
    source.insert_range(1, 2)
    query = f"select * from {source.orders} where code like 'c%'{ending}"
    assert read(extract(query))["id"].to_list() == ["1", "2"]


def test_an_unreachable_server_is_unavailable_and_the_message_has_no_password() -> None:
    url = "postgresql://sales:hunter2-secret@127.0.0.1:1/sales"
    with pytest.raises(SourceUnavailable) as raised:
        extract("select 1 as id", url=url)
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_syntax_error_fails_the_step_with_the_database_message(source: Source) -> None:
    with pytest.raises(StepFailed, match="syntax error"):
        extract(f"selec * from {source.orders}")


def test_an_unknown_watermark_column_fails_the_step(source: Source) -> None:
    with pytest.raises(StepFailed, match="changed_at"):
        extract(f"select * from {source.orders}", watermark="changed_at")


def test_a_syntax_error_without_watermark_fails_when_the_batches_are_read() -> None:
    extracted = extract("select * from no_such_table", watermark=None)
    with pytest.raises(StepFailed, match="no_such_table"):
        read(extracted)


def test_the_query_runs_read_only(source: Source) -> None:
    source.conn.execute(sql.SQL("CREATE SEQUENCE {}.counter").format(sql.Identifier(source.schema)))
    query = f"select nextval('{source.schema}.counter') as id"
    with pytest.raises(StepFailed, match="read-only"):
        read(extract(query, watermark=None))


def test_a_hostile_previous_watermark_is_a_literal_not_sql(source: Source) -> None:
    source.insert_range(1, 3)
    hostile = f"2025-01-01'; DROP TABLE {source.orders}; --"
    with pytest.raises(StepFailed, match="invalid input syntax"):
        extract(f"select * from {source.orders}", previous=hostile)
    by_code = extract(
        f"select * from {source.orders}", watermark="code", previous="c0002' OR '1'='1"
    )
    assert read(by_code)["id"].to_list() == ["3"]  # compared as the text it is
    remaining = source.conn.execute(
        sql.SQL("SELECT count(*) FROM {}.orders").format(sql.Identifier(source.schema))
    ).fetchone()
    assert remaining == (3,)


ESCAPE = (
    "SELECT 1 AS id) AS source; COMMIT; UPDATE {schema}.canary SET value = 2;"
    " CREATE TABLE {schema}.pwn AS SELECT 42 AS id; SELECT max(x) FROM (SELECT 1 AS x"
)


@pytest.mark.parametrize("watermark", ["id", None])
def test_several_statements_are_refused_before_any_runs_and_a_single_query_still_works(
    source: Source, watermark: str | None
) -> None:
    schema = sql.Identifier(source.schema)
    source.conn.execute(sql.SQL("CREATE TABLE {}.canary (value int)").format(schema))
    source.conn.execute(sql.SQL("INSERT INTO {}.canary VALUES (1)").format(schema))

    with pytest.raises(StepFailed, match="single SELECT"):
        read(extract(ESCAPE.format(schema=source.schema), watermark=watermark))

    canary = source.conn.execute(sql.SQL("SELECT value FROM {}.canary").format(schema))
    assert canary.fetchall() == [(1,)]
    pwn = source.conn.execute("SELECT to_regclass(%s)", (f"{source.schema}.pwn",))
    assert pwn.fetchone() == (None,)
    source.insert_range(1, 2)
    single = extract(f"select id from {source.orders}", watermark=watermark)
    assert read(single)["id"].to_list() == ["1", "2"]


def test_every_transaction_of_the_session_defaults_to_read_only() -> None:
    query = "select current_setting('default_transaction_read_only') as ro"
    assert read(extract(query, watermark=None))["ro"].to_list() == ["on"]

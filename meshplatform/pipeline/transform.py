"""The transform step: one SQL query run by DuckDB over the inputs, each a named table.

The connection is the contract engine's sandbox (no file, network or extension access, the
configuration locked), so user SQL reads only the tables it is given. A watchdog interrupts a
query that runs longer than `QUERY_SECONDS`; the result streams out in batches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import duckdb
import polars as pl

from meshplatform.pipeline.errors import StepFailed
from products.contracts.enforce.sqlrules import sandbox

QUERY_SECONDS = 30 * 60.0


def run_transform(
    query: str, inputs: dict[str, Iterator[pl.DataFrame]], batch_rows: int
) -> Iterator[pl.DataFrame]:
    """The query's result over `inputs` (read whole: a join needs all of its sides)."""
    connection = sandbox()
    tables = {name: _concat(batches) for name, batches in inputs.items()}
    for name, frame in tables.items():
        connection.register(name, frame.to_arrow())
    watchdog = threading.Timer(QUERY_SECONDS, connection.interrupt)
    watchdog.start()
    try:
        try:
            reader = connection.sql(query).to_arrow_reader(batch_rows)
            assert reader is not None
        except duckdb.Error as error:
            raise StepFailed(f"The transform failed: {type(error).__name__}: {error}") from error
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except duckdb.Error as error:
                raise StepFailed(f"The transform failed: {error}") from error
            yield pl.DataFrame(pl.from_arrow(batch))
    finally:
        watchdog.cancel()
        connection.close()


def _concat(batches: Iterator[pl.DataFrame]) -> pl.DataFrame:
    frames = list(batches)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed", rechunk=False)

"""`quality` rules of type sql, run by DuckDB in a sandbox: no files, network or extensions.

The connection is opened with external access disabled, extension autoloading and installing
off, and the configuration locked, so a contract's query cannot turn them back on. Each query
runs over one batch (the contract's columns, typed; values that did not convert are null) and
must return one number; the run's value is the sum over its batches, which is exact for counts
and sums, the usual shape of such rules (`SELECT COUNT(*) FROM orders WHERE ...`). A watchdog
interrupts a query that runs too long.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from products.contracts.enforce.dataset import decide, expected_text

if TYPE_CHECKING:
    import duckdb

QUERY_SECONDS = 60.0
SANDBOX: dict[str, str | int | float | list[str]] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    # A query that would take all the worker's memory fails with an error instead: DuckDB's
    # default is 80 % of the machine's, and nothing may spill to disk.
    "memory_limit": os.environ.get("DUCKDB_MEMORY_LIMIT", "2GB"),
    "threads": int(os.environ.get("DUCKDB_THREADS", "2")),
    "max_temp_directory_size": "0KiB",
}
PLACEHOLDERS = ("${object}", "{object}", "${table}", "{table}")


class SqlRuleFailed(Exception):
    """The query was refused or did not return a single number."""


def sandbox() -> duckdb.DuckDBPyConnection:
    # Imported here: most contracts have no sql rule, and duckdb takes 45 ms to import.
    import duckdb  # noqa: PLC0415

    connection = duckdb.connect(":memory:", config=dict(SANDBOX))
    connection.execute("SET enable_progress_bar = false")  # a session option: not in config
    connection.execute("SET lock_configuration = true")  # from here on, no SET changes these
    return connection


@dataclass
class SqlRule:
    rule_id: str
    query: str
    operator: str
    value: Any
    total: float = 0.0
    error: str | None = None

    def observe(
        self, connection: duckdb.DuckDBPyConnection, batch: pa.Table, names: list[str]
    ) -> None:
        if self.error is not None:
            return
        try:
            self.total += run_query(connection, self.query, batch, names)
        except SqlRuleFailed as error:
            self.error = str(error)

    def verdict(self) -> dict[str, Any]:
        verdict: dict[str, Any] = {
            "rule": self.rule_id,
            "passed": self.error is None and decide(self.operator, self.value, self.total),
            "actual": None if self.error else self.total,
            "expected": expected_text(self.operator, self.value, "rows"),
        }
        if self.error:
            verdict["error"] = self.error
        return verdict


def run_query(
    connection: duckdb.DuckDBPyConnection, query: str, batch: pa.Table, names: list[str]
) -> float:
    """The query's single numeric result over `batch`, visible under each of `names`."""
    text = query
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, names[0])
    for name in names:
        connection.register(name, batch)
    import duckdb  # noqa: PLC0415  (already imported by `sandbox`)

    watchdog = threading.Timer(QUERY_SECONDS, connection.interrupt)
    watchdog.start()
    try:
        rows = connection.execute(text).fetchall()
    except duckdb.Error as error:
        raise SqlRuleFailed(f"{type(error).__name__}: {error}") from error
    finally:
        watchdog.cancel()
        for name in names:
            connection.unregister(name)
    if len(rows) != 1 or len(rows[0]) != 1:
        raise SqlRuleFailed("the query must return exactly one value")
    value = rows[0][0]
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(value)
        except (TypeError, ValueError) as error:
            raise SqlRuleFailed("the query must return a number") from error
    return float(value)

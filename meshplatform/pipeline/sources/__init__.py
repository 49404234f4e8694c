"""Sources: each input of a pipeline read into batches, with the watermark after it.

A source reads only what its input's previous watermark has not seen (new files, rows past
the watermark column, unacknowledged stream entries, a pinned version of a product's output)
and says what the watermark becomes once the run's output is committed. Nothing here commits
or acknowledges by itself: the runtime calls `acknowledge` after the output commit, so a run
that crashes before it reads the same data again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl


@dataclass
class ExtractContext:
    """What a source may use: nothing else of the platform is reachable from here."""

    previous: Any  # this input's watermark after the last committed run (None: never ran)
    file_roots: list[str]  # local directories file inputs may read under
    connection_url: Callable[[str], str]  # a connection's URL with its secret, by name
    product_table: Callable[[str, str], str]  # (address, port) -> the output table's URI
    batch_rows: int = 262_144
    s3_prefixes: list[str] = field(default_factory=list)  # s3:// URIs file inputs may read


@dataclass
class Extracted:
    """One input read for a run.

    `batches` yields polars frames (text columns for CSV and JSON, typed otherwise);
    `watermark` is JSON-able; `acknowledge` runs after the output is committed.
    """

    batches: Iterator[pl.DataFrame]
    watermark: Any
    lineage_name: str  # the dataset name for lineage: a path, a table URI, a stream
    lineage_namespace: str
    acknowledge: Callable[[], None] | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. files read, pinned version

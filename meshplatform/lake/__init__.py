"""Delta Lake tables the platform manages: create, commit exactly once, read, maintain.

Pure Python over `deltalake` (delta-rs) and pyarrow; no Django. Only ever called inside Celery
tasks (or the web process for reads), never in a worker's parent before it forks: deltalake
used before a fork makes the children panic.

Exactly once: every commit of a run carries the Delta app transaction (`app_id`, run number),
and `commit` reads the table's transaction version first and skips a run already committed.
A racing writer of the same run loses with CommitFailedError and is told it was skipped.
"""

import os

# delta-rs runs on a tokio runtime with one worker thread per core by default. A streamed
# commit holds one of them while it waits for our batches; with two streams (output and
# quarantine) on a 2-core machine, any other Delta call then waited forever (measured: the
# run hung in `DeltaTable()`). Headroom, set before delta-rs builds its runtime.
os.environ.setdefault("TOKIO_WORKER_THREADS", str((os.cpu_count() or 1) + 4))

from meshplatform.lake.tables import (
    Commit,
    SchemaConflict,
    commit,
    dataset,
    drop_table,
    ensure_table,
    evolve_schema,
    history,
    last_commit_with,
    maintain,
    read,
    s3_filesystem,
    table_exists,
    table_version,
    transaction_version,
)

__all__ = [
    "Commit",
    "SchemaConflict",
    "commit",
    "dataset",
    "drop_table",
    "ensure_table",
    "evolve_schema",
    "history",
    "last_commit_with",
    "maintain",
    "read",
    "s3_filesystem",
    "table_exists",
    "table_version",
    "transaction_version",
]

"""File inputs: CSV, JSON lines or Parquet under an allowed root; each file is read once.

The spec's path is relative to one of the allowed roots (a glob picks several files). Paths
are resolved (symlinks too) and must stay under their root, so a spec cannot read
`../../etc/passwd` or follow a link out. The watermark is the set of files already read.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from typing import Any

import polars as pl

from meshplatform.pipeline.errors import StepFailed
from meshplatform.pipeline.sources import ExtractContext, Extracted

MAX_FILES_PER_RUN = 10_000


def extract_files(options: dict[str, Any], ctx: ExtractContext) -> Extracted:
    pattern, fmt = options["path"], options["format"]
    if "://" in pattern:
        raise StepFailed(f"{pattern}: only paths under the allowed file roots are read yet.")
    if os.path.isabs(pattern) or ".." in pattern.split("/"):
        raise StepFailed(f"{pattern}: give a path relative to an allowed root, without '..'.")
    if not ctx.file_roots:
        raise StepFailed("No file roots are allowed on this platform (PIPELINE_FILE_ROOTS).")
    seen = set((ctx.previous or {}).get("files", []))
    found: dict[str, str] = {}  # name relative to its root -> real path
    for root in ctx.file_roots:
        real_root = os.path.realpath(root)
        for match in sorted(glob.glob(os.path.join(real_root, pattern))):
            real = os.path.realpath(match)
            if os.path.commonpath([real, real_root]) != real_root or not os.path.isfile(real):
                continue  # a link out of the root, or a directory
            found.setdefault(os.path.relpath(real, real_root), real)
    new = sorted(name for name in found if name not in seen)[:MAX_FILES_PER_RUN]
    return Extracted(
        batches=_read([found[name] for name in new], fmt, ctx.batch_rows),
        watermark={"files": sorted(seen | set(new))},
        lineage_name=pattern,
        lineage_namespace="file",
        facts={"files": new},
    )


def _read(paths: list[str], fmt: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    if not paths:
        return
    try:
        if fmt == "csv":
            frame = pl.scan_csv(paths, infer_schema=False)
        elif fmt == "jsonl":
            frame = pl.scan_ndjson(paths, infer_schema_length=None)
        else:
            frame = pl.scan_parquet(paths)
        yield from frame.collect_batches(chunk_size=batch_rows)
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, OSError) as error:
        raise StepFailed(f"Could not read the input files: {error}") from error

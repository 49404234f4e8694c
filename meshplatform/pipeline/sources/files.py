"""File inputs: CSV, JSON lines or Parquet under an allowed root or S3 prefix, each file once.

A local path is relative to one of the allowed roots (a glob picks several files). Paths are
resolved (symlinks too) and must stay under their root, so a spec cannot read
`../../etc/passwd` or follow a link out. An `s3://` URI must start with one of the allowed
prefixes (PIPELINE_S3_PREFIXES); its glob is matched against the object keys under the part
before the first wildcard (`*` also matches `/` there). The watermark is the set of files
already read.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator
from typing import Any

import polars as pl
from pyarrow.fs import FileSelector, FileType

from meshplatform import lake
from meshplatform.pipeline.errors import SourceUnavailable, StepFailed
from meshplatform.pipeline.sources import ExtractContext, Extracted

MAX_FILES_PER_RUN = 10_000


def extract_files(options: dict[str, Any], ctx: ExtractContext) -> Extracted:
    pattern, fmt = options["path"], options["format"]
    if ".." in pattern.split("/"):
        raise StepFailed(f"{pattern}: give a path relative to an allowed root, without '..'.")
    if pattern.startswith("s3://"):
        return _extract_s3(pattern, fmt, ctx)
    if "://" in pattern:
        raise StepFailed(f"{pattern}: local paths under the allowed roots, or s3:// URIs.")
    if os.path.isabs(pattern):
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


def _extract_s3(pattern: str, fmt: str, ctx: ExtractContext) -> Extracted:
    # A prefix is a folder: "s3://landing/sales" must not let "s3://landing/sales-hr/" through.
    folders = [
        prefix.rstrip("/") + "/"
        for prefix in ctx.s3_prefixes
        if prefix.startswith("s3://") and prefix.removeprefix("s3://").strip("/")
    ]
    if not any(pattern.startswith(folder) for folder in folders):
        raise StepFailed(f"{pattern} is under no allowed S3 prefix (PIPELINE_S3_PREFIXES).")
    key_pattern = pattern.removeprefix("s3://")
    wildcard = min((i for i, c in enumerate(key_pattern) if c in "*?["), default=len(key_pattern))
    base = key_pattern[:wildcard].rsplit("/", 1)[0]
    try:
        listed = lake.s3_filesystem().get_file_info(
            FileSelector(base, recursive=True, allow_not_found=True)
        )
    except OSError as error:
        raise SourceUnavailable(f"Could not list {base}: {error}") from error
    found = sorted(
        f"s3://{info.path}"
        for info in listed
        if info.type == FileType.File and fnmatch.fnmatchcase(info.path, key_pattern)
    )
    seen = set((ctx.previous or {}).get("files", []))
    new = [uri for uri in found if uri not in seen][:MAX_FILES_PER_RUN]
    return Extracted(
        batches=_read(new, fmt, ctx.batch_rows),
        watermark={"files": sorted(seen | set(new))},
        lineage_name=pattern,
        lineage_namespace="s3",
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

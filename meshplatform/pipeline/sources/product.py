"""Another product's output port as an input: the mesh, products built on products.

Read whole, at the version its table has when the run starts (pinned: a commit upstream during
the run is not half-seen). The watermark is that version: when no input of a run has anything
new (an unchanged upstream among them), the runtime skips the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from meshplatform import lake
from meshplatform.pipeline.errors import StepFailed
from meshplatform.pipeline.sources import ExtractContext, Extracted


def extract_product(options: dict[str, Any], ctx: ExtractContext) -> Extracted:
    uri = ctx.product_table(options["address"], options["port"])
    if not lake.table_exists(uri):
        raise StepFailed(f"{options['address']}:{options['port']} has no output table yet.")
    version = lake.table_version(uri)
    return Extracted(
        batches=_read(uri, version, ctx.batch_rows),
        watermark={"version": version},
        lineage_name=f"{options['address']}/{options['port']}",
        lineage_namespace="mesh",
        facts={"version": version},
    )


def _read(uri: str, version: int, batch_rows: int) -> Iterator[pl.DataFrame]:
    table = lake.read(uri, version=version)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    yield from frame.iter_slices(batch_rows)

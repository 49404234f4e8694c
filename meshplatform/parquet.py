"""How the platform writes Parquet: zstd, dictionaries only where they pay, strings as strings.

Shared by the file validator (`mesh validate`) and the lake's part files, so that both write
the same files at the same speed. Pure pyarrow and polars; no Django.
"""

from __future__ import annotations

import base64
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
DICTIONARY_SAMPLE = 65_536  # rows of the first batch that decide the dictionary columns
_DICTIONARY_SHARE = 0.05  # dictionary-encode columns with at most this share of distinct values
_ARROW_SCHEMA = b"ARROW:schema"  # the footer key of the Arrow schema pyarrow reads back


def dictionary_columns(table: pa.Table | pa.RecordBatch) -> list[str] | bool:
    """The columns worth dictionary encoding, judged on the first batch: few distinct values.

    pyarrow dictionary-encodes every column by default and falls back to plain pages only
    after a column's dictionary fills up, which cost 0.4 s of 1.2 s when writing the
    2,000,000 passed rows of the orders benchmark (uuids, e-mails, amounts) and made the file
    larger, not smaller.
    """
    if table.num_rows < DICTIONARY_SAMPLE:
        return True  # too little to judge: pyarrow's default
    frame = pl.from_arrow(table.slice(0, DICTIONARY_SAMPLE))
    assert isinstance(frame, pl.DataFrame)
    counts = frame.select(pl.all().approx_n_unique()).row(0)
    limit = DICTIONARY_SAMPLE * _DICTIONARY_SHARE
    return [name for name, count in zip(frame.columns, counts, strict=True) if count <= limit]


def with_strings(schema: pa.Schema) -> pa.Schema:
    """`schema` with Arrow strings where it has string views."""
    return pa.schema(
        [f.with_type(pa.string()) if f.type == pa.string_view() else f for f in schema],
        metadata=schema.metadata,
    )


def writer(
    where: Any, schema: pa.Schema, dictionary: list[str] | bool = True, **options: Any
) -> pq.ParquetWriter:
    """A zstd ParquetWriter to `where` (a path or an output stream) for batches of `schema`.

    Batches with string views (`Validator.check_prepared(string_views=True)`) are written as
    the same Parquet strings as Arrow strings; only the Arrow schema kept in the footer, which
    tells pyarrow what to read them back as, would differ. So the footer gets the schema with
    strings, byte for byte what pyarrow writes for such a table: the files are the same.
    """
    stored = with_strings(schema)
    output = pq.ParquetWriter(
        where,
        schema,
        compression=COMPRESSION,
        use_dictionary=dictionary,
        store_schema=stored == schema,
        **options,
    )
    if stored != schema:
        output.add_key_value_metadata(
            {_ARROW_SCHEMA: base64.b64encode(stored.serialize().to_pybytes())}
        )
    return output

"""Reading a product's data for people: preview (time travel), versions, quarantine, download.

One place for the portal and the API, so both read the same way and check the same rights.
The product's domain members and admins read everything; anybody else needs an active grant
on the port (`products.access`), and fields classified above the grant's clearance reach
them masked: a keyed hash (the quarantine's key, so a value has one pseudonym everywhere) or
redacted, as the contract's `masking` custom property says (hash by default). Masking is
column-wise, over Arrow and polars columns; the hash is computed once per distinct value.

A field's rank: its ODCS `classification` (public < internal < confidential < restricted);
`pii`, or the labels pii and sensitive, count as restricted, and so does a label this does not
know (fail closed); no label, or a column the contract does not describe, counts as the
product's own classification. Columns starting with `_` are the platform's (run id, row
number, reasons) and never masked. The versions list holds no values and stays open to whoever
sees the product, like its runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.http import StreamingHttpResponse
from django.utils import timezone

from meshplatform import lake
from meshplatform.errors import Forbidden, Invalid, NotFound
from meshplatform.keys import quarantine_hash_key
from products.access import reads_unmasked
from products.contracts.enforce.masking import mask_columns
from products.contracts.sensitivity import is_sensitive, parent_column
from products.models import (
    Classification,
    ContractVersion,
    DataProduct,
    Grant,
    Run,
    classification_rank,
)
from products.tables import output_ports, quarantine_uri, table_uri

PREVIEW_MAX = 1000
QUARANTINE_MAX = 1000
DOWNLOAD_FORMATS = ("parquet", "csv")
FORMULA_START = r"^([=+\-@\t\r])"  # what spreadsheets read as the start of a formula
HASH, REDACT = "hash", "redact"
REDACTED_TEXT = "***"
RESTRICTED_RANK = classification_rank(Classification.RESTRICTED)


class AccessRequired(Forbidden):
    """The reader has no active grant on the port: they may ask for one."""

    code = "access_required"


@dataclass(frozen=True)
class Masking:
    """How one reader sees a port's columns."""

    # Every column the contract describes -> HASH, REDACT or None (shown).
    columns: dict[str, str | None] = field(default_factory=dict)
    others: str | None = None  # for columns the contract does not describe (None: shown)
    prehashed: frozenset[str] = frozenset()  # hashed when quarantined (restricted, PII)

    def how(self, name: str) -> str | None:
        if name.startswith("_"):
            return None
        return self.columns.get(name, self.others)

    @property
    def masked(self) -> bool:
        return self.others is not None or any(self.columns.values())


UNMASKED = Masking()


def _port(product: DataProduct, port: str | None) -> str:
    ports = output_ports(product)
    name = port or ports[0]
    if name not in ports:
        raise NotFound(f"{product.address} has no output port {name!r}.")
    return name


def _grant_clearance(user: Any, product: DataProduct, port: str) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    grants = Grant.objects.active(timezone.now()).filter(product=product, port=port, consumer=user)
    return grants.values_list("clearance", flat=True).first()


def read_masking(user: Any, product: DataProduct, port: str) -> Masking:
    """How `user` reads `port`; AccessRequired when they may not read it at all."""
    if reads_unmasked(user, product):
        return UNMASKED
    clearance = _grant_clearance(user, product, port)
    if clearance is None:
        raise AccessRequired(
            f"Reading {product.address}:{port} needs access: ask its owners for it.", port=port
        )
    return masking_for(_contract_fields(product), product.classification, clearance)


def _contract_fields(product: DataProduct) -> list[dict[str, Any]]:
    """The fields of the contract's first schema object: the one the pipeline validates."""
    if product.current_contract_id is None:
        return []
    normalized = (
        ContractVersion.objects.filter(pk=product.current_contract_id)
        .values_list("normalized", flat=True)
        .first()
    )
    if not normalized or not normalized.get("objects"):
        return []
    first = normalized["objects"][0]["name"]
    return [spec for spec in normalized["fields"] if spec["object"] == first]


def field_rank(spec: dict[str, Any], product_rank: int) -> int:
    label = (spec.get("classification") or "").strip().lower()
    if is_sensitive(spec):  # the enforcement compiler's rule: hashed in quarantine
        return RESTRICTED_RANK
    if not label:
        return product_rank
    if label in Classification.values:
        return classification_rank(label)
    return RESTRICTED_RANK  # a label this platform does not know: fail closed


def masking_for(fields: list[dict[str, Any]], classification: str, clearance: str) -> Masking:
    """The masking for a reader cleared up to `clearance` of a product classified
    `classification`; a nested field ranks its whole top-level column."""
    product_rank, cleared = classification_rank(classification), classification_rank(clearance)
    ranks: dict[str, int] = {}
    methods: dict[str, str] = {}
    for spec in fields:
        column = parent_column(spec["name"])
        ranks[column] = max(ranks.get(column, 0), field_rank(spec, product_rank))
        declared = spec.get("masking")
        if declared in (HASH, REDACT) and (column == spec["name"] or column not in methods):
            methods[column] = declared
    return Masking(
        columns={
            name: methods.get(name, HASH) if rank > cleared else None
            for name, rank in ranks.items()
        },
        others=HASH if product_rank > cleared else None,
        prehashed=frozenset(parent_column(spec["name"]) for spec in fields if is_sensitive(spec)),
    )


def _hashable(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
        or pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind)
        or pa.types.is_temporal(kind)
    )  # fmt: skip


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def mask_table(table: pa.Table, masking: Masking, *, quarantined: bool = False) -> pa.Table:
    """`table` with its masked columns hashed (as text) or redacted ("***" for text, null for
    other types and for values with no text form to hash). Quarantined restricted and PII
    values are hashed already: hashed again they would not match the preview's."""
    if not masking.masked:
        return table
    plan = {name: masking.how(name) for name in table.column_names}
    if quarantined:
        plan.update({name: None for name in masking.prehashed if plan.get(name) == HASH})
    to_hash = [
        name for name, how in plan.items()
        if how == HASH and _hashable(table.schema.field(name).type)
    ]  # fmt: skip
    hashed = None
    if to_hash:
        as_text = table.select(to_hash).cast(pa.schema([(name, pa.string()) for name in to_hash]))
        frame = pl.from_arrow(as_text)
        assert isinstance(frame, pl.DataFrame)
        hashed = mask_columns(frame, to_hash, quarantine_hash_key())
    for index, name in enumerate(table.column_names):
        column = table.column(index)
        if plan[name] is None:
            continue
        if hashed is not None and name in to_hash:
            new = pa.chunked_array([hashed.get_column(name).to_arrow().cast(pa.string())])
        elif plan[name] == REDACT and _is_text(column.type):
            new = pc.if_else(pc.is_null(column), pa.scalar(None, column.type), REDACTED_TEXT)
        else:
            new = pa.chunked_array([pa.nulls(len(column), type=column.type)])
        table = table.set_column(index, pa.field(name, new.type), new)
    return table


def masked_names(columns: list[str], masking: Masking) -> dict[str, str]:
    """Column -> how it is masked, for the columns `columns` that are."""
    return {name: how for name in columns if (how := masking.how(name)) is not None}


def _uri(product: DataProduct, port: str | None) -> tuple[str, str]:
    name = _port(product, port)
    return name, _table(product, name)


def _table(product: DataProduct, name: str) -> str:
    uri = table_uri(product.domain.slug, product.slug, name)
    if not lake.table_exists(uri):
        raise NotFound(f"{product.address}:{name} has no table yet (is it provisioned?).")
    return uri


def _readable(reader: Any, product: DataProduct, port: str | None) -> tuple[str, str, Masking]:
    """The port, its table and how `reader` sees it; access is checked before the table."""
    name = _port(product, port)
    masking = read_masking(reader, product, name)
    return name, _table(product, name), masking


def _version(uri: str, version: Any) -> int | None:
    if version in (None, ""):
        return None
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise Invalid("A version is a whole number.", fields={"version": "Not a number."}) from None
    if not 0 <= number <= lake.table_version(uri):
        raise NotFound(f"The table has no version {number}.")
    return number


def _limit(limit: Any, ceiling: int) -> int:
    try:
        number = int(limit)
    except (TypeError, ValueError):
        raise Invalid("A limit is a whole number.", fields={"limit": "Not a number."}) from None
    if not 1 <= number <= ceiling:
        raise Invalid(f"limit is from 1 to {ceiling}.", fields={"limit": f"1 to {ceiling}."})
    return number


def preview(
    product: DataProduct,
    *,
    reader: Any,
    port: str | None = None,
    version: Any = None,
    limit: Any = 50,
) -> dict[str, Any]:
    """The first rows of the output (at `version`: time travel) as `reader` may see them, with
    its columns (their types as stored) and which are masked."""
    name, uri, masking = _readable(reader, product, port)
    at = _version(uri, version)
    table = lake.read(uri, version=at, limit=_limit(limit, PREVIEW_MAX))
    return {
        "port": name,
        "version": at if at is not None else lake.table_version(uri),
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "masked": masked_names(table.column_names, masking),
        "rows": _json_rows(mask_table(table, masking)),
    }


def versions(product: DataProduct, *, port: str | None = None, limit: int = 50) -> list[dict]:
    """The output's commits, newest first: version, time, operation, rows, run."""
    _, uri = _uri(product, port)
    return [
        {
            "version": entry.get("version"),
            "timestamp": entry.get("timestamp"),
            "operation": entry.get("operation"),
            "rows_added": entry["rows_added"],
            "run": int(entry["mesh.run"]) if "mesh.run" in entry else None,
        }
        for entry in lake.history(uri, limit=limit)
    ]


def quarantine(
    product: DataProduct,
    *,
    reader: Any,
    port: str | None = None,
    run: int | None = None,
    limit: Any = 100,
) -> list[dict[str, Any]]:
    """Quarantined rows (restricted and PII values hashed already, the rest masked as `reader`
    reads the port), of one run or the latest."""
    name, _, masking = _readable(reader, product, port)
    uri = quarantine_uri(product.domain.slug, product.slug, name)
    if not lake.table_exists(uri):
        raise NotFound(f"{product.address}:{name} has no quarantine table (is it provisioned?).")
    table = lake.read(uri)
    if run is not None:
        table = table.filter(pc.equal(table["_run"], run))
    table = table.slice(max(table.num_rows - _limit(limit, QUARANTINE_MAX), 0))
    return _json_rows(mask_table(table, masking, quarantined=True))


def quarantine_sample(run: Run, *, reader: Any) -> list[dict[str, Any]] | None:
    """The run's sample of quarantined rows as `reader` may see them (of the product's first
    port, which runs write by default); None when they may not read it."""
    product = run.product
    try:
        masking = read_masking(reader, product, _port(product, None))
    except AccessRequired:
        return None
    if not masking.masked or not run.quarantine_sample:
        return list(run.quarantine_sample)
    table = pa.Table.from_pylist(run.quarantine_sample)
    return _json_rows(mask_table(table, masking, quarantined=True))


@dataclass(frozen=True)
class Download:
    chunks: Iterator[bytes]  # the file, streamed: memory stays at about one batch
    content_type: str
    filename: str


def download(
    product: DataProduct,
    *,
    reader: Any,
    fmt: str,
    port: str | None = None,
    version: Any = None,
) -> Download:
    """The whole output (at `version`) as Parquet or CSV, masked as `reader` reads it,
    streamed batch by batch.

    Everything that can fail for the asker (access, format, port, version) is checked before
    the first byte, so an error is an error response, not a truncated file.
    """
    if fmt not in DOWNLOAD_FORMATS:
        raise Invalid("Unknown format.", fields={"format": "parquet or csv."})
    name, uri, masking = _readable(reader, product, port)
    at = _version(uri, version)
    scanned = lake.dataset(uri, version=at)
    suffix = f"-v{at}" if at is not None else ""
    return Download(
        chunks=_stream(scanned, fmt, masking),
        content_type="application/vnd.apache.parquet" if fmt == "parquet" else "text/csv",
        filename=f"{product.slug}-{name}{suffix}.{fmt}",
    )


def attachment(file: Download) -> StreamingHttpResponse:
    """The portal's and the API's response for a download: streamed, saved under its name."""
    response = StreamingHttpResponse(file.chunks, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


class _Spool:
    """A write-only file that hands over what was written since the last `take`.

    The Parquet writer asks `tell()` for the offsets its footer records, so the position
    counts every byte ever written, not the bytes held.
    """

    closed = False

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _stream(scanned: Any, fmt: str, masking: Masking) -> Iterator[bytes]:
    spool = _Spool()
    # The masked columns' types, from an empty table: every batch is cast to them.
    schema = mask_table(scanned.schema.empty_table(), masking).schema
    writer: Any = (
        pq.ParquetWriter(spool, schema, compression="zstd")
        if fmt == "parquet"
        else pacsv.CSVWriter(spool, schema)
    )
    for batch in scanned.to_batches():
        table = pa.Table.from_batches([batch])
        if masking.masked:
            table = mask_table(table, masking).cast(schema)
        writer.write_table(table if fmt == "parquet" else _inert(table))
        if chunk := spool.take():
            yield chunk
    writer.close()
    yield spool.take()


def _inert(table: pa.Table) -> pa.Table:
    """`table` for a CSV file: text cells a spreadsheet would run as a formula (`=`, `+`, `-`,
    `@`, tab, carriage return first) start with `'` instead, as OWASP advises against CSV
    injection. Numbers are not text and keep their sign; Parquet downloads are left as stored.
    """
    columns = [
        pc.replace_substring_regex(column, FORMULA_START, r"'\1")
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        else column
        for column in table.columns
    ]
    return pa.Table.from_arrays(columns, schema=table.schema)


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
                row[key] = str(value)  # dates, timestamps, decimals: as text
    return rows

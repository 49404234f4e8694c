"""Reading a product's data for people: preview (time travel), versions, quarantine, download.

One place for the portal and the API, so both read the same way and check the same rights.
Whoever sees a product may read its output for now; access grants and masking by clearance
come with governance (issue 5) and will narrow `can_read` and mask in `preview` here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.http import StreamingHttpResponse

from meshplatform import lake
from meshplatform.errors import Invalid, NotFound
from products.models import DataProduct
from products.tables import output_ports, quarantine_uri, table_uri

PREVIEW_MAX = 1000
QUARANTINE_MAX = 1000
DOWNLOAD_FORMATS = ("parquet", "csv")


def _uri(product: DataProduct, port: str | None) -> tuple[str, str]:
    ports = output_ports(product)
    name = port or ports[0]
    if name not in ports:
        raise NotFound(f"{product.address} has no output port {name!r}.")
    uri = table_uri(product.domain.slug, product.slug, name)
    if not lake.table_exists(uri):
        raise NotFound(f"{product.address}:{name} has no table yet (is it provisioned?).")
    return name, uri


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
    product: DataProduct, *, port: str | None = None, version: Any = None, limit: Any = 50
) -> dict[str, Any]:
    """The first rows of the output (at `version`: time travel), with its columns."""
    name, uri = _uri(product, port)
    at = _version(uri, version)
    table = lake.read(uri, version=at, limit=_limit(limit, PREVIEW_MAX))
    return {
        "port": name,
        "version": at if at is not None else lake.table_version(uri),
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "rows": _json_rows(table),
    }


def versions(product: DataProduct, *, port: str | None = None, limit: int = 50) -> list[dict]:
    """The output's commits, newest first: version, time, operation, rows, run."""
    _, uri = _uri(product, port)
    return [
        {
            "version": entry.get("version"),
            "timestamp": entry.get("timestamp"),
            "operation": entry.get("operation"),
            "rows_added": (entry.get("operationMetrics") or {}).get("num_added_rows"),
            "run": int(entry["mesh.run"]) if "mesh.run" in entry else None,
        }
        for entry in lake.history(uri, limit=limit)
    ]


def quarantine(
    product: DataProduct, *, port: str | None = None, run: int | None = None, limit: Any = 100
) -> list[dict[str, Any]]:
    """Quarantined rows (sensitive values already hashed), of one run or the latest."""
    name, _ = _uri(product, port)
    uri = quarantine_uri(product.domain.slug, product.slug, name)
    if not lake.table_exists(uri):
        raise NotFound(f"{product.address}:{name} has no quarantine table (is it provisioned?).")
    table = lake.read(uri)
    if run is not None:
        table = table.filter(pc.equal(table["_run"], run))
    table = table.slice(max(table.num_rows - _limit(limit, QUARANTINE_MAX), 0))
    return _json_rows(table)


@dataclass(frozen=True)
class Download:
    chunks: Iterator[bytes]  # the file, streamed: memory stays at about one batch
    content_type: str
    filename: str


def download(
    product: DataProduct, *, fmt: str, port: str | None = None, version: Any = None
) -> Download:
    """The whole output (at `version`) as Parquet or CSV, streamed batch by batch.

    Everything that can fail for the asker (format, port, version) is checked before the
    first byte, so an error is an error response, not a truncated file.
    """
    if fmt not in DOWNLOAD_FORMATS:
        raise Invalid("Unknown format.", fields={"format": "parquet or csv."})
    name, uri = _uri(product, port)
    at = _version(uri, version)
    scanned = lake.dataset(uri, version=at)
    suffix = f"-v{at}" if at is not None else ""
    return Download(
        chunks=_stream(scanned, fmt),
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


def _stream(scanned: Any, fmt: str) -> Iterator[bytes]:
    spool = _Spool()
    writer: Any = (
        pq.ParquetWriter(spool, scanned.schema, compression="zstd")
        if fmt == "parquet"
        else pacsv.CSVWriter(spool, scanned.schema)
    )
    for batch in scanned.to_batches():
        writer.write_batch(batch)
        if chunk := spool.take():
            yield chunk
    writer.close()
    yield spool.take()


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
                row[key] = str(value)  # dates, timestamps, decimals: as text
    return rows

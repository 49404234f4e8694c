"""Reading a product's data for people: preview (time travel), versions, quarantine, download.

One place for the portal and the API, so both read the same way and check the same rights.
Whoever sees a product may read its output for now; access grants and masking by clearance
come with governance (issue 5) and will narrow `can_read` and mask in `preview` here.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

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


def download(
    product: DataProduct, *, fmt: str, port: str | None = None, version: Any = None
) -> tuple[bytes, str, str]:
    """The whole output (at `version`) as Parquet or CSV: (body, content type, file name)."""
    if fmt not in DOWNLOAD_FORMATS:
        raise Invalid("Unknown format.", fields={"format": "parquet or csv."})
    name, uri = _uri(product, port)
    at = _version(uri, version)
    table = lake.read(uri, version=at)
    buffer = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buffer, compression="zstd")
        content_type = "application/vnd.apache.parquet"
    else:
        pacsv.write_csv(table, buffer)
        content_type = "text/csv"
    suffix = f"-v{at}" if at is not None else ""
    return buffer.getvalue(), content_type, f"{product.slug}-{name}{suffix}.{fmt}"


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
                row[key] = str(value)  # dates, timestamps, decimals: as text
    return rows

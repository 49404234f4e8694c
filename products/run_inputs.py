"""The platform's side of a run's inputs: what each may reach, decided per product and run.

The runtime (meshplatform.pipeline) reads sources; this module tells it where, with what
secrets and within which limits, from the database: the worker-side half of `jobs.py`.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

from meshplatform.keys import secrets_key
from meshplatform.pipeline.errors import StepFailed
from meshplatform.pipeline.sources import ExtractContext
from meshplatform.pipeline.sources.redis_stream import extract_redis_stream
from meshplatform.pipeline.spec import Source
from meshplatform.secrets import decrypt
from products.data import AccessRequired, read_masking
from products.models import Classification, Connection, DataProduct, Status
from products.tables import table_uri


def extract_context(product: DataProduct) -> Any:
    """What a run's inputs may reach: the domain's connections (decrypted on use), its own
    folders and prefixes, and the output tables of products it may read."""
    connections = {c.name: c for c in Connection.objects.filter(domain=product.domain)}

    def connection_url(name: str) -> str:
        if name not in connections:
            raise StepFailed(f"The domain has no connection named {name!r}.")
        return decrypt(connections[name].url_encrypted, secrets_key())

    def product_table(address: str, port: str) -> str:
        domain, slug = address.split("/")
        upstream = DataProduct.objects.filter(domain__slug=domain, slug=slug).first()
        if upstream is None or upstream.status not in (Status.ACTIVE, Status.DEPRECATED):
            raise StepFailed(f"The input product {address} is not active.")
        # Checked at every run, not only when the spec was saved: a product reclassified
        # restricted since must not flow on into another domain's (wider) product.
        if upstream.classification == Classification.RESTRICTED and (
            upstream.domain_id != product.domain_id
        ):
            raise StepFailed(f"The input product {address} is restricted to its own domain.")
        if upstream.domain_id != product.domain_id:
            _require_clearing_grant(product, upstream, port)
        return table_uri(domain, slug, port)

    # Each domain reads under its own folder of every root: sales cannot read hr's files.
    own = product.domain.slug
    roots = [os.path.join(root, own) for root in settings.PIPELINE_FILE_ROOTS]
    prefixes = [f"{prefix.rstrip('/')}/{own}/" for prefix in settings.PIPELINE_S3_PREFIXES]

    def make(source: Source, previous: Any) -> ExtractContext:
        return ExtractContext(
            previous=previous,
            file_roots=roots,
            s3_prefixes=prefixes,
            connection_url=connection_url,
            product_table=product_table,
        )

    return make


def _require_clearing_grant(product: DataProduct, upstream: DataProduct, port: str) -> None:
    """Another domain's product flows in only under a grant its reader's owner holds, clearing
    every column: a pipeline reads whole columns, and a masked one would be quietly wrong in
    what it builds (and readable there by people the grant was not given to)."""
    owner = product.owner
    try:
        masking = read_masking(owner, upstream, port) if owner is not None else None
    except AccessRequired:
        masking = None
    if masking is None:
        raise StepFailed(
            f"{product.address} reads {upstream.address}:{port} without access: its owner "
            f"({owner.username if owner else 'none'}) must be granted access to it."
        )
    if masking.masked:
        hidden = sorted(name for name, how in masking.columns.items() if how) or ["its columns"]
        raise StepFailed(
            f"The grant on {upstream.address}:{port} does not clear {', '.join(hidden)}: "
            "a pipeline reads whole columns, so its owner needs a grant clearing them all."
        )


def redis_extractor(product: DataProduct) -> Any:
    # One consumer group per product and a fixed consumer name, so that a retried run reads
    # the entries an earlier attempt read but never acknowledged.
    def extract(options: dict[str, Any], ctx: ExtractContext) -> Any:
        return extract_redis_stream(
            options, ctx, group=f"mesh-product-{product.pk}", consumer="mesh"
        )

    return extract

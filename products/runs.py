"""Services for pipelines: set a product's spec, start a run, manage connections.

The portal and the API call these; they authorise, change, audit and enqueue on commit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from domains.models import Domain
from domains.permissions import require_product_editor
from governance import audit
from governance.evaluation import enforce_change
from meshplatform.errors import Conflict, Invalid, NotFound
from meshplatform.keys import secrets_key
from meshplatform.pipeline.spec import PipelineSpec, parse_pipeline
from meshplatform.secrets import check_url, encrypt, points_at_database, redact_url
from meshplatform.slugs import check_slug
from products.contracts import parse_contract
from products.contracts.enforce.compiler import compile_plan
from products.models import Connection, DataProduct, Provisioning, Run, Status
from products.runqueue import enqueue_provisioning, start_run


def check_pipeline(product: DataProduct, raw: Any, actor: Any) -> PipelineSpec:
    """The spec, checked against the product: its contract, ports, and what `actor` sees."""
    spec = parse_pipeline(raw)
    if spec.mode == "merge" and product.current_contract is not None:
        plan = compile_plan(parse_contract(product.current_contract.document), None)
        if not plan.primary_key:
            raise Invalid(
                "Merge needs a primary key in the contract.",
                fields={"pipeline.load.mode": "The contract declares no primary key."},
            )
    for index, source in enumerate(spec.inputs):
        if source.kind != "product":
            continue
        domain, slug = source.options["address"].split("/")
        upstream = DataProduct.objects.visible_to(actor).filter(domain__slug=domain, slug=slug)
        if not upstream.exists():
            raise Invalid(
                f"No product {source.options['address']} you can see.",
                fields={f"pipeline.inputs[{index}].product.address": "Unknown product."},
            )
        if upstream.get().pk == product.pk:
            raise Invalid(
                "A product cannot read its own output.",
                fields={f"pipeline.inputs[{index}].product.address": "That is this product."},
            )
    return spec


@transaction.atomic
def set_pipeline(*, product: DataProduct, pipeline: Any, actor: Any) -> DataProduct:
    """Replace the product's pipeline spec (None removes it); re-provisions an active one."""
    require_product_editor(actor, product.domain, "run its products")
    locked = DataProduct.objects.select_for_update().get(pk=product.pk)
    if locked.status == Status.RETIRED:
        raise Conflict("A retired product's pipeline cannot change.")
    normalized = None if pipeline is None else check_pipeline(product, pipeline, actor).raw
    if normalized == locked.pipeline:
        return product
    before = locked.pipeline
    product.pipeline = normalized
    product.save(update_fields=["pipeline", "updated_at"])
    enforce_change(product)
    audit.record(
        actor=actor, action="product.pipeline_changed", target=product,
        domain_slug=product.domain.slug, before={"pipeline": before},
        after={"pipeline": normalized},
    )  # fmt: skip
    if product.status == Status.ACTIVE:
        enqueue_provisioning(product)
    return product


@transaction.atomic
def trigger_run(*, product: DataProduct, actor: Any) -> Run:
    """Run now: a queued run, or 409 when one is already queued or running."""
    require_product_editor(actor, product.domain, "run its products")
    if product.status not in (Status.ACTIVE, Status.DEPRECATED):
        raise Conflict(f"A {product.status} product does not run; activate it first.")
    if not product.pipeline:
        raise Conflict("The product has no pipeline spec yet.")
    if product.provisioning != Provisioning.READY:
        raise Conflict(
            f"The product's tables are not ready ({product.get_provisioning_display()})."
        )
    run = start_run(product=product, trigger=Run.Trigger.MANUAL, actor=actor)
    if run is None:
        active = Run.objects.active().filter(product=product).first()
        raise Conflict(
            "A run of this product is already queued or running.",
            run=active.pk if active else None,
        )
    audit.record(
        actor=actor, action="run.triggered", target=run, domain_slug=product.domain.slug,
        after={"product": product.address, "run": run.pk},
    )  # fmt: skip
    return run


@transaction.atomic
def set_connection(*, domain: Domain, name: str, kind: str, url: str, actor: Any) -> Connection:
    """Create or replace a named connection; its URL is stored encrypted, never shown back."""
    require_product_editor(actor, domain, "run its products")
    check_slug(name, "name")
    if kind not in Connection.Kind.values:
        raise Invalid("Unknown kind.", fields={"kind": f"One of {', '.join(Connection.Kind)}."})
    check_url(kind, url)
    platform = settings.DATABASES["default"]
    # The worker reads a source with the platform's network access: never its own database.
    if (
        kind == Connection.Kind.POSTGRES
        and "postgresql" in platform["ENGINE"]
        and points_at_database(
            url,
            host=str(platform.get("HOST") or ""),
            port=str(platform.get("PORT") or ""),
            name=str(platform["NAME"]),
        )
    ):
        raise Invalid(
            "A connection cannot point at the platform's own database.",
            fields={"url": "That is the platform's database: connect to your domain's own."},
        )
    connection, created = Connection.objects.update_or_create(
        domain=domain,
        name=name,
        defaults={
            "kind": kind,
            "url_encrypted": encrypt(url, secrets_key()),
            "display": redact_url(url),
            "updated_by": actor,
        },
    )
    audit.record(
        actor=actor, action="connection.created" if created else "connection.changed",
        target=connection, domain_slug=domain.slug,
        after={"name": name, "kind": kind, "url": connection.display},
    )  # fmt: skip
    return connection


@transaction.atomic
def delete_connection(*, domain: Domain, name: str, actor: Any) -> None:
    require_product_editor(actor, domain, "run its products")
    connection = Connection.objects.filter(domain=domain, name=name).first()
    if connection is None:
        raise NotFound(f"No connection {name!r} in {domain.slug}.")
    audit.record(
        actor=actor, action="connection.deleted", target=connection, domain_slug=domain.slug,
        before={"name": name, "kind": connection.kind, "url": connection.display},
    )  # fmt: skip
    connection.delete()

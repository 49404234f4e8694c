"""A product's lineage: what its pipeline reads, and which products' pipelines read it.

One computation for the portal's lineage page and the `/lineage/` API, so both show the same
graph to the same user. Nodes hold the products themselves; each interface builds its own links.

- Upstream: one node per distinct input of the product's pipeline. A product input the user
  may not see stays in the graph, unnamed. Other inputs are source nodes labelled by what is
  safe to show: a path pattern, a connection's name, a stream (never a query or a URL).
- Downstream: the products the user can see whose pipeline reads this one, whatever their
  status except retired (a retired product never runs again); each node carries its status.

One query whatever the number of products, for the candidates (upstream products and possible
readers), plus the governance check `visible_to` caches on the user. Specs are parsed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Q

from meshplatform.errors import Invalid
from meshplatform.pipeline.spec import PipelineSpec, Source, parse_pipeline
from products.models import DataProduct, Status

HIDDEN_LABEL = "a product you cannot see"
# The option that names a source without giving away its secrets or its query.
SOURCE_LABELS = {"files": "path", "postgres": "connection", "redisStream": "stream"}


class NodeRole(StrEnum):
    SELF = "self"
    UPSTREAM = "upstream"  # a product this one reads
    SOURCE = "source"  # files, a database, a stream
    DOWNSTREAM = "downstream"  # a product that reads this one


@dataclass(frozen=True)
class LineageNode:
    id: str
    role: NodeRole
    kind: str  # "product" or a source kind of the pipeline spec
    label: str
    title: str | None = None
    product: DataProduct | None = None  # None for sources and for products the user can't see
    status: str | None = None  # of a product node the user can see
    connection: str | None = None  # for database and stream sources
    file_format: str | None = None  # for file sources

    @property
    def hidden(self) -> bool:
        return self.kind == "product" and self.product is None


@dataclass(frozen=True)
class LineageEdge:
    source: str
    target: str
    input: str  # the input's name in the reading pipeline


@dataclass
class Lineage:
    center: LineageNode
    upstream: list[LineageNode] = field(default_factory=list)  # inputs, in spec order
    downstream: list[LineageNode] = field(default_factory=list)  # readers, by address
    edges: list[LineageEdge] = field(default_factory=list)

    @property
    def nodes(self) -> list[LineageNode]:
        return [self.center, *self.upstream, *self.downstream]


def spec_or_none(product: DataProduct) -> PipelineSpec | None:
    """The stored spec, or None: a spec a newer parser refuses still has no lineage to show."""
    if not product.pipeline:
        return None
    try:
        return parse_pipeline(product.pipeline)
    except Invalid:
        return None


def product_node(role: NodeRole, product: DataProduct) -> LineageNode:
    return LineageNode(
        id=f"product:{product.address}",
        role=role,
        kind="product",
        label=product.address,
        title=product.title,
        product=product,
        status=product.status,
    )


def input_node(reader: DataProduct, source: Source, visible: dict[str, DataProduct]) -> LineageNode:
    options = source.options
    if source.kind == "product":
        upstream = visible.get(options["address"])
        if upstream is not None:
            return product_node(NodeRole.UPSTREAM, upstream)
        return LineageNode(
            id=f"hidden:{reader.address}:{source.name}",
            role=NodeRole.UPSTREAM,
            kind="product",
            label=HIDDEN_LABEL,
        )
    return LineageNode(
        id=f"source:{reader.address}:{source.name}",
        role=NodeRole.SOURCE,
        kind=source.kind,
        label=options[SOURCE_LABELS[source.kind]],
        connection=options.get("connection"),
        file_format=options.get("format") if source.kind == "files" else None,
    )


def product_lineage(product: DataProduct, user: Any) -> Lineage:
    """The lineage of `product` as `user` may see it (see the module docstring)."""
    spec = spec_or_none(product)
    inputs = spec.inputs if spec is not None else ()
    wanted = Q(pk__in=[])
    for address in {s.options["address"] for s in inputs if s.kind == "product"}:
        domain_slug, slug = address.split("/")
        wanted |= Q(domain__slug=domain_slug, slug=slug)
    # The quoted address narrows the readers cheaply; parsing each spec below decides.
    seen_by_user = DataProduct.objects.visible_to(user)
    readers = seen_by_user.may_read(product.address).exclude(status=Status.RETIRED)
    candidates = list(
        (seen_by_user.filter(wanted) | readers)
        .exclude(pk=product.pk)
        .select_related("domain")
        .order_by("domain__slug", "slug")
    )
    visible = {candidate.address: candidate for candidate in candidates}

    lineage = Lineage(center=product_node(NodeRole.SELF, product))
    seen: set[str] = set()
    for source in inputs:
        node = input_node(product, source, visible)
        if node.id not in seen:
            seen.add(node.id)
            lineage.upstream.append(node)
        lineage.edges.append(LineageEdge(node.id, lineage.center.id, source.name))

    for candidate in candidates:
        if candidate.status == Status.RETIRED:
            continue
        candidate_spec = spec_or_none(candidate)
        names = [
            s.name
            for s in (candidate_spec.inputs if candidate_spec is not None else ())
            if s.kind == "product" and s.options["address"] == product.address
        ]
        if names:
            node = product_node(NodeRole.DOWNSTREAM, candidate)
            lineage.downstream.append(node)
            lineage.edges += [LineageEdge(lineage.center.id, node.id, name) for name in names]
    return lineage

"""The portal's drawing of a lineage: boxes in three columns (inputs, the product, its readers)
and arrows between them, laid out here for `templates/products/lineage.html` to draw as SVG."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from products.lineage_graph import Lineage, LineageNode
from products.models import Status

BOX_WIDTH, BOX_HEIGHT, ROW_GAP, COLUMN_GAP, MARGIN = 240, 52, 18, 90, 8
LABEL_MAX = 30
SOURCE_KINDS = {"postgres": "PostgreSQL", "redisStream": "Redis stream"}


@dataclass
class Box:
    kind: str  # said in words on the box, so the graph reads without colour
    label: str
    title: str = ""
    url: str = ""
    x: int = 0
    y: int = 0

    @property
    def short(self) -> str:
        return self.label if len(self.label) <= LABEL_MAX else f"{self.label[: LABEL_MAX - 1]}…"


@dataclass(frozen=True)
class Picture:
    center: Box
    upstream: list[Box]
    downstream: list[Box]
    edges: list[tuple[int, int, int, int]]  # x1, y1, x2, y2
    width: int
    height: int
    box_width: int = BOX_WIDTH
    box_height: int = BOX_HEIGHT

    @property
    def boxes(self) -> list[Box]:
        return [*self.upstream, self.center, *self.downstream]


def product_kind(node: LineageNode) -> str:
    if node.status is None or node.status == Status.ACTIVE:
        return "Product"
    return f"Product ({Status(node.status).label.lower()})"


def box_of(node: LineageNode, connections_url: str) -> Box:
    """A box for a node; links to products, and to the connections when the user may see them."""
    if node.kind == "product":
        if node.product is None:
            return Box("Product", node.label)
        url = reverse("product-detail", args=[node.product.domain.slug, node.product.slug])
        return Box(product_kind(node), node.label, node.title or "", url)
    if node.kind == "files":
        return Box(f"Files ({node.file_format})", node.label, node.label)
    label = node.label if node.kind == "postgres" else f"{node.connection} / {node.label}"
    return Box(SOURCE_KINDS[node.kind], label, label, connections_url)


def _stack(boxes: list[Box], x: int, height: int) -> None:
    used = len(boxes) * BOX_HEIGHT + max(len(boxes) - 1, 0) * ROW_GAP
    top = (height - used) // 2
    for index, box in enumerate(boxes):
        box.x, box.y = x, top + index * (BOX_HEIGHT + ROW_GAP)


def _spread(box: Box, index: int, count: int) -> int:
    return box.y + (index + 1) * BOX_HEIGHT // (count + 1)


def lineage_picture(lineage: Lineage, *, connections_url: str = "") -> Picture:
    """Lay the lineage out; `connections_url` links source boxes (empty: no link)."""
    upstream = [box_of(node, connections_url) for node in lineage.upstream]
    downstream = [box_of(node, connections_url) for node in lineage.downstream]
    center = Box("This product", lineage.center.label, lineage.center.title or "")
    rows = max(len(upstream), len(downstream), 1)
    height = 2 * MARGIN + rows * BOX_HEIGHT + (rows - 1) * ROW_GAP
    columns = [MARGIN + i * (BOX_WIDTH + COLUMN_GAP) for i in range(3)]
    _stack(upstream, columns[0], height)
    _stack([center], columns[1], height)
    _stack(downstream, columns[2], height)
    middle = BOX_HEIGHT // 2
    # Arrows meet the centre box at points spread along its side, so that each stays distinct.
    edges = [
        (box.x + BOX_WIDTH, box.y + middle, center.x - 4, _spread(center, i, len(upstream)))
        for i, box in enumerate(upstream)
    ]
    edges += [
        (center.x + BOX_WIDTH, _spread(center, i, len(downstream)), box.x - 4, box.y + middle)
        for i, box in enumerate(downstream)
    ]
    return Picture(
        center=center,
        upstream=upstream,
        downstream=downstream,
        edges=edges,
        width=columns[2] + BOX_WIDTH + MARGIN,
        height=height,
    )

"""Turn an uploaded YAML or JSON document into a plain mapping, refusing hostile input.

Contracts come from users, so the loader assumes the worst: it caps size and nesting depth and
refuses YAML anchors and aliases before the composer can expand them ("billion laughs").
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node

from meshplatform.errors import Invalid

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DEPTH = 64

YAML = "yaml"
JSON = "json"


class DocumentInvalid(Invalid):
    code = "document_invalid"


def _where(mark: Any) -> str:
    if mark is None:
        return ""
    return f" (line {mark.line + 1}, column {mark.column + 1})"


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases, deep nesting and duplicate keys.

    The checks sit in `compose_node`, which sees each event before any node is built, so an
    alias bomb is refused at its first anchor, in constant time.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call,unused-ignore]
        if isinstance(event, AliasEvent):
            raise DocumentInvalid(f"YAML aliases are not allowed{_where(event.start_mark)}.")
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor is not None:
            raise DocumentInvalid(f"YAML anchors are not allowed{_where(event.start_mark)}.")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise DocumentInvalid(
                f"The document is nested deeper than {MAX_DEPTH} levels{_where(event.start_mark)}."
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value if key_node.tag == "tag:yaml.org,2002:str" else None
            if key is not None and key in seen:
                raise DocumentInvalid(f"Duplicate key {key!r}{_where(key_node.start_mark)}.")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _refuse_tag(loader: yaml.SafeLoader, node: Node) -> Any:
    raise DocumentInvalid(f"The YAML tag {node.tag} is not allowed{_where(node.start_mark)}.")


def _keep_as_string(loader: yaml.SafeLoader, node: Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type,unused-ignore]


# Dates stay strings: the ODCS model types them as str, and a round trip through datetime would
# change what the author wrote. Binary and sets have no JSON equivalent.
_GuardedLoader.add_constructor("tag:yaml.org,2002:timestamp", _keep_as_string)
_GuardedLoader.add_constructor("tag:yaml.org,2002:binary", _refuse_tag)
_GuardedLoader.add_constructor("tag:yaml.org,2002:set", _refuse_tag)


def _load_yaml(text: str) -> Any:
    loader = _GuardedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        problem = error.problem or error.context or "invalid YAML"
        raise DocumentInvalid(f"Invalid YAML: {problem}{_where(error.problem_mark)}.") from None
    except yaml.YAMLError as error:
        raise DocumentInvalid(f"Invalid YAML: {error}.") from None
    finally:
        loader.dispose()


def _refuse_constant(name: str) -> Any:
    raise DocumentInvalid(f"Invalid JSON: {name} is not allowed.")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DocumentInvalid(f"Duplicate key {key!r}.")
        result[key] = value
    return result


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_object, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise DocumentInvalid(
            f"Invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except RecursionError:
        raise DocumentInvalid(f"The document is nested deeper than {MAX_DEPTH} levels.") from None


def _inspect(value: Any) -> int:
    """Nesting depth, counted like the YAML guard (a scalar at the top is depth 1); refuses
    what no database column can hold: NaN and infinite numbers, NUL characters."""
    deepest = 0
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, level, path = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and "\x00" in key:
                    raise DocumentInvalid("NUL characters are not allowed.", fields={where: "NUL."})
                stack.append((child, level + 1, where))
        elif isinstance(item, list):
            stack.extend((child, level + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise DocumentInvalid(
                "Numbers must be finite.", fields={path or "document": "NaN or infinite number."}
            )
        elif isinstance(item, str) and "\x00" in item:
            raise DocumentInvalid(
                "NUL characters are not allowed.", fields={path or "document": "Contains NUL."}
            )
    return deepest


def load_document(text: str) -> tuple[dict[str, Any], str]:
    """Parse a contract document; returns the top-level mapping and "yaml" or "json"."""
    if len(text) > MAX_DOCUMENT_BYTES or (
        len(text.encode("utf-8", errors="surrogatepass")) > MAX_DOCUMENT_BYTES
    ):
        raise DocumentInvalid(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    body = text.lstrip("\ufeff")
    if body.lstrip()[:1] == "{":
        data, fmt = _load_json(body), JSON
    else:
        data, fmt = _load_yaml(text), YAML
    if _inspect(data) > MAX_DEPTH:
        raise DocumentInvalid(f"The document is nested deeper than {MAX_DEPTH} levels.")
    if not isinstance(data, dict):
        raise DocumentInvalid("The document must be a mapping at the top level.")
    if not all(isinstance(key, str) for key in data):
        raise DocumentInvalid("Every top-level key must be a string.")
    return data, fmt

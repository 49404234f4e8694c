"""Properties of the diff that hold for every contract, not just the hand-written examples."""

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from products.contracts import Change, diff_contracts, needs_major_bump
from tests.contracts.builders import normalize

LOWER = ("minimum", "minLength", "exclusiveMinimum")
UPPER = ("maximum", "maxLength", "exclusiveMaximum")
STRICTER_WHEN_LOWER = ("mustBeLessThan", "mustBeLessOrEqualTo")
STRICTER_WHEN_HIGHER = ("mustBeGreaterThan", "mustBeGreaterOrEqualTo")

# Small domains on purpose: two independent draws then share most names and values, which
# makes pairs of contracts that differ in a few places, as real versions do.
small_bound = st.sampled_from([0, 5, 10])
options = st.fixed_dictionaries(
    {},
    optional={
        "minimum": small_bound,
        "maximum": st.sampled_from([10, 20]),
        "minLength": small_bound,
        "maxLength": st.sampled_from([10, 20]),
        "exclusiveMinimum": small_bound,
        "exclusiveMaximum": st.sampled_from([10, 20]),
        "pattern": st.sampled_from(["^a", "^b"]),
        "enum": st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True),
    },
)
rules = st.lists(
    st.builds(
        lambda metric, operator, value: {"metric": metric, operator: value},
        st.sampled_from(["nullValues", "rowCount"]),
        st.sampled_from(STRICTER_WHEN_LOWER + STRICTER_WHEN_HIGHER),
        st.sampled_from([1, 2]),
    ),
    max_size=2,
    unique_by=lambda rule: rule["metric"],
)


@st.composite
def properties(draw: st.DrawFn, depth: int = 0) -> list[dict[str, Any]]:
    names = draw(
        st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=3, unique=True)
    )
    result = []
    for name in names:
        prop: dict[str, Any] = {
            "name": name,
            "logicalType": draw(st.sampled_from(["integer", "number", "string"])),
            "required": draw(st.booleans()),
            "unique": draw(st.booleans()),
            "description": draw(st.sampled_from([None, "one", "two"])),
            "logicalTypeOptions": draw(options),
            "quality": draw(rules),
        }
        if draw(st.booleans()):
            prop["primaryKey"] = True
            prop["primaryKeyPosition"] = draw(st.integers(1, 3))
        if depth == 0 and draw(st.integers(0, 4)) == 0:
            prop["logicalType"] = "object"
            prop["properties"] = draw(properties(depth=1))
        result.append(prop)
    return result


@st.composite
def contracts(draw: st.DrawFn) -> dict[str, Any]:
    objects = draw(st.lists(st.sampled_from(["orders", "customers"]), min_size=1, unique=True))
    document = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "c",
        "version": "1.0.0",
        "schema": [
            {"name": name, "properties": draw(properties()), "quality": draw(rules)}
            for name in objects
        ],
        "slaProperties": [{"property": "latency", "value": draw(st.sampled_from([1, 2]))}],
    }
    return normalize(document)


def bounded(contract: dict[str, Any]) -> list[tuple[int, str]]:
    return [
        (index, name)
        for index, field in enumerate(contract["fields"])
        for name in LOWER + UPPER
        if name in field["options"]
    ]


@given(contracts())
def test_a_contract_has_no_changes_against_itself(contract: dict[str, Any]) -> None:
    assert diff_contracts(contract, copy.deepcopy(contract)) == []


@given(contracts(), st.data())
def test_removing_any_field_is_breaking(contract: dict[str, Any], data: st.DataObject) -> None:
    new = copy.deepcopy(contract)
    removed = data.draw(st.sampled_from(new["fields"]))
    new["fields"] = [f for f in new["fields"] if f["path"] != removed["path"]]
    changes = diff_contracts(contract, new)
    assert any(c.path == removed["path"] and c.breaking for c in changes)
    assert needs_major_bump(changes)


@given(contracts(), st.data(), st.integers(1, 100), st.booleans())
def test_loosening_any_bound_is_never_breaking(
    contract: dict[str, Any], data: st.DataObject, delta: int, drop: bool
) -> None:
    candidates = bounded(contract)
    if not candidates:
        return
    index, name = data.draw(st.sampled_from(candidates))
    new = copy.deepcopy(contract)
    bound = new["fields"][index]["options"]
    if drop:
        del bound[name]
    else:
        bound[name] += -delta if name in LOWER else delta
    changes = diff_contracts(contract, new)
    assert len(changes) == 1
    assert not needs_major_bump(changes)


@given(contracts(), st.data(), st.integers(1, 100))
def test_tightening_any_bound_is_breaking(
    contract: dict[str, Any], data: st.DataObject, delta: int
) -> None:
    candidates = bounded(contract)
    if not candidates:
        return
    index, name = data.draw(st.sampled_from(candidates))
    new = copy.deepcopy(contract)
    new["fields"][index]["options"][name] += delta if name in LOWER else -delta
    changes = diff_contracts(contract, new)
    assert [c.breaking for c in changes] == [True]


def reference_breaking(change: Change) -> bool:
    """The rules as the brief states them, written without looking at the implementation."""
    before, after, kind = change.before, change.after, change.kind
    if kind in ("object_removed", "field_removed", "primary_key_changed"):
        return True
    if kind == "field_added":
        return bool(after["required"])
    if kind == "type_changed":
        return after is not None and (before, after) != ("integer", "number")
    if kind in ("required_changed", "unique_changed"):
        return after is True
    if ".options." in change.path:
        option = change.path.rsplit(".", 1)[1]
        if after is None:
            return False
        if before is None:
            return True
        if option == "enum":
            return not set(before) <= set(after)
        if option in LOWER:
            return bool(after > before)
        if option in UPPER:
            return bool(after < before)
        return True
    if ".quality[" in change.path:
        if after is None:
            return False
        if before is None or before["operator"] != after["operator"]:
            return True
        if after["operator"] in STRICTER_WHEN_LOWER:
            return bool(after["value"] < before["value"])
        if after["operator"] in STRICTER_WHEN_HIGHER:
            return bool(after["value"] > before["value"])
        return True
    if kind == "sla_changed":  # latency without a unit: a larger number is a weaker promise
        return before is not None and (after is None or after["value"] > before["value"])
    return False


@settings(max_examples=300)
@given(contracts(), contracts())
def test_every_change_agrees_with_the_reference_classification(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    changes = diff_contracts(old, new)
    for change in changes:
        assert change.breaking is reference_breaking(change), change
    assert len({(c.path, c.kind) for c in changes}) == len(changes)
    assert diff_contracts(old, new) == changes

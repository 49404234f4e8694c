from typing import Any

import pytest

from meshplatform.errors import Conflict
from products.contracts import (
    BreakingChange,
    Change,
    VersionNotNewer,
    check_version_bump,
    diff_contracts,
    needs_major_bump,
)
from tests.contracts.builders import normalize, odcs, prop


def changes_between(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return diff_contracts(normalize(old), normalize(new))


def only_change(old: dict[str, Any], new: dict[str, Any]) -> Change:
    changes = changes_between(old, new)
    assert len(changes) == 1, changes
    return changes[0]


def options(**values: Any) -> dict[str, Any]:
    return prop(logicalTypeOptions=values)


def test_identical_contracts_have_no_changes() -> None:
    document = odcs(prop(), prop("id", required=True))
    assert changes_between(document, document) == []


def test_removing_an_object_is_breaking() -> None:
    old = odcs(prop(), extra_objects=[{"name": "customers", "properties": [prop("id")]}])
    change = only_change(old, odcs(prop()))
    assert (change.path, change.kind, change.breaking) == ("customers", "object_removed", True)


def test_adding_an_object_is_not_breaking() -> None:
    new = odcs(
        prop(), extra_objects=[{"name": "customers", "properties": [prop("id", required=True)]}]
    )
    change = only_change(odcs(prop()), new)
    assert (change.kind, change.breaking) == ("object_added", False)


def test_removing_a_field_is_breaking_and_says_removed_or_renamed() -> None:
    change = only_change(odcs(prop(), prop("note")), odcs(prop()))
    assert (change.path, change.kind, change.breaking) == ("orders.note", "field_removed", True)
    assert "removed or renamed" in change.message


def test_removing_a_nested_field_is_breaking() -> None:
    old = odcs({"name": "customer", "logicalType": "object", "properties": [prop("id"), prop("x")]})
    new = odcs({"name": "customer", "logicalType": "object", "properties": [prop("id")]})
    change = only_change(old, new)
    assert (change.path, change.breaking) == ("orders.customer.x", True)


def test_adding_an_optional_field_is_not_breaking() -> None:
    change = only_change(odcs(prop()), odcs(prop(), prop("note")))
    assert (change.kind, change.breaking) == ("field_added", False)


def test_adding_a_required_field_is_breaking() -> None:
    change = only_change(odcs(prop()), odcs(prop(), prop("note", required=True)))
    assert (change.kind, change.breaking) == ("field_added", True)


def test_changing_the_logical_type_is_breaking() -> None:
    change = only_change(odcs(prop(logicalType="string")), odcs(prop(logicalType="integer")))
    assert (change.path, change.kind, change.breaking) == (
        "orders.amount.logicalType",
        "type_changed",
        True,
    )


def test_narrowing_number_to_integer_is_breaking() -> None:
    assert only_change(odcs(prop()), odcs(prop(logicalType="integer"))).breaking


def test_widening_integer_to_number_is_not_breaking() -> None:
    change = only_change(odcs(prop(logicalType="integer")), odcs(prop()))
    assert (change.kind, change.breaking) == ("type_changed", False)


def test_changing_a_physical_type_is_breaking_but_declaring_one_is_not() -> None:
    assert only_change(odcs(prop(physicalType="int")), odcs(prop(physicalType="bigint"))).breaking
    assert not only_change(odcs(prop()), odcs(prop(physicalType="bigint"))).breaking


def test_optional_to_required_is_breaking() -> None:
    change = only_change(odcs(prop()), odcs(prop(required=True)))
    assert (change.kind, change.breaking, change.before, change.after) == (
        "required_changed",
        True,
        False,
        True,
    )


def test_required_to_optional_is_not_breaking() -> None:
    assert not only_change(odcs(prop(required=True)), odcs(prop(required=False))).breaking


def test_adding_unique_is_breaking() -> None:
    assert only_change(odcs(prop()), odcs(prop(unique=True))).breaking


def test_removing_unique_is_not_breaking() -> None:
    assert not only_change(odcs(prop(unique=True)), odcs(prop())).breaking


def test_changing_the_primary_key_is_breaking() -> None:
    old = odcs(prop("a", primaryKey=True, primaryKeyPosition=1), prop("b"))
    new = odcs(
        prop("a", primaryKey=True, primaryKeyPosition=1),
        prop("b", primaryKey=True, primaryKeyPosition=2),
    )
    change = only_change(old, new)
    assert (change.path, change.kind, change.breaking) == (
        "orders.primaryKey",
        "primary_key_changed",
        True,
    )
    assert change.after == ["orders.a", "orders.b"]


def test_reordering_the_primary_key_is_breaking() -> None:
    old = odcs(
        prop("a", primaryKey=True, primaryKeyPosition=1),
        prop("b", primaryKey=True, primaryKeyPosition=2),
    )
    new = odcs(
        prop("a", primaryKey=True, primaryKeyPosition=2),
        prop("b", primaryKey=True, primaryKeyPosition=1),
    )
    assert only_change(old, new).breaking


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"minLength": 1}, {"minLength": 2}),
        ({}, {"minLength": 1}),
        ({"minimum": 0}, {"minimum": 0.5}),
        ({}, {"minimum": 0}),
        ({"exclusiveMinimum": 0}, {"exclusiveMinimum": 1}),
        ({"maxLength": 10}, {"maxLength": 9}),
        ({}, {"maxLength": 10}),
        ({"maximum": 100}, {"maximum": 99}),
        ({"exclusiveMaximum": 100}, {"exclusiveMaximum": 10}),
        ({}, {"pattern": "^a"}),
        ({"pattern": "^a"}, {"pattern": "^b"}),
        ({}, {"format": "email"}),
        ({"format": "uuid"}, {"format": "email"}),
        ({"minimum": "2020-01-01"}, {"minimum": "2021-01-01"}),
        ({"exclusiveMaximum": False}, {"exclusiveMaximum": True}),
        ({"maxItems": 5}, {"maxItems": 4}),
    ],
)
def test_tightening_a_constraint_is_breaking(before: dict[str, Any], after: dict[str, Any]) -> None:
    change = only_change(odcs(options(**before)), odcs(options(**after)))
    assert (change.kind, change.breaking) == ("constraint_tightened", True)
    assert change.path.startswith("orders.amount.options.")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"minLength": 2}, {"minLength": 1}),
        ({"minLength": 2}, {}),
        ({"minimum": 1}, {"minimum": -1}),
        ({"maxLength": 9}, {"maxLength": 10}),
        ({"maximum": 9}, {}),
        ({"exclusiveMaximum": 9}, {"exclusiveMaximum": 9.5}),
        ({"pattern": "^a"}, {}),
        ({"format": "uuid"}, {}),
        ({"exclusiveMinimum": True}, {"exclusiveMinimum": False}),
    ],
)
def test_loosening_or_removing_a_constraint_is_not_breaking(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    change = only_change(odcs(options(**before)), odcs(options(**after)))
    assert (change.kind, change.breaking) == ("constraint_loosened", False)


def test_removing_an_enum_value_is_breaking() -> None:
    change = only_change(odcs(options(enum=["a", "b"])), odcs(options(enum=["a"])))
    assert (change.kind, change.breaking) == ("enum_narrowed", True)


def test_adding_an_enum_is_breaking() -> None:
    assert only_change(odcs(prop()), odcs(options(enum=["a"]))).breaking


def test_widening_an_enum_is_not_breaking() -> None:
    change = only_change(odcs(options(enum=["a"])), odcs(options(enum=["a", "b"])))
    assert (change.kind, change.breaking) == ("enum_widened", False)


def test_dropping_an_enum_is_not_breaking() -> None:
    assert not only_change(odcs(options(enum=["a"])), odcs(prop())).breaking


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"description": "a"}, {"description": "b"}),
        ({}, {"classification": "restricted"}),
        ({"tags": ["x"]}, {"tags": ["x", "y"]}),
    ],
)
def test_descriptive_changes_are_not_breaking(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    changes = changes_between(odcs(prop(**before)), odcs(prop(**after)))
    assert changes and not needs_major_bump(changes)


def test_object_description_change_is_not_breaking_but_moving_its_table_is() -> None:
    old = odcs(prop())
    new = odcs(prop())
    new["schema"][0]["description"] = "now described"
    assert not only_change(old, new).breaking
    new["schema"][0]["physicalName"] = "orders_v2"
    assert needs_major_bump(changes_between(old, new))


def rule(**attributes: Any) -> dict[str, Any]:
    return {"metric": "rowCount", **attributes}


def test_adding_a_quality_rule_is_breaking() -> None:
    change = only_change(odcs(prop()), odcs(prop(quality=[rule(mustBeGreaterThan=0)])))
    assert (change.path, change.kind, change.breaking) == (
        "orders.amount.quality[library:rowCount]",
        "quality_rule_added",
        True,
    )


def test_adding_an_object_level_quality_rule_is_breaking() -> None:
    change = only_change(odcs(prop()), odcs(prop(), quality=[rule(mustBeGreaterThan=0)]))
    assert (change.path, change.breaking) == ("orders.quality[library:rowCount]", True)


def test_removing_a_quality_rule_is_not_breaking() -> None:
    change = only_change(odcs(prop(), quality=[rule(mustBeGreaterThan=0)]), odcs(prop()))
    assert (change.kind, change.breaking) == ("quality_rule_removed", False)


@pytest.mark.parametrize(
    ("operator", "before", "after", "breaking"),
    [
        ("mustBeLessThan", 10, 5, True),
        ("mustBeLessThan", 5, 10, False),
        ("mustBeLessOrEqualTo", 10, 9, True),
        ("mustBeLessOrEqualTo", 9, 10, False),
        ("mustBeGreaterThan", 0, 1, True),
        ("mustBeGreaterThan", 1, 0, False),
        ("mustBeGreaterOrEqualTo", 1, 2, True),
        ("mustBeGreaterOrEqualTo", 2, 1, False),
        ("mustBeBetween", [0, 10], [1, 10], True),
        ("mustBeBetween", [0, 10], [0, 9], True),
        ("mustBeBetween", [0, 10], [-1, 9], True),
        ("mustBeBetween", [0, 10], [-1, 11], False),
        ("mustNotBeBetween", [0, 10], [-1, 10], True),
        ("mustNotBeBetween", [0, 10], [1, 9], False),
        ("mustBe", 0, 1, True),
        ("mustNotBe", 0, 1, True),
    ],
)
def test_quality_threshold_change_is_breaking_only_when_stricter(
    operator: str, before: Any, after: Any, breaking: bool
) -> None:
    change = only_change(
        odcs(prop(quality=[rule(**{operator: before})])),
        odcs(prop(quality=[rule(**{operator: after})])),
    )
    assert change.breaking is breaking
    if operator not in ("mustBe", "mustNotBe"):
        assert change.kind == ("quality_rule_tightened" if breaking else "quality_rule_loosened")


def test_changing_a_quality_rule_operator_or_query_is_breaking() -> None:
    assert only_change(
        odcs(prop(quality=[rule(mustBeGreaterThan=0)])),
        odcs(prop(quality=[rule(mustBeLessThan=9)])),
    ).breaking
    sql = {"type": "sql", "name": "check", "mustBe": 0}
    assert only_change(
        odcs(prop(), quality=[{**sql, "query": "SELECT 1"}]),
        odcs(prop(), quality=[{**sql, "query": "SELECT 2"}]),
    ).breaking


def test_annotating_a_quality_rule_is_not_breaking() -> None:
    change = only_change(
        odcs(prop(quality=[rule(mustBeGreaterThan=0)])),
        odcs(prop(quality=[rule(mustBeGreaterThan=0, description="why", severity="warning")])),
    )
    assert (change.kind, change.breaking) == ("quality_rule_annotated", False)


def test_a_stronger_or_new_sla_promise_is_not_breaking() -> None:
    old = odcs(prop(), sla=[{"property": "latency", "value": 1, "unit": "d"}])
    new = odcs(
        prop(),
        sla=[
            {"property": "latency", "value": 4, "unit": "h"},
            {"property": "retention", "value": 1, "unit": "y"},
        ],
    )
    changes = changes_between(old, new)
    assert [(c.path, c.kind, c.breaking) for c in changes] == [
        ("sla.latency", "sla_changed", False),
        ("sla.retention", "sla_changed", False),
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            {"property": "latency", "value": 4, "unit": "h"},
            {"property": "latency", "value": 1, "unit": "d"},
        ),
        (
            {"property": "retention", "value": 2, "unit": "y"},
            {"property": "retention", "value": 30, "unit": "d"},
        ),
        (
            {"property": "availability", "value": 99.9, "unit": "%"},
            {"property": "availability", "value": 99},
        ),
        ({"property": "latency", "value": 4, "unit": "h"}, None),
        (
            {"property": "latency", "value": 4, "unit": "h"},
            {"property": "latency", "value": 4, "unit": "parsec"},
        ),
    ],
)
def test_a_weaker_or_dropped_sla_promise_is_breaking(before: dict, after: dict | None) -> None:
    changes = changes_between(
        odcs(prop(), sla=[before]), odcs(prop(), sla=[after] if after else [])
    )
    assert [(c.path, c.breaking) for c in changes] == [(f"sla.{before['property']}", True)]


def test_renaming_a_column_physically_is_breaking() -> None:
    old = odcs(prop(physicalName="amt"))
    new = odcs(prop(physicalName="amount_eur"))
    changes = changes_between(old, new)
    assert [(c.kind, c.breaking) for c in changes] == [("physical_name_changed", True)]


def test_changes_come_out_in_a_stable_order() -> None:
    old = odcs(prop("a"), prop("b", required=True), prop("c"))
    new = odcs(prop("c", required=True), prop("d"), prop("a", logicalType="string"))
    first = [c.as_dict() for c in changes_between(old, new)]
    assert first == [c.as_dict() for c in changes_between(old, new)]
    assert [c["path"] for c in first] == [
        "orders.b",
        "orders.c.required",
        "orders.d",
        "orders.a.logicalType",
    ]


def test_change_as_dict_carries_every_attribute() -> None:
    change = only_change(odcs(prop()), odcs(prop(required=True)))
    assert change.as_dict() == {
        "path": "orders.amount.required",
        "kind": "required_changed",
        "breaking": True,
        "message": "orders.amount is now required.",
        "before": False,
        "after": True,
    }


def breaking_changes() -> list[Change]:
    return changes_between(odcs(prop(), prop("x")), odcs(prop()))


def test_breaking_change_without_major_bump_is_refused_with_the_changes() -> None:
    with pytest.raises(BreakingChange) as raised:
        check_version_bump("1.4.2", "1.5.0", breaking_changes())
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "breaking_change"
    assert raised.value.http_status == 409
    assert raised.value.detail["changes"] == [c.as_dict() for c in breaking_changes()]


def test_breaking_change_with_major_bump_is_accepted() -> None:
    check_version_bump("1.4.2", "2.0.0", breaking_changes())


def test_compatible_change_needs_only_a_newer_version() -> None:
    changes = changes_between(odcs(prop()), odcs(prop(), prop("x")))
    assert not needs_major_bump(changes)
    check_version_bump("1.4.2", "1.4.3", changes)


@pytest.mark.parametrize("new_version", ["1.4.2", "1.4.1", "1.4.2-rc.1", "0.9.0"])
def test_version_that_is_not_newer_is_refused(new_version: str) -> None:
    with pytest.raises(VersionNotNewer) as raised:
        check_version_bump("1.4.2", new_version, [])
    assert raised.value.code == "version_not_newer"

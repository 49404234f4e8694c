from __future__ import annotations

import random
import time

import polars as pl
import pyarrow as pa
import pytest

from products.contracts import parse_contract
from products.contracts.enforce import compile_contract
from products.contracts.enforce.types import INTEGER_SHAPE, NUMBER_SHAPE, convert_values
from tests.enforcement.helpers import KEY, broken, contract_text, field, table, validator


@pytest.mark.parametrize(
    ("logical_type", "bad", "good"),
    [
        ("integer", "abc", "42"),
        ("integer", "99999999999999999999", "-7"),
        ("integer", " 5", "+5"),
        ("integer", "5 ", "-0"),
        ("integer", "5_000", "007"),
        ("integer", "\u0663", "1"),
        ("integer", "\uff15", "2"),
        ("integer", "0x5", "3"),
        ("integer", "1e3", "4"),
        ("integer", "5.0", "5"),
        ("integer", "9223372036854775808", "-9223372036854775808"),
        ("number", " 1.5", "-.5e-3"),
        ("number", "NaN", "5."),
        ("number", "-inf", "1E+3"),
        ("number", "1_000.5", "00.1"),
        ("number", "0x1p3", "+7"),
        ("number", "1,5", "1e-400"),
        ("number", "1e400", "1.5e3"),
        ("number", "inf", ".5"),
        ("date", "2024-02-30", "2024-02-29"),
        ("date", "2024-2-3", "2023-12-31"),
        ("timestamp", "2024-02-30T10:00:00", "2024-02-29T10:00:00"),
        ("timestamp", "2024-01-01T23:59:60", "2024-01-01T23:59:59Z"),
        ("time", "25:00:00", "23:59:59"),
        ("boolean", "maybe", "TRUE"),
    ],
)
def test_values_that_do_not_convert_fail_the_type_rule_without_crashing(
    logical_type: str, bad: str, good: str
) -> None:
    result = validator(field("v", logical_type)).check(table(v=[good, bad, None]))
    assert broken(result) == {1: ["orders.v:logicalType"]}
    assert result.passed.num_rows == 2


def test_passed_rows_are_typed_to_the_contract_schema_in_contract_order() -> None:
    v = validator(field("b", "integer"), field("a", "timestamp"), field("c", "boolean"))
    result = v.check(table(a=["2024-01-01 10:00:00+02:00"], b=["3"], c=["false"]))
    assert result.passed.schema == pa.schema(
        [("b", pa.int64()), ("a", pa.timestamp("us", tz="UTC")), ("c", pa.bool_())]
    )
    assert result.passed.column("a")[0].as_py().hour == 8


def test_default_timestamps_mix_formats_within_one_batch() -> None:
    # The first format parses most values; the others are retried only where it failed.
    values = [
        "2024-01-01T10:00:00",
        "2024-01-01 10:00:00.5",
        "2024-01-01T10:00:00+02:00",
        "2024-02-30T10:00:00",
        "2024-01-01 10:00:00Z",
        None,
        "2024-01-01T10:00",
        "2024-01-01 11:00:00-0130",
    ]
    result = validator(field("t", "timestamp"), field("k", "integer")).check(
        table(t=values, k=[str(i) for i in range(len(values))])
    )
    assert broken(result) == {3: ["orders.t:logicalType"], 6: ["orders.t:logicalType"]}
    assert result.passed.column("k").to_pylist() == [0, 1, 2, 4, 5, 7]
    hours = [
        None if v is None else (v.hour, v.minute, v.microsecond)
        for v in result.passed.column("t").to_pylist()
    ]
    assert hours == [(10, 0, 0), (10, 0, 500000), (8, 0, 0), (10, 0, 0), None, (12, 30, 0)]


def test_required_fails_nulls_and_missing_columns() -> None:
    result = validator(field("a", required=True), field("b", required=True)).check(
        table(a=["x", None, ""])
    )
    assert broken(result) == {
        0: ["orders.b:required"],
        1: ["orders.a:required", "orders.b:required"],
        2: ["orders.b:required"],
    }


def test_rules_other_than_required_skip_nulls() -> None:
    options = {"minLength": 2, "pattern": "^x", "format": "uuid", "enum": ["xy"]}
    result = validator(field("a", logicalTypeOptions=options)).check(table(a=[None, None]))
    assert result.quarantined.num_rows == 0


@pytest.mark.parametrize(
    ("options", "values", "failing", "kind"),
    [
        ({"minLength": 2}, ["ab", "é", "日本"], [1], "minLength"),
        ({"maxLength": 2}, ["ab", "abc", "日本"], [1], "maxLength"),
        ({"pattern": "^[a-z]+$"}, ["abc", "ab1", "é"], [1, 2], "pattern"),
        ({"format": "email"}, ["a@b.io", "nope", "a@b"], [1, 2], "format"),
        ({"format": "uuid"}, ["0b8a3e2c-5f1d-4c1e-9a7b-1234567890ab", "0b8a3e2c"], [1], "format"),
        ({"format": "uri"}, ["https://x.io/a", "not a uri"], [1], "format"),
        ({"format": "date"}, ["2024-02-29", "2023-02-29", "2024-1-1"], [1, 2], "format"),
        ({"enum": ["placed", "shipped"]}, ["placed", "lost", "Placed"], [1, 2], "enum"),
    ],
)
def test_string_options(options: dict, values: list[str], failing: list[int], kind: str) -> None:
    result = validator(field("a", logicalTypeOptions=options)).check(table(a=values))
    assert broken(result) == {row: [f"orders.a:{kind}"] for row in failing}


def test_enum_from_odcs_3_2_enum_list() -> None:
    document_field = field("a", customProperties=[{"property": "enum", "value": ["x", "y"]}])
    result = validator(document_field).check(table(a=["x", "z"]))
    assert broken(result) == {1: ["orders.a:enum"]}


@pytest.mark.parametrize(
    ("options", "failing", "kind"),
    [
        ({"minimum": 0}, [0], "minimum"),
        ({"maximum": 10}, [3], "maximum"),
        ({"exclusiveMinimum": 0}, [0, 1], "exclusiveMinimum"),
        ({"exclusiveMaximum": 10}, [2, 3], "exclusiveMaximum"),
        ({"minimum": 0, "exclusiveMinimum": True}, [0, 1], "minimum"),
    ],
)
def test_numeric_bounds(options: dict, failing: list[int], kind: str) -> None:
    result = validator(field("n", "number", logicalTypeOptions=options)).check(
        table(n=["-1", "0", "10", "11"])
    )
    assert broken(result) == {row: [f"orders.n:{kind}"] for row in failing}


def test_date_bounds_compare_dates() -> None:
    v = validator(field("d", "date", logicalTypeOptions={"minimum": "2024-01-01"}))
    assert broken(v.check(table(d=["2023-12-31", "2024-01-01"]))) == {0: ["orders.d:minimum"]}


def test_timestamp_format_from_the_contract_is_strict() -> None:
    v = validator(field("t", "timestamp", logicalTypeOptions={"format": "dd/MM/yyyy HH:mm"}))
    result = v.check(table(t=["31/01/2024 10:30", "2024-01-31T10:30:00", "30/02/2024 10:30"]))
    assert broken(result) == {1: ["orders.t:logicalType"], 2: ["orders.t:logicalType"]}


def test_every_broken_rule_of_a_row_is_listed() -> None:
    v = validator(
        field("a", required=True),
        field("n", "integer", logicalTypeOptions={"minimum": 5}),
        field("s", logicalTypeOptions={"maxLength": 1, "pattern": "^[0-9]$"}),
    )
    result = v.check(table(a=[None], n=["1"], s=["ab"]))
    assert broken(result) == {
        0: ["orders.a:required", "orders.n:minimum", "orders.s:maxLength", "orders.s:pattern"]
    }
    error = result.quarantined.column("_errors")[0][0].as_py()
    assert error == {"rule": "orders.a:required", "field": "a", "message": "is required"}


def test_catastrophic_backtracking_pattern_returns_fast() -> None:
    v = validator(field("a", logicalTypeOptions={"pattern": "^(a+)+$"}))
    values = ["a" * 50_000 + "b"] * 20
    started = time.perf_counter()
    result = v.check(table(a=values))
    assert time.perf_counter() - started < 2
    assert result.quarantined.num_rows == 20


def test_empty_input_gives_empty_typed_tables() -> None:
    v = validator(field("n", "integer", required=True))
    result = v.check(table(n=[]))
    assert result.passed.num_rows == 0 and result.quarantined.num_rows == 0
    assert result.passed.schema.field("n").type == pa.int64()
    report = v.finish()
    assert (report.rows_in, report.ok) == (0, True)


def test_typed_input_columns_are_accepted() -> None:
    v = validator(field("n", "integer", logicalTypeOptions={"minimum": 0}), field("x", "number"))
    result = v.check(pa.table({"n": pa.array([1, -1], pa.int32()), "x": pa.array([1, 2])}))
    assert broken(result) == {1: ["orders.n:minimum"]}
    assert result.quarantined.column("n").to_pylist() == ["-1"]


def test_rule_counts_count_checked_and_failed_rows() -> None:
    v = validator(field("n", "integer", required=True, logicalTypeOptions={"minimum": 0}))
    v.check(table(n=["1", "-1", None, "x"]))
    counts = v.finish().rule_counts
    assert counts["orders.n:required"] == {"checked": 4, "failed": 1}
    assert counts["orders.n:logicalType"] == {"checked": 3, "failed": 1}
    assert counts["orders.n:minimum"] == {"checked": 2, "failed": 1}


def test_hash_key_is_required() -> None:
    with pytest.raises(ValueError, match="hash_key"):
        compile_contract(parse_contract(contract_text(field("a"))), hash_key=b"")
    assert KEY


def test_passthrough_fields_keep_their_values_among_the_typed_ones() -> None:
    v = validator(field("n", "integer"), field("doc", "object"), field("s"))
    result = v.check(table(n=["1", "x", "3"], doc=['{"a": 1}', "{}", None], s=["p", "q", "r"]))
    assert result.passed.column_names == ["n", "doc", "s"]
    assert result.passed.schema.field("n").type == pa.int64()
    assert result.passed.schema.field("s").type == pa.string()
    assert result.passed.column("doc").to_pylist() == ['{"a": 1}', None]
    assert result.passed.column("s").to_pylist() == ["p", "r"]


def test_number_casts_accept_exactly_the_number_shapes() -> None:
    # The conversion relies on polars' casts being as strict as the shape regexes.
    rng = random.Random(11)
    alphabet = "0123456789+-.eE infINFaAyYtT_x,dDfF\t"
    values = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(20_000)
    ] + [
        "".join(rng.choice("0123456789+-.eE") for _ in range(rng.randint(0, 9)))
        for _ in range(20_000)
    ]
    text = pl.Series(values)
    integers = convert_values(text, "integer", None).is_not_null()
    numbers = convert_values(text, "number", None)
    finite = numbers.is_not_null()
    assert (integers == (text.str.contains(INTEGER_SHAPE) & integers)).all()
    assert integers.sum() > 100
    assert (finite == (text.str.contains(NUMBER_SHAPE) & finite)).all()
    assert finite.sum() > 1000

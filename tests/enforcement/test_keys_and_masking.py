from __future__ import annotations

import hashlib
import hmac
import random

import polars as pl

from products.contracts.enforce.keys import SeenKeys
from products.contracts.enforce.masking import keyed_hash, mask_columns
from products.contracts.enforce.types import one_of
from tests.enforcement.helpers import broken, field, table, validator


def test_unique_duplicates_across_batches_keep_the_first_occurrence() -> None:
    v = validator(field("id", "integer", unique=True))
    first = v.check(table(id=["1", "2", "2", None]))
    second = v.check(table(id=["01", "3", None, "3"]))
    assert broken(first) == {2: ["orders.id:unique"]}
    assert broken(second) == {4: ["orders.id:unique"], 7: ["orders.id:unique"]}
    assert v.finish().rule_counts["orders.id:unique"] == {"checked": 6, "failed": 3}


def test_composite_primary_key_across_batches() -> None:
    v = validator(
        field("order", primaryKey=True, primaryKeyPosition=1),
        field("line", "integer", primaryKey=True, primaryKeyPosition=2),
    )
    first = v.check(table(order=["a", "a", "b"], line=["1", "2", "1"]))
    second = v.check(table(order=["a", "b", "b", "c"], line=["2", "2", "1", None]))
    assert broken(first) == {}
    assert broken(second) == {3: ["orders:primaryKey"], 5: ["orders:primaryKey"]}


def test_a_new_run_forgets_the_keys_of_the_last_one() -> None:
    v = validator(field("id", unique=True))
    v.check(table(id=["a"]))
    v.finish()
    assert broken(v.check(table(id=["a"]))) == {}


def test_restricted_and_pii_values_are_hashed_in_quarantine() -> None:
    v = validator(
        field("email", classification="restricted"),
        field("name", tags=["pii"]),
        field("n", "integer"),
    )
    result = v.check(
        table(email=["ada@x.io", "ada@x.io", None], name=["Ada", "Ada", "Bob"], n=["x", "y", "z"])
    )
    quarantined = result.quarantined.to_pylist()
    emails = [row["email"] for row in quarantined]
    assert emails[0] == emails[1] and len(emails[0]) == 64 and emails[2] is None
    assert quarantined[0]["name"] == quarantined[1]["name"] != quarantined[2]["name"]
    text = str(quarantined)
    assert "ada@x.io" not in text and "Ada" not in text and "Bob" not in text
    assert [row["n"] for row in quarantined] == ["x", "y", "z"]


def test_masked_values_are_the_keyed_hmac_of_each_value() -> None:
    values = ["ada@x.io", "ada@x.io", None, "Zoë", ""]
    for key in (b"k", b"x" * 100):  # a key longer than SHA-256's block is hashed first
        masked = mask_columns(pl.DataFrame({"v": values}), ["v"], key)["v"].to_list()
        expected = [
            None if v is None else hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()
            for v in values
        ]
        assert masked == expected
        assert masked[0] == keyed_hash("ada@x.io", key)


def test_passed_rows_keep_sensitive_values() -> None:
    result = validator(field("email", classification="restricted")).check(table(email=["a@x.io"]))
    assert result.passed.column("email").to_pylist() == ["a@x.io"]


def test_every_input_row_ends_in_exactly_one_side() -> None:
    v = validator(field("n", "integer", required=True))
    result = v.check(table(n=["1", None, "x", "4"]))
    rows = result.passed_rows.to_pylist() + result.quarantined.column("_row").to_pylist()
    assert sorted(rows) == [0, 1, 2, 3]


def test_seen_keys_match_a_set_over_many_uneven_batches() -> None:
    # Enough batches of shrinking and growing sizes to merge the sorted runs several times.
    rng = random.Random(5)
    seen, reference = SeenKeys(), set()
    for size in [50, 49, 48, 47, 120, 3, 0, 1, 200, 64, 64, 64, 64, 10]:
        values = [rng.choice([None, *range(400)]) for _ in range(size)]
        expected = []
        for value in values:
            expected.append(value is not None and value in reference)
            if value is not None:
                reference.add(value)
        hashes = pl.Series(values, dtype=pl.UInt64)
        assert seen.repeats(hashes).to_list() == expected
    assert len(seen) == len(reference)
    assert len(seen._runs) <= 4


def test_seen_keys_stay_few_runs_over_many_equal_batches() -> None:
    # Tiers of similar sizes merge: the runs stay logarithmic in the batches, keys exact.
    seen = SeenKeys()
    for start in range(0, 100 * 50, 50):
        hashes = pl.Series([*range(start, start + 50), start], dtype=pl.UInt64)
        assert seen.repeats(hashes).to_list() == [False] * 50 + [True]
        assert seen.repeats(pl.Series([start + 49, 10**9 + start], dtype=pl.UInt64)).to_list() == [
            True,
            False,
        ]
    assert len(seen) == 100 * 50 + 100
    assert len(seen._runs) <= 12
    assert all(run.is_sorted() for run in seen._runs)


def test_one_of_matches_is_in() -> None:
    texts = pl.DataFrame({"v": ["EUR", None, "usd", "", "GBP", "é"]})
    numbers = pl.DataFrame({"v": [1, None, -3, 7, 2**40]}, schema={"v": pl.Int64})
    floats = pl.DataFrame({"v": [1.0, None, float("nan"), -0.0]})
    cases = [
        (texts, pl.Series(["EUR", "GBP", "é"])),
        (texts, pl.Series(["EUR"])),
        (texts, pl.Series(["EUR", None], dtype=pl.String)),
        (texts, pl.Series([None], dtype=pl.String)),
        (texts, pl.Series([], dtype=pl.String)),
        (texts, pl.Series([f"x{i}" for i in range(40)] + ["usd"])),
        (numbers, pl.Series([7, 2**40, None], dtype=pl.Int64)),
        (floats, pl.Series([float("nan"), 0.0])),
    ]
    for frame, values in cases:
        expected = frame.select(pl.col("v").is_in(values.implode())).to_series().to_list()
        actual = frame.select(one_of(pl.col("v"), values)).to_series().to_list()
        assert actual == expected, (frame, values)

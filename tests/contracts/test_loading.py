import json
import time

import pytest

from products.contracts import MAX_DEPTH, MAX_DOCUMENT_BYTES, DocumentInvalid, load_document

BILLION_LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_before_expansion() -> None:
    assert len(BILLION_LAUGHS.encode()) == 342
    started = time.perf_counter()
    with pytest.raises(DocumentInvalid) as raised:
        load_document(BILLION_LAUGHS)
    assert time.perf_counter() - started < 0.5
    assert raised.value.code == "document_invalid"


def test_anchor_without_alias_is_refused_with_its_position() -> None:
    with pytest.raises(DocumentInvalid, match=r"anchors.*line 2, column 4"):
        load_document("a: 1\nb: &x {c: 1}\n")


def test_alias_is_refused() -> None:
    with pytest.raises(DocumentInvalid, match="aliases"):
        load_document("a: *x\n")


def test_document_over_one_mebibyte_is_refused() -> None:
    with pytest.raises(DocumentInvalid, match="larger"):
        load_document("a: '" + "x" * MAX_DOCUMENT_BYTES + "'\n")


def test_size_limit_counts_utf8_bytes_not_characters() -> None:
    with pytest.raises(DocumentInvalid, match="larger"):
        load_document("a: '" + "é" * (MAX_DOCUMENT_BYTES // 2 + 1) + "'\n")


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5),
        '{"a": ' + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "}",
        '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["yaml", "json", "json-past-recursion-limit"],
)
def test_nesting_deeper_than_the_limit_is_refused(text: str) -> None:
    with pytest.raises(DocumentInvalid, match="nested deeper"):
        load_document(text)


def test_nesting_at_the_limit_is_accepted() -> None:
    depth = MAX_DEPTH - 1  # the top-level mapping is the first level
    data, _ = load_document('{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}")
    assert "a" in data


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text", "", "[1, 2]", "42"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    with pytest.raises(DocumentInvalid, match="mapping"):
        load_document(text)


def test_bad_yaml_reports_line_and_column() -> None:
    with pytest.raises(DocumentInvalid, match=r"line 3, column \d+"):
        load_document("a: 1\nb: [1, 2\nc: 3\n")


def test_bad_json_reports_line_and_column() -> None:
    with pytest.raises(DocumentInvalid, match=r"line 2, column 9"):
        load_document('{"a": 1,\n "b": 2,}')


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(DocumentInvalid, match="Duplicate key 'a'"):
        load_document("a: 1\na: 2\n")
    with pytest.raises(DocumentInvalid, match="Duplicate key 'a'"):
        load_document('{"a": 1, "a": 2}')


def test_unsafe_yaml_tags_are_refused() -> None:
    with pytest.raises(DocumentInvalid):
        load_document("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(DocumentInvalid, match="binary"):
        load_document("a: !!binary aGVsbG8=\n")


def test_yaml_dates_stay_strings_so_the_result_is_json_serialisable() -> None:
    data, fmt = load_document("day: 2024-01-01\nat: 2024-01-01T10:00:00Z\n")
    assert fmt == "yaml"
    assert data == {"day": "2024-01-01", "at": "2024-01-01T10:00:00Z"}
    json.dumps(data)


def test_json_is_detected_by_its_leading_brace() -> None:
    assert load_document('\n  {"a": [1, 2]}') == ({"a": [1, 2]}, "json")
    assert load_document("a: {b: 1}") == ({"a": {"b": 1}}, "yaml")


def test_json_nan_is_refused() -> None:
    with pytest.raises(DocumentInvalid, match="NaN"):
        load_document('{"a": NaN}')


def test_multiple_yaml_documents_are_refused() -> None:
    with pytest.raises(DocumentInvalid):
        load_document("a: 1\n---\nb: 2\n")

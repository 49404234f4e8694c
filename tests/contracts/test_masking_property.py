"""A property's `masking` custom property: how its value is hidden from readers without
clearance (access grants) — read, checked and diffed like the rest of the contract."""

import pytest

from meshplatform.errors import Invalid
from products.contracts import diff_contracts, parse_contract

DOC = """apiVersion: v3.1.0
kind: DataContract
id: c
version: 1.0.0
status: active
schema:
- name: t
  properties:
  - name: email
    logicalType: string
    classification: restricted
    customProperties: [{property: masking, value: %s}]
"""


def test_masking_is_normalised_in_lower_case() -> None:
    assert parse_contract(DOC % "Redact").normalized["fields"][0]["masking"] == "redact"


def test_unknown_masking_is_refused_with_its_path() -> None:
    with pytest.raises(Invalid) as error:
        parse_contract(DOC % "hsah")
    assert "schema[0].properties[0].customProperties[0].value" in error.value.fields


def test_a_masking_change_shows_in_the_diff() -> None:
    old = parse_contract(DOC % "hash").normalized
    new = parse_contract(DOC % "redact").normalized
    assert [change.kind for change in diff_contracts(old, new)] == ["masking_changed"]

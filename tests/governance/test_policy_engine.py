"""The pure policy engine: built-ins, CEL, targets and moments, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.policy import compile_policy
from governance.policy.view import build_view, contract_part, product_part, run_part
from meshplatform.errors import Invalid
from products.contracts import parse_contract
from tests.factories import odcs_document

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def view(
    *,
    description: str = "Every confirmed order, one row per order.",
    owner: str | None = "sam",
    tags: tuple[str, ...] = (),
    classification: str = "internal",
    status: str = "active",
    pipeline: dict[str, Any] | None = None,
    contract: str | None = None,
    run: dict[str, Any] | None = None,
    published: datetime | None = None,
    grants: list[dict[str, Any]] | None = None,
    auto_grant: bool = False,
) -> dict[str, Any]:
    parsed = parse_contract(contract) if contract else None
    return build_view(
        product=product_part(
            address="sales/orders", title="Orders", description=description, owner=owner,
            tags=list(tags), classification=classification, status=status,
            pipeline=pipeline, last_published_at=published, auto_grant=auto_grant,
        ),
        contract=None if parsed is None else contract_part(
            contract_id=parsed.contract_id, version=parsed.version, normalized=parsed.normalized
        ),
        run=run,
        grants=grants or [],
        now=NOW,
    )  # fmt: skip


def verdict(rule: dict[str, Any], v: dict[str, Any]) -> bool:
    return compile_policy(rule, None).evaluate(v).passed


SLA = {
    "slaProperties": [
        {"property": "freshness", "value": 1, "unit": "d"},
        {"property": "retention", "value": 400, "unit": "d"},
    ]
}
SENSITIVE: list[dict[str, Any]] = [
    {"name": "email", "logicalType": "string", "classification": "restricted",
     "customProperties": [{"property": "masking", "value": "hash"}]},
    {"name": "phone", "logicalType": "string", "tags": ["pii"]},
]  # fmt: skip


def test_owner_and_description() -> None:
    rule = {"builtin": "owner_and_description", "params": {"minLength": 20}}
    assert verdict(rule, view())
    assert not verdict(rule, view(description="short"))
    assert not verdict(rule, view(owner=None))


def test_quality_rules_count_schema_and_property_rules_and_skip_products_without_contract() -> None:
    rule = {"builtin": "quality_rules", "params": {"min": 2}}
    one = odcs_document(
        properties=[{"name": "a", "logicalType": "string",
                     "quality": [{"type": "library", "metric": "nullValues", "mustBe": 0}]}]
    )  # fmt: skip
    assert not verdict(rule, view(contract=one))
    assert verdict({"builtin": "quality_rules", "params": {"min": 1}}, view(contract=one))
    assert verdict(rule, view(contract=None))  # not applicable yet


def test_sensitive_fields_need_a_classification_and_a_masking() -> None:
    rule = {"builtin": "sensitive_fields_masked"}
    contract = odcs_document(properties=SENSITIVE)
    outcome = compile_policy(rule, None).evaluate(view(contract=contract))
    assert not outcome.passed and "phone" in outcome.message and "email" not in outcome.message
    redact = [{"property": "masking", "value": "redact"}]
    fixed = [
        SENSITIVE[0],
        {**SENSITIVE[1], "classification": "restricted", "customProperties": redact},
    ]
    assert verdict(rule, view(contract=odcs_document(properties=fixed)))


def test_sla_declared_and_max_retention() -> None:
    with_sla, without = view(contract=odcs_document(**SLA)), view(contract=odcs_document())
    assert verdict({"builtin": "sla_declared"}, with_sla)
    assert not verdict({"builtin": "sla_declared"}, without)
    assert verdict({"builtin": "max_retention", "params": {"days": 400}}, with_sla)
    assert not verdict({"builtin": "max_retention", "params": {"days": 365}}, with_sla)
    assert not verdict({"builtin": "max_retention", "params": {"days": 365}}, without)


def test_breaking_change_needs_a_major_version() -> None:
    parsed = parse_contract(odcs_document(version="1.1.0"))
    part = contract_part(
        contract_id="orders", version="1.1.0", normalized=parsed.normalized,
        previous_version="1.0.0", breaking_changes=[{"kind": "field_removed"}],
    )  # fmt: skip
    v = view()
    v["contract"] = part
    assert not verdict({"builtin": "breaking_needs_major"}, v)
    v["contract"] = {**part, "major": 2, "version": "2.0.0"}
    assert verdict({"builtin": "breaking_needs_major"}, v)


def test_restricted_products_grant_only_with_approval() -> None:
    rule = {"builtin": "restricted_needs_approval"}
    grant = {"consumer": "carl", "clearance": "internal", "automatic": True, "approved": False,
             "expiresAt": None}  # fmt: skip
    assert verdict(rule, view(classification="internal", grants=[grant]))
    assert not verdict(rule, view(classification="restricted", grants=[grant]))
    assert not verdict(rule, view(classification="restricted", auto_grant=True))
    approved = {**grant, "automatic": False, "approved": True}
    assert verdict(rule, view(classification="restricted", grants=[approved]))


def test_time_series_outputs_are_partitioned_by_time() -> None:
    rule = {"builtin": "time_series_partitioned"}
    by_date = {"load": {"mode": "append", "partitionBy": [{"dateOf": "ts"}]}}
    by_key = {"load": {"mode": "append", "partitionBy": ["country"]}}
    assert verdict(rule, view(tags=("orders",)))
    assert verdict(rule, view(tags=("time-series",), pipeline=by_date))
    assert not verdict(rule, view(tags=("time-series",), pipeline=by_key))
    assert not verdict(rule, view(tags=("time-series",)))


def test_quarantine_rate_of_the_last_run() -> None:
    rule = {"builtin": "quarantine_rate", "params": {"maxPercent": 2}}
    good = run_part(status="succeeded", rows_read=100, rows_written=99, rows_quarantined=1,
                    finished_at=NOW)  # fmt: skip
    bad = {**good, "quarantinePercent": 2.0}
    assert verdict(rule, view(run=None))
    assert verdict(rule, view(run=good))
    assert not verdict(rule, view(run=bad))  # "under 2 %": 2 % is not under


def test_freshness_against_the_sla() -> None:
    rule = {"builtin": "freshness_met"}
    pipeline = {"load": {"mode": "append"}}
    contract = odcs_document(**SLA)
    fresh = view(contract=contract, pipeline=pipeline, published=NOW - timedelta(hours=3))
    stale = view(contract=contract, pipeline=pipeline, published=NOW - timedelta(days=2))
    never = view(contract=contract, pipeline=pipeline)
    assert verdict(rule, fresh)
    assert not verdict(rule, stale)
    assert not verdict(rule, never)
    assert verdict(rule, view(contract=contract, pipeline=pipeline, status="draft"))


def test_moments_follow_what_a_rule_reads() -> None:
    assert compile_policy({"builtin": "owner_and_description"}, None).moments == {
        "change", "run", "sweep",
    }  # fmt: skip
    assert compile_policy({"builtin": "quarantine_rate"}, None).moments == {"run", "sweep"}
    assert compile_policy({"builtin": "freshness_met"}, None).moments == {"sweep"}
    assert compile_policy({"cel": "run == null"}, None).moments == {"run", "sweep"}
    assert compile_policy({"cel": "now > now"}, None).moments == {"sweep"}


def test_targets_pick_products() -> None:
    v = view(tags=("pii",), classification="confidential")
    rule = {"builtin": "sla_declared"}
    assert compile_policy(rule, {"kind": "tag", "values": ["pii"]}).applies(v)
    assert not compile_policy(rule, {"kind": "tag", "values": ["finance"]}).applies(v)
    assert compile_policy(rule, {"kind": "classification", "values": ["confidential"]}).applies(v)
    assert compile_policy(rule, {"kind": "domain", "values": ["sales"]}).applies(v)
    assert not compile_policy(rule, {"kind": "domain", "values": ["hr"]}).applies(v)


@pytest.mark.parametrize(
    ("rule", "target", "field"),
    [
        ({"cel": "1 +"}, None, "rule.cel"),
        ({"cel": "secrets.key == ''"}, None, "rule.cel"),
        ({"cel": "x" * 1001}, None, "rule.cel"),
        ({"cel": "contract.fields.all(a, contract.fields.all(b, contract.fields.all(c, true)))"},
         None, "rule.cel"),
        ({"builtin": "nope"}, None, "rule.builtin"),
        ({"builtin": "max_retention", "params": {"days": "a year"}}, None, "rule.params.days"),
        ({"builtin": "max_retention", "params": {"days": 0}}, None, "rule.params.days"),
        ({"builtin": "quality_rules", "params": {"minimum": 1}}, None, "rule.params.minimum"),
        ({"builtin": "sla_declared", "cel": "true"}, None, "rule"),
        ({"builtin": "sla_declared"}, {"kind": "colour", "values": ["red"]}, "target.kind"),
        ({"builtin": "sla_declared"}, {"kind": "tag", "values": []}, "target.values"),
    ],
)  # fmt: skip
def test_bad_rules_and_targets_are_refused_with_the_field(rule, target, field) -> None:
    with pytest.raises(Invalid) as error:
        compile_policy(rule, target)
    assert field in error.value.fields


def test_an_expression_that_fails_or_is_not_boolean_is_a_failed_verdict() -> None:
    assert not verdict({"cel": "product.owner"}, view())
    outcome = compile_policy({"cel": "product.lastPublishedAt < now"}, None).evaluate(view())
    assert not outcome.passed and "could not be evaluated" in outcome.message


def test_a_cel_rule_says_its_own_message() -> None:
    rule = {"cel": "'reviewed' in product.tags", "message": "Tag it reviewed after a review."}
    assert compile_policy(rule, None).evaluate(view()).message == "Tag it reviewed after a review."


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@given(
    # ASCII: this CEL implementation's size() of a string counts UTF-8 bytes, not characters.
    description=st.text(st.characters(codec="ascii"), max_size=60).map(str.strip),
    owner=st.none() | st.sampled_from(["sam", "ünïcødé"]),
    tags=st.lists(st.sampled_from(["pii", "time-series", "orders", "ä"]), unique=True),
    classification=st.sampled_from(["public", "internal", "confidential", "restricted"]),
    minimum=st.integers(0, 80),
)
def test_cel_over_the_view_agrees_with_the_built_ins(
    description, owner, tags, classification, minimum
) -> None:
    """For any product, CEL spellings of built-ins give the built-ins' verdicts."""
    v = view(description=description, owner=owner, tags=tuple(tags), classification=classification)
    assert verdict(
        {"cel": f"product.owner != null && size(product.description) >= {minimum}"}, v
    ) == verdict({"builtin": "owner_and_description", "params": {"minLength": minimum}}, v)
    assert verdict({"cel": "'time-series' in product.tags == product.timeSeries"}, v)
    assert verdict(
        {"cel": "product.classification != 'restricted' || !product.autoGrant"}, v
    ) == verdict({"builtin": "restricted_needs_approval"}, v)

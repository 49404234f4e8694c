from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from governance.models import AuditEvent
from meshplatform.errors import Conflict, Forbidden, Invalid
from products import services
from products.contracts import BreakingChange
from products.models import ContractVersion, DataProduct, Status, status_path
from tests.factories import odcs_document

BREAKING = odcs_document(
    version="1.1.0",
    properties=[
        {"name": "order_id", "logicalType": "string", "required": True, "unique": True,
         "primaryKey": True, "primaryKeyPosition": 1},
        {"name": "amount", "logicalType": "integer", "required": True},
    ],
)  # fmt: skip


def test_engineer_registers_a_draft_product_owned_by_them(people) -> None:
    product = services.register_product(
        domain=people.sales, slug="leads", title="Leads", tags=["CRM ", "crm", "web"],
        actor=people.engineer,
    )  # fmt: skip
    assert product.status == Status.DRAFT and product.owner == people.engineer
    assert sorted(product.tags.values_list("name", flat=True)) == ["crm", "web"]
    event = AuditEvent.objects.get(action="product.registered")
    assert event.after["address"] == "sales/leads"


@pytest.mark.parametrize("who", ["viewer", "outsider", "governance"])
def test_non_editors_cannot_register_update_or_publish(people, who) -> None:
    actor = getattr(people, who)
    with pytest.raises(Forbidden):
        services.register_product(domain=people.sales, slug="leads", title="Leads", actor=actor)
    with pytest.raises(Forbidden):
        services.update_product(product=people.internal, title="Hijacked", actor=actor)
    with pytest.raises(Forbidden):
        services.publish_contract(product=people.internal, document=odcs_document(), actor=actor)
    assert not DataProduct.objects.filter(slug="leads").exists()
    assert DataProduct.objects.get(pk=people.internal.pk).title == people.internal.title
    assert not ContractVersion.objects.exists() and not AuditEvent.objects.exists()


def test_duplicate_slug_and_unknown_classification_are_refused(people) -> None:
    with pytest.raises(Conflict):
        services.register_product(
            domain=people.sales, slug="orders", title="Again", actor=people.owner
        )
    with pytest.raises(Invalid) as error:
        services.register_product(
            domain=people.sales,
            slug="new",
            title="New",
            classification="secret",
            actor=people.owner,
        )
    assert "classification" in error.value.fields


def test_publish_keeps_the_document_verbatim_and_becomes_current(people) -> None:
    text = odcs_document() + "# a comment the author wants kept\n"
    version = services.publish_contract(
        product=people.internal, document=text, actor=people.engineer
    )
    assert ContractVersion.objects.get(pk=version.pk).document == text
    assert DataProduct.objects.get(pk=people.internal.pk).current_contract == version
    assert AuditEvent.objects.filter(action="contract.published").count() == 1


def test_breaking_change_without_major_bump_is_refused_with_the_changes(people) -> None:
    services.publish_contract(
        product=people.internal, document=odcs_document(), actor=people.engineer
    )
    with pytest.raises(BreakingChange) as error:
        services.publish_contract(product=people.internal, document=BREAKING, actor=people.engineer)
    kinds = {(change["path"], change["kind"]) for change in error.value.detail["changes"]}
    assert ("orders.note", "field_removed") in kinds
    assert any(path.startswith("orders.amount") and kind == "type_changed" for path, kind in kinds)
    assert ContractVersion.objects.count() == 1


def test_breaking_change_with_major_bump_is_published_with_its_diff(people) -> None:
    services.publish_contract(
        product=people.internal, document=odcs_document(), actor=people.engineer
    )
    major = BREAKING.replace("version: 1.1.0", "version: 2.0.0")
    version = services.publish_contract(
        product=people.internal, document=major, actor=people.engineer
    )
    assert version.major == 2 and version.breaking_changes


def test_republishing_a_version_or_another_contract_id_is_refused(people) -> None:
    services.publish_contract(
        product=people.internal, document=odcs_document(), actor=people.engineer
    )
    with pytest.raises(Conflict):
        services.publish_contract(
            product=people.internal, document=odcs_document(), actor=people.engineer
        )
    with pytest.raises(Conflict):
        services.publish_contract(
            product=people.internal, document=odcs_document("other", "2.0.0"), actor=people.engineer
        )
    assert ContractVersion.objects.count() == 1


def test_published_versions_cannot_be_changed_even_by_the_orm(people) -> None:
    services.publish_contract(
        product=people.internal, document=odcs_document(), actor=people.engineer
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        ContractVersion.objects.update(document="rewritten")
    assert ContractVersion.objects.get().document == odcs_document()


def test_status_moves_only_along_legal_transitions(people) -> None:
    product = people.internal
    with pytest.raises(Conflict, match="contract"):
        services.change_status(product=product, status=Status.ACTIVE, actor=people.engineer)
    services.publish_contract(product=product, document=odcs_document(), actor=people.engineer)
    with pytest.raises(Conflict):
        services.change_status(product=product, status=Status.DEPRECATED, actor=people.engineer)
    for status in (Status.ACTIVE, Status.DEPRECATED, Status.RETIRED):
        services.change_status(product=product, status=status, actor=people.engineer)
    with pytest.raises(Conflict):
        services.change_status(product=product, status=Status.ACTIVE, actor=people.engineer)
    assert DataProduct.objects.get(pk=product.pk).status == Status.RETIRED


def test_status_path_finds_the_legal_steps() -> None:
    assert status_path("draft", "deprecated") == ["active", "deprecated"]
    assert status_path("retired", "active") == []


def test_a_product_owner_must_work_in_its_domain(people) -> None:
    with pytest.raises(Invalid) as error:
        services.register_product(
            domain=people.sales,
            slug="leads",
            title="Leads",
            owner=people.outsider,
            actor=people.owner,
        )
    assert "owner" in error.value.fields
    with pytest.raises(Invalid):
        services.update_product(product=people.internal, owner=people.viewer, actor=people.owner)
    services.update_product(product=people.internal, owner=people.engineer, actor=people.owner)
    assert DataProduct.objects.get(pk=people.internal.pk).owner == people.engineer


def test_a_retired_product_takes_no_new_contract_or_edit(people) -> None:
    product = people.internal
    services.publish_contract(product=product, document=odcs_document(), actor=people.engineer)
    for status in (Status.ACTIVE, Status.DEPRECATED, Status.RETIRED):
        services.change_status(product=product, status=status, actor=people.engineer)
    with pytest.raises(Conflict, match="retired"):
        services.publish_contract(
            product=product, document=odcs_document(version="1.1.0"), actor=people.engineer
        )
    with pytest.raises(Conflict, match="retired"):
        services.update_product(product=product, title="Renamed", actor=people.engineer)
    assert ContractVersion.objects.count() == 1
    assert DataProduct.objects.get(pk=product.pk).title == product.title


def test_a_stale_copy_saved_after_a_publish_keeps_the_current_contract(people) -> None:
    stale = DataProduct.objects.get(pk=people.internal.pk)
    services.publish_contract(
        product=people.internal, document=odcs_document(), actor=people.engineer
    )
    services.update_product(product=stale, title="Renamed", actor=people.engineer)
    fresh = DataProduct.objects.get(pk=people.internal.pk)
    assert fresh.title == "Renamed"
    assert fresh.current_contract is not None


def test_an_update_that_changes_nothing_writes_nothing(people) -> None:
    updated_at = DataProduct.objects.get(pk=people.internal.pk).updated_at
    services.update_product(
        product=people.internal, title=people.internal.title, actor=people.owner
    )
    assert DataProduct.objects.get(pk=people.internal.pk).updated_at == updated_at
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("slug", ["Big_Orders", "-orders", "orders-", "ü", "a" * 64])
def test_every_interface_shares_one_slug_rule(people, slug) -> None:
    with pytest.raises(Invalid):
        services.register_product(domain=people.sales, slug=slug, title="X", actor=people.owner)


@pytest.mark.parametrize(
    "value", ["minimum: .inf", "minimum: .nan", 'description: "nul \\u0000 inside"']
)
def test_hostile_values_in_a_contract_are_refused_with_the_field(people, value) -> None:
    document = odcs_document().replace("status: active", f"status: active\n{value}")
    with pytest.raises(Invalid) as error:
        services.publish_contract(product=people.internal, document=document, actor=people.engineer)
    assert error.value.fields
    assert not ContractVersion.objects.exists()


def test_classifying_a_product_confidential_turns_its_auto_grant_off(people) -> None:
    DataProduct.objects.filter(pk=people.internal.pk).update(auto_grant=True)
    product = DataProduct.objects.get(pk=people.internal.pk)
    services.update_product(product=product, actor=people.engineer, classification="confidential")
    assert DataProduct.objects.get(pk=product.pk).auto_grant is False
    assert AuditEvent.objects.filter(action="product.auto_grant_changed").count() == 1

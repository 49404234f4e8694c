"""Product pages: register, the product page and its tabs, status, publish, raw, diff."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance.models import AuditEvent
from products.contracts import MAX_DOCUMENT_BYTES
from products.models import ContractVersion, DataProduct, Status
from products.services import publish_contract
from tests.factories import odcs_document
from tests.portal.helpers import orders_without

pytestmark = pytest.mark.django_db

PUBLISH = "/p/sales/orders/contracts/new/"


def test_register_form_offers_only_the_domains_the_user_edits(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    body = client.get("/products/new/").content.decode()
    assert '<option value="sales" selected>' in body  # the only one: chosen already
    assert 'value="hr"' not in body


def test_register_form_tells_a_viewer_what_to_do_instead(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.viewer)
    body = client.get("/products/new/").content.decode()
    assert "You cannot register products in any domain yet." in body
    assert '<form method="post" class="form"' not in body


def test_register_shows_errors_next_to_their_fields(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.engineer)
    response = client.post("/products/new/", {"domain": "sales", "slug": "Not A Slug"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_title_error"' in body
    assert 'aria-invalid="true"' in body
    assert not DataProduct.objects.filter(title="").exists()


def test_register_shows_a_taken_slug_from_the_service_on_the_slug_field(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    response = client.post(
        "/products/new/",
        {"domain": "sales", "slug": "orders", "title": "Again", "classification": "internal"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["slug"] == ["Already taken in this domain."]
    assert "&#x27;sales/orders&#x27; already exists." in response.content.decode()


def test_product_page_shows_overview_and_schema(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    client.force_login(people.viewer)
    body = client.get("/p/sales/orders/").content.decode()
    assert '<a href="/domains/sales/">sales</a>' in body  # breadcrumbs
    assert "A product made by a test." in body
    assert "<code>order_id</code>" in body
    assert "length ≤ 200" in body and "≥ 0" in body
    assert "Lifecycle:" not in body  # a viewer gets no status buttons
    assert "Publish a contract version" not in body


def test_editor_gets_status_buttons_for_legal_steps_only(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    body = client.get("/p/sales/orders/").content.decode()
    assert 'value="active"' in body and 'value="retired"' in body
    assert 'value="deprecated"' not in body  # not from draft


def test_status_change_calls_the_service_and_says_so(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    response = client.post("/p/sales/orders/status/", {"status": Status.ACTIVE}, follow=True)
    assert "sales/orders is now active." in response.content.decode()
    people.internal.refresh_from_db()
    assert people.internal.status == Status.ACTIVE
    assert AuditEvent.objects.last().action == "product.status_changed"


def test_activating_without_a_contract_shows_the_services_reason(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    response = client.post("/p/sales/orders/status/", {"status": Status.ACTIVE}, follow=True)
    assert "Publish a contract before activating the product." in response.content.decode()
    people.internal.refresh_from_db()
    assert people.internal.status == Status.DRAFT


def test_publish_by_paste_adds_a_version_and_shows_it(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.engineer)
    response = client.post(PUBLISH, {"document": odcs_document("orders")}, follow=True)
    assert response.redirect_chain[-1][0] == "/p/sales/orders/?tab=versions"
    body = response.content.decode()
    assert "Published version 1.0.0 of sales/orders." in body
    assert "current</span>" in body


def test_publish_by_file_upload(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.engineer)
    upload = SimpleUploadedFile("orders.yaml", odcs_document("orders").encode(), "application/yaml")
    response = client.post(PUBLISH, {"document": "", "file": upload})
    assert response.status_code == 302
    assert ContractVersion.objects.get(product=people.internal).version == "1.0.0"


def test_publish_refuses_a_file_over_one_mebibyte(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.engineer)
    upload = SimpleUploadedFile("big.yaml", b"#" * (MAX_DOCUMENT_BYTES + 1))
    response = client.post(PUBLISH, {"file": upload})
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["The file is larger than 1 MiB."]
    assert not ContractVersion.objects.exists()


def test_publish_without_a_document_asks_for_one(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.engineer)
    response = client.post(PUBLISH, {"document": "  "})
    assert response.status_code == 400
    assert "Paste a contract here or choose a file below." in response.content.decode()


def test_publish_lists_the_documents_problems_by_path_next_to_the_textarea(
    client: Any, people: SimpleNamespace
) -> None:
    document = odcs_document("orders", properties=[{"name": "when", "logicalType": "datetime"}])
    client.force_login(people.engineer)
    response = client.post(PUBLISH, {"document": document})
    assert response.status_code == 400
    body = response.content.decode()
    assert "The document is not a valid ODCS v3 data contract." in body
    assert "<code>schema[0].properties[0].logicalType</code>" in body
    assert "logicalType: datetime" in body  # the text is kept for fixing
    assert not ContractVersion.objects.exists()


def test_publish_lists_breaking_changes_and_keeps_the_text(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    events = AuditEvent.objects.count()
    document = orders_without("note", "1.1.0")
    response = client.post(PUBLISH, {"document": document})
    assert response.status_code == 400
    body = response.content.decode()
    assert "needs a major version bump (to 2.0.0 or later)" in body
    assert '<span class="badge badge--breaking">breaking</span> <code>orders.note</code>' in body
    assert response.context["form"]["document"].value() == document
    assert ContractVersion.objects.filter(product=people.internal).count() == 1
    assert AuditEvent.objects.count() == events


def test_versions_tab_lists_publisher_date_and_breaking_count(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    publish_contract(
        product=people.internal, document=orders_without("note", "2.0.0"), actor=people.owner
    )
    client.force_login(people.viewer)
    body = client.get("/p/sales/orders/?tab=versions").content.decode()
    assert "2.0.0" in body and "olivia" in body and "ethan" in body
    assert "1 breaking" in body
    assert "/p/sales/orders/diff/?from=1.0.0&amp;to=2.0.0" in body
    assert "/p/sales/orders/contracts/1.0.0/raw/" in body


def test_raw_document_is_the_stored_text(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    client.force_login(people.viewer)
    response = client.get("/p/sales/orders/contracts/1.0.0/raw/")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == contracts.orders.document
    assert client.get("/p/sales/orders/contracts/9.9.9/raw/").status_code == 404


def test_diff_lists_changes_with_breaking_badge_and_both_documents(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    publish_contract(
        product=people.internal, document=orders_without("note", "2.0.0"), actor=people.owner
    )
    client.force_login(people.viewer)
    response = client.get("/p/sales/orders/diff/")
    assert (response.context["old"].version, response.context["new"].version) == ("1.0.0", "2.0.0")
    body = response.content.decode()
    assert '<span class="badge badge--breaking">breaking</span>' in body
    assert "<code>orders.note</code>" in body
    assert body.count("version: 1.0.0") == 1 and body.count("version: 2.0.0") == 1
    kinds = {row.kind for row in response.context["rows"]}
    assert {"equal", "replace", "delete"} <= kinds


def test_diff_can_compare_any_two_versions_either_way(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    publish_contract(
        product=people.internal, document=orders_without("note", "2.0.0"), actor=people.owner
    )
    client.force_login(people.viewer)
    response = client.get("/p/sales/orders/diff/?from=2.0.0&to=1.0.0")
    changes = response.context["changes"]
    assert [change.kind for change in changes if change.path == "orders.note"]
    assert client.get("/p/sales/orders/diff/?from=7.0.0&to=1.0.0").context.get("old") is None


def test_diff_with_one_version_says_there_is_nothing_to_compare(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    client.force_login(people.viewer)
    body = client.get("/p/sales/orders/diff/").content.decode()
    assert "Nothing to compare yet." in body


def test_a_pasted_document_beyond_the_upload_limit_gets_a_readable_400(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.engineer)
    response = client.post(PUBLISH, {"document": "#" * (3 * 1024 * 1024)})
    assert response.status_code == 400
    assert "a contract document is limited to 1 MiB" in response.content.decode()
    assert not ContractVersion.objects.exists()


def test_an_oversized_upload_is_refused_before_it_is_read(people, client) -> None:
    client.force_login(people.engineer)
    big = SimpleUploadedFile("contract.yaml", b"x" * (3 * 1024 * 1024))
    response = client.post("/p/sales/orders/contracts/new/", {"file": big})
    assert response.status_code == 400
    assert not ContractVersion.objects.exists()

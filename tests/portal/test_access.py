"""Who sees what, page by page, and who may submit what: the portal's permission matrix."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from domains.models import Membership, Role
from governance.models import AuditEvent
from products.models import DataProduct, Status
from tests.dbstate import database_state
from tests.factories import odcs_document
from tests.portal.helpers import ROLES, login_as

pytestmark = pytest.mark.django_db

ALL = (200, 200, 200, 200, 200, 200)
MEMBERS_AND_COUNCIL = (404, 200, 200, 200, 200, 200)  # sales' restricted product
# Expected status per role, in the order of ROLES:
#   outsider, viewer, engineer, owner, governance, admin
PAGES: list[tuple[str, tuple[int, ...]]] = [
    ("/", ALL),
    ("/domains/", ALL),
    ("/domains/sales/", ALL),
    ("/domains/new/", (403, 403, 403, 403, 200, 200)),
    ("/products/new/", ALL),
    ("/p/sales/orders/", ALL),
    ("/p/sales/orders/?tab=versions", ALL),
    ("/p/sales/orders/diff/", ALL),
    ("/p/sales/orders/contracts/1.0.0/raw/", ALL),
    ("/p/sales/orders/contracts/new/", (403, 403, 200, 200, 403, 200)),
    ("/p/sales/payroll-links/", MEMBERS_AND_COUNCIL),
    ("/p/sales/payroll-links/?tab=versions", MEMBERS_AND_COUNCIL),
    ("/p/sales/payroll-links/diff/", MEMBERS_AND_COUNCIL),
    ("/p/sales/payroll-links/contracts/1.0.0/raw/", MEMBERS_AND_COUNCIL),
    ("/p/sales/payroll-links/contracts/new/", (404, 403, 200, 200, 403, 200)),
    ("/p/hr/salaries/", (200, 404, 404, 404, 200, 200)),
    ("/audit/", ALL),
]
POSTS = [
    "/products/new/",
    "/p/sales/orders/status/",
    "/p/sales/orders/contracts/new/",
    "/domains/new/",
    "/domains/sales/members/",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "expected"), PAGES)
def test_each_page_answers_each_role_as_the_matrix_says(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace, url: str,
    expected: tuple[int, ...], role: str,
) -> None:  # fmt: skip
    login_as(client, people, role)
    assert client.get(url).status_code == expected[ROLES.index(role)]


@pytest.mark.parametrize("url", [url for url, _ in PAGES])
def test_anonymous_visitors_are_sent_to_sign_in(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace, url: str
) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", POSTS)
def test_anonymous_posts_change_nothing(client: Any, people: SimpleNamespace, url: str) -> None:
    events = AuditEvent.objects.count()
    response = client.post(url, {"slug": "x", "title": "X", "domain": "sales", "status": "retired"})
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert AuditEvent.objects.count() == events


def test_outsider_does_not_find_a_restricted_product_in_the_catalog(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.outsider)
    body = client.get("/").content.decode()
    assert "sales/orders" in body
    assert "payroll-links" not in body
    assert "hr/salaries" in body  # restricted, but the outsider owns hr


@pytest.mark.parametrize(
    ("role", "sees_payroll", "sees_salaries"),
    [("viewer", True, False), ("engineer", True, False), ("governance", True, True),
     ("admin", True, True)],
)  # fmt: skip
def test_catalog_lists_restricted_products_to_members_and_council_only(
    client: Any, people: SimpleNamespace, role: str, sees_payroll: bool, sees_salaries: bool
) -> None:
    client.force_login(getattr(people, role))
    body = client.get("/").content.decode()
    assert ("sales/payroll-links" in body) is sees_payroll
    assert ("hr/salaries" in body) is sees_salaries


def test_domain_page_hides_restricted_products_from_outsiders(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.outsider)
    body = client.get("/domains/sales/").content.decode()
    assert "sales/orders" in body
    assert "payroll-links" not in body


def state() -> dict[str, list[dict[str, Any]]]:
    return database_state()


REGISTER = {"domain": "sales", "slug": "returns", "title": "Returns", "classification": "internal",
            "tags": "finance, returns"}  # fmt: skip


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("outsider", False), ("viewer", False), ("engineer", True), ("owner", True),
     ("governance", False), ("admin", True)],
)  # fmt: skip
def test_registering_a_product_in_sales_needs_an_engineer_or_owner(
    client: Any, people: SimpleNamespace, role: str, allowed: bool
) -> None:
    client.force_login(getattr(people, role))
    before = state()
    response = client.post("/products/new/", REGISTER)
    if allowed:
        assert response.status_code == 302
        assert response.url == "/p/sales/returns/"
        product = DataProduct.objects.get(domain__slug="sales", slug="returns")
        assert sorted(tag.name for tag in product.tags.all()) == ["finance", "returns"]
        assert AuditEvent.objects.last().action == "product.registered"
    else:
        assert response.status_code == 403
        assert state() == before


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("outsider", False), ("viewer", False), ("engineer", True), ("owner", True),
     ("governance", False), ("admin", True)],
)  # fmt: skip
def test_publishing_a_contract_needs_an_engineer_or_owner(
    client: Any, people: SimpleNamespace, role: str, allowed: bool
) -> None:
    client.force_login(getattr(people, role))
    before = state()
    response = client.post("/p/sales/orders/contracts/new/", {"document": odcs_document("orders")})
    if allowed:
        assert response.status_code == 302
        people.internal.refresh_from_db()
        assert people.internal.current_contract.version == "1.0.0"
    else:
        assert response.status_code == 403
        assert state() == before


def test_outsider_cannot_even_find_where_to_publish_a_restricted_contract(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.outsider)
    before = state()
    response = client.post("/p/sales/payroll-links/contracts/new/", {"document": odcs_document()})
    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("role", ["outsider", "viewer", "governance"])
def test_only_editors_change_a_product_status(
    client: Any, people: SimpleNamespace, role: str
) -> None:
    client.force_login(getattr(people, role))
    before = state()
    response = client.post("/p/sales/orders/status/", {"status": Status.RETIRED})
    assert response.status_code == 403
    assert state() == before
    people.internal.refresh_from_db()
    assert people.internal.status == Status.DRAFT


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("outsider", False), ("viewer", False), ("engineer", False), ("owner", True),
     ("governance", False), ("admin", True)],
)  # fmt: skip
def test_only_owners_and_admins_add_members(
    client: Any, people: SimpleNamespace, role: str, allowed: bool
) -> None:
    client.force_login(getattr(people, role))
    before = state()
    response = client.post("/domains/sales/members/", {"username": "grace", "role": Role.VIEWER})
    if allowed:
        assert response.status_code == 302
        assert Membership.objects.filter(domain=people.sales, user=people.governance).exists()
    else:
        assert response.status_code == 403
        assert state() == before


@pytest.mark.parametrize("action", ["role", "remove"])
@pytest.mark.parametrize("role", ["outsider", "viewer", "engineer", "governance"])
def test_only_owners_and_admins_change_or_remove_members(
    client: Any, people: SimpleNamespace, role: str, action: str
) -> None:
    membership = Membership.objects.get(domain=people.sales, user=people.viewer)
    client.force_login(getattr(people, role))
    before = state()
    response = client.post(f"/domains/sales/members/{membership.pk}/{action}/", {"role": "owner"})
    assert response.status_code == 403
    assert state() == before
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("outsider", False), ("viewer", False), ("engineer", False), ("owner", False),
     ("governance", True), ("admin", True)],
)  # fmt: skip
def test_only_the_council_and_admins_create_domains(
    client: Any, people: SimpleNamespace, role: str, allowed: bool
) -> None:
    client.force_login(getattr(people, role))
    before = state()
    response = client.post(
        "/domains/new/", {"slug": "finance", "name": "Finance", "owner_username": "olivia"}
    )
    if allowed:
        assert response.status_code == 302
        assert response.url == "/domains/finance/"
        assert Membership.objects.get(domain__slug="finance").user == people.owner
    else:
        assert response.status_code == 403
        assert state() == before


def test_forbidden_page_says_why(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.viewer)
    response = client.post("/products/new/", REGISTER)
    assert response.status_code == 403
    assert "Only engineers and owners of &#x27;sales&#x27;" in response.content.decode()

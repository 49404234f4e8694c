"""Who may publish and read contracts: the permission matrix of the contract endpoints."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from governance.models import AuditEvent
from products.models import ContractVersion
from products.services import publish_contract
from tests.api.conftest import API, error_of
from tests.dbstate import database_state
from tests.factories import odcs_document

Client = Callable[[str], APIClient]
RESTRICTED = f"{API}/products/sales/payroll-links/contracts/"


@pytest.fixture
def restricted_contract(people: SimpleNamespace) -> ContractVersion:
    publish_contract(
        product=people.restricted,
        document=odcs_document("payroll-links", version="1.0.0"),
        actor=people.engineer,
    )
    return publish_contract(
        product=people.restricted,
        document=odcs_document("payroll-links", version="1.1.0", description={"purpose": "P."}),
        actor=people.engineer,
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 403), ("viewer", 403), ("governance", 403),
     ("engineer", 201), ("owner", 201), ("admin", 201)],
)  # fmt: skip
def test_only_a_domains_engineers_owners_and_admins_publish_contracts(
    client_for: Client, people: SimpleNamespace, who: str, status: int
) -> None:
    before = database_state()

    response = client_for(who).post(
        f"{API}/products/sales/orders/contracts/",
        data=odcs_document(version="1.0.0"),
        content_type="application/yaml",
    )

    assert response.status_code == status, response.content
    if status != 201:
        error_of(response)
        assert database_state() == before
        return
    version = ContractVersion.objects.get(product=people.internal)
    assert version.published_by == getattr(people, who)
    assert AuditEvent.objects.filter(action="contract.published").count() == 1


def test_an_outsider_publishing_to_a_restricted_product_gets_404(client_for: Client) -> None:
    before = database_state()

    response = client_for("outsider").post(
        RESTRICTED, data=odcs_document("payroll-links"), content_type="application/yaml"
    )

    assert response.status_code == 404
    error_of(response)
    assert database_state() == before


READS = [
    RESTRICTED,
    f"{RESTRICTED}1.0.0/",
    f"{RESTRICTED}1.0.0/?format=odcs",
    f"{RESTRICTED}diff/?from=1.0.0&to=1.1.0",
]


@pytest.mark.parametrize("url", READS)
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 404), ("viewer", 200), ("engineer", 200),
     ("owner", 200), ("governance", 200), ("admin", 200)],
)  # fmt: skip
def test_a_restricted_products_contracts_are_read_only_by_those_who_see_it(
    client_for: Client, restricted_contract: ContractVersion, url: str, who: str, status: int
) -> None:
    response = client_for(who).get(url)

    assert response.status_code == status
    if status != 200:
        error_of(response)


@pytest.mark.parametrize("who", ["outsider", "viewer", "governance"])
def test_everyone_signed_in_reads_an_internal_products_contracts(
    client_for: Client, people: SimpleNamespace, who: str
) -> None:
    publish_contract(product=people.internal, document=odcs_document(), actor=people.owner)

    listing = client_for(who).get(f"{API}/products/sales/orders/contracts/")
    exported = client_for(who).get(f"{API}/products/sales/orders/contracts/1.0.0/?format=odcs")

    assert [v["version"] for v in listing.json()["results"]] == ["1.0.0"]
    assert exported.content == odcs_document().encode()

"""The governance dashboard and its drill-down in the portal."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance import services
from products.models import DataProduct
from tests.factories import ProductFactory

WARN = {"builtin": "owner_and_description", "params": {"minLength": 30}}


@pytest.fixture
def judged(people) -> None:
    services.create_policy(
        actor=people.governance, domain=None, slug="described", title="Products are described",
        description="Describe the product in at least 30 characters.", severity="warning",
        rule=WARN,
    )  # fmt: skip
    DataProduct.objects.update(description="")
    services.sweep()


@pytest.mark.parametrize("who", ["anonymous", "outsider", "viewer", "governance"])
def test_dashboard_needs_a_sign_in_and_shows_the_right_domains(client, people, judged, who) -> None:
    if who != "anonymous":
        client.force_login(getattr(people, who))
    response = client.get("/governance/")
    if who == "anonymous":
        assert response.status_code == 302
        return
    page = response.content.decode()
    assert response.status_code == 200
    assert "Score per domain" in page and "<svg" in page
    shows_sales = "?domain=sales&amp;state=failing" in page
    assert shows_sales == (who in {"viewer", "governance"})


def test_dashboard_queries_do_not_grow_with_products(client, people, judged) -> None:
    client.force_login(people.governance)
    client.get("/governance/")
    with CaptureQueriesContext(connection) as few:
        client.get("/governance/")
    for n in range(25):
        ProductFactory(domain=people.hr, slug=f"p{n}", description="")
    services.sweep()
    with CaptureQueriesContext(connection) as many:
        assert client.get("/governance/").status_code == 200
    assert len(many) == len(few)


def test_the_drill_down_lists_the_failing_products_of_a_domain(client, people, judged) -> None:
    client.force_login(people.viewer)
    page = client.get("/governance/verdicts/?domain=sales&state=failing").content.decode()
    assert "sales/orders" in page and "hr/salaries" not in page
    hidden = client.get("/governance/verdicts/?domain=hr&state=failing").content.decode()
    assert "hr/salaries" not in hidden  # not the viewer's domain

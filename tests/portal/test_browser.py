"""In Chromium, what an engineer does: register a product, publish its contract, have a
breaking change refused as a minor version and accepted as a major one, then read the diff."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domains.models import Domain, Role
from products.services import register_product
from tests.factories import PASSWORD, DomainFactory, MembershipFactory, UserFactory, odcs_document
from tests.portal.helpers import orders_without

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls
# from it unless told that this is deliberate. At import time, not in a fixture: the session's
# database set-up and tear-down run beside that loop too.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def sales_engineer(transactional_db: None) -> Any:
    """`people` needs the `db` fixture, which the live server cannot see: build ours committed."""
    sales = DomainFactory(slug="sales", name="Sales")
    return MembershipFactory(
        domain=sales, user=UserFactory(username="ethan"), role=Role.ENGINEER
    ).user


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def publish(page: Page, document: str) -> None:
    page.get_by_label("Contract document").fill(document)
    page.get_by_role("button", name="Publish", exact=True).click()


def test_engineer_registers_publishes_and_reviews_a_breaking_change(
    live_server: Any, page: Page, sales_engineer: Any
) -> None:
    sign_in(page, f"{live_server.url}/", "ethan")
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalog")

    page.get_by_role("link", name="Register a product").click()
    page.get_by_label("Domain").select_option("sales")
    page.get_by_label("Slug").fill("web-orders")
    page.get_by_label("Title").fill("Web orders")
    page.get_by_label("Tags").fill("finance, orders")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(f"{live_server.url}/p/sales/web-orders/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Web orders")
    expect(page.get_by_text("No contract published yet.")).to_be_visible()

    page.get_by_role("link", name="Publish a contract version").click()
    publish(page, odcs_document("web-orders", "1.0.0"))
    expect(page.get_by_role("status")).to_contain_text(
        "Published version 1.0.0 of sales/web-orders."
    )

    page.get_by_role("link", name="Publish a contract version").click()
    breaking = orders_without("note", "1.1.0", contract_id="web-orders")
    publish(page, breaking)
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Not published.")
    expect(refusal).to_contain_text("needs a major version bump (to 2.0.0 or later)")
    expect(refusal.get_by_role("listitem")).to_have_count(1)
    expect(refusal.get_by_role("listitem")).to_contain_text("orders.note")
    expect(page.get_by_label("Contract document")).to_have_value(breaking)

    publish(page, breaking.replace("version: 1.1.0", "version: 2.0.0"))
    expect(page.get_by_role("status")).to_contain_text("Published version 2.0.0")
    expect(page).to_have_url(f"{live_server.url}/p/sales/web-orders/?tab=versions")
    latest = page.locator("tbody tr").first
    expect(latest).to_contain_text("2.0.0")
    expect(latest).to_contain_text("current")
    expect(latest).to_contain_text("1 breaking")
    expect(page.locator("tbody tr")).to_have_count(2)

    latest.get_by_role("link", name="Diff with 1.0.0").click()
    expect(page.get_by_role("heading", name=re.compile(r"from 1\.0\.0 to 2\.0\.0"))).to_be_visible()
    changes = page.locator("ul.changes > li")
    expect(changes.filter(has_text="orders.note")).to_contain_text("breaking")
    expect(page.get_by_role("region", name="The two documents side by side")).to_contain_text(
        "version: 2.0.0"
    )


def test_catalog_search_refreshes_the_results_in_place(
    live_server: Any, page: Page, sales_engineer: Any
) -> None:
    sales = Domain.objects.get(slug="sales")
    for slug in ("orders", "refunds"):
        register_product(domain=sales, slug=slug, title=slug.title(), actor=sales_engineer)
    sign_in(page, f"{live_server.url}/", "ethan")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Search").fill("refu")
    expect(page.get_by_role("status")).to_have_text("1 product matches your search")
    expect(page.locator("#results")).not_to_contain_text("sales/orders")
    expect(page).to_have_url(re.compile(r"\?q=refu"))
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped, no reload

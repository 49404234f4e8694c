"""In Chromium, the governance loop: the council enables a policy, a product fails it, its
owner asks for a waiver, the council approves it, and the dashboard's score goes up."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from domains.models import Role
from tests.factories import (
    PASSWORD,
    DomainFactory,
    MembershipFactory,
    ProductFactory,
    UserFactory,
    make_governance,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def mesh(transactional_db: None) -> None:
    sales = DomainFactory(slug="sales", name="Sales")
    owner = MembershipFactory(domain=sales, user=UserFactory(username="olivia"), role=Role.OWNER)
    make_governance(UserFactory(username="grace"))
    ProductFactory(domain=sales, slug="orders", owner=owner.user, description="Short.")
    ProductFactory(
        domain=sales, slug="customers", owner=owner.user,
        description="Customer master data, deduplicated across channels.",
    )  # fmt: skip


def sign_in(page: Page, url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def score(page: Page) -> str:
    return page.locator("[data-figure=score] .figure__value").inner_text()


def test_council_policy_waiver_and_score(live_server: Any, page: Page, mesh: None) -> None:
    sign_in(page, f"{live_server.url}/governance/policies/new/", "grace")
    page.get_by_label("Slug").fill("described")
    page.get_by_label("Applies to").select_option("global")
    page.get_by_label("Title").fill("Products are described")
    page.get_by_label("Description").fill("Describe the product in at least 30 characters.")
    page.get_by_label("Severity").select_option("blocking")
    page.get_by_label("Rule").fill("builtin: owner_and_description\nparams: {minLength: 30}")
    page.get_by_role("button", name="Try on every product").click()
    expect(page.get_by_test_id("draft-report")).to_contain_text("This would fail 1 of 2 products")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("policy-failing")).to_have_text("1 of 2 products failing")

    page.goto(f"{live_server.url}/governance/")
    before = score(page)
    assert before == "50.0 %"

    sign_in(page, f"{live_server.url}/governance/verdicts/?state=failing", "olivia")
    expect(page.get_by_role("cell", name="sales/orders")).to_be_visible()
    page.get_by_role("link", name="Ask for a waiver").click()
    page.get_by_label("Reason").fill("The description is being rewritten with the data team.")
    until = (timezone.now() + timedelta(days=30)).date().isoformat()
    page.get_by_label("Until").fill(until)
    page.get_by_role("button", name="Ask the council").click()
    expect(page.get_by_role("cell", name="Requested")).to_be_visible()

    sign_in(page, f"{live_server.url}/governance/waivers/", "grace")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("cell", name="Approved")).to_be_visible()
    page.goto(f"{live_server.url}/governance/")
    assert score(page) == "100.0 %"

"""In Chromium, with a real worker: Run now, watch it finish, read why rows were quarantined,
and preview what was published."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.pipeline.helpers import orders_product
from tests.portal.test_browser import sign_in

# See tests/portal/test_browser.py: Playwright's event loop shares the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_engineer_runs_a_product_and_reviews_its_quarantine_and_output(
    live_server: Any, page: Page, engineer: Any, lake_dirs: dict[str, Path]
) -> None:
    orders_product(
        engineer,
        {
            "inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}],
        },
    )
    (lake_dirs["landing"] / "orders").mkdir()
    (lake_dirs["landing"] / "orders" / "1.csv").write_text(
        "order_id,amount,country\n1,10,FR\n2,-5,FR\n3,7,DE\n"
    )

    sign_in(page, f"{live_server.url}/p/sales/orders/runs/", "ethan")
    page.get_by_role("button", name="Run now").click()
    row = page.get_by_role("region", name="Recent runs").locator("tbody tr").first
    expect(row).to_contain_text("Succeeded", timeout=30_000)
    expect(row).to_contain_text("2")  # written

    row.get_by_role("link").first.click()
    expect(page.locator(".run-inputs")).to_contain_text("orders/1.csv")  # what it read
    quarantine = page.locator("section[aria-labelledby=quarantine-title]")
    expect(quarantine).to_contain_text("-5")  # the row as read
    expect(quarantine).to_contain_text("amount:minimum")  # and the rule it broke

    page.goto(f"{live_server.url}/p/sales/orders/data/")
    preview = page.locator("table.preview")
    expect(preview).to_contain_text("FR")
    expect(preview.locator("tbody tr")).to_have_count(2)

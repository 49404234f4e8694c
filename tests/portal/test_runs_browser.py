"""In Chromium: the Runs tab follows a running run live, without reloading, to its end."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from domains.models import Role
from products.models import Provisioning, Run, Status
from tests.factories import DomainFactory, MembershipFactory, ProductFactory, UserFactory
from tests.portal.test_browser import sign_in

# See test_browser.py: Playwright's event loop shares the test thread with the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def running(transactional_db: None) -> Run:
    """sales/orders, active and provisioned, with a run in its first stage (all committed,
    for the live server to see)."""
    sales = DomainFactory(slug="sales", name="Sales")
    MembershipFactory(domain=sales, user=UserFactory(username="vera"), role=Role.VIEWER)
    product = ProductFactory(
        domain=sales,
        slug="orders",
        title="Orders",
        status=Status.ACTIVE,
        provisioning=Provisioning.READY,
        pipeline={"inputs": [{"name": "orders", "files": {"path": "o.csv", "format": "csv"}}]},
    )
    return Run.objects.create(
        product=product,
        trigger=Run.Trigger.SCHEDULE,
        status=Run.Status.RUNNING,
        stage=Run.Stage.EXTRACT,
        started_at=timezone.now(),
    )


def test_runs_tab_follows_a_running_run_to_its_end_without_reloading(
    live_server: Any, page: Page, running: Run
) -> None:
    sign_in(page, f"{live_server.url}/p/sales/orders/runs/", "vera")
    progress = page.locator(f"#run-progress-{running.pk}")
    bar = progress.get_by_role("progressbar")
    expect(progress).to_contain_text("Stage: Extract")
    expect(bar).to_have_attribute("value", "1")
    page.evaluate("window.stillTheSamePage = true")

    Run.objects.filter(pk=running.pk).update(stage=Run.Stage.VALIDATE, rows_read=5000)
    expect(progress).to_contain_text("Stage: Validate")
    expect(progress).to_contain_text("5000 rows read")
    expect(bar).to_have_attribute("value", "3")

    Run.objects.filter(pk=running.pk).update(
        status=Run.Status.SUCCEEDED,
        stage=Run.Stage.DONE,
        finished_at=timezone.now(),
        rows_read=5200,
        rows_written=5190,
        rows_quarantined=10,
    )
    expect(progress).to_contain_text(f"Run #{running.pk} succeeded.")
    expect(progress).to_contain_text("5190 written")
    # The table below refreshes once the run has ended.
    row = page.get_by_role("region", name="Recent runs").locator("tbody tr").first
    expect(row).to_contain_text("Succeeded")
    expect(row).to_contain_text("5190")
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped, no reload
    # Polling has stopped: the finished partial carries no trigger.
    expect(page.locator("[hx-trigger='every 1s']")).to_have_count(0)

"""Run-time policies, in-process on the database and real Delta tables: a blocking failure
holds the output unpublished with its reasons; after the run, its verdicts are recorded."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from deltalake import DeltaTable

from governance import services
from governance.models import Evaluation
from products.models import DataProduct, Run
from products.tables import output_port, spec_of, table_uri
from tests.products.test_run_jobs import inbox, ready, run_now  # noqa: F401 - fixture

QUARANTINE = {"builtin": "quarantine_rate", "params": {"maxPercent": 10}}


def half_bad_orders(people: SimpleNamespace, inbox: Path, severity: str) -> DataProduct:  # noqa: F811
    """sales/orders fed a CSV whose second row is bad (50 % quarantined), under a policy of
    `severity` that wants under 10 %."""
    (inbox / "sales" / "orders.csv").write_text("order_id,amount\no-1,10\no-2,abc\n")
    orders = ready(people.internal, people.engineer, {
        "inputs": [{"name": "orders", "files": {"path": "*.csv"}}],
    })  # fmt: skip
    services.create_policy(
        actor=people.governance, domain=None, slug="clean", title="Runs are clean",
        description="Fix the source so that fewer than 10 % of rows are quarantined.",
        severity=severity, rule=QUARANTINE,
    )  # fmt: skip
    return orders


def test_a_blocking_run_policy_holds_the_output_and_says_why(
    people: SimpleNamespace,
    inbox: Path,  # noqa: F811
) -> None:
    orders = half_bad_orders(people, inbox, "blocking")
    output = table_uri("sales", "orders", output_port(orders, spec_of(orders)))
    before = DeltaTable(output).version()
    run = run_now(orders, people.engineer)
    assert run.status == Run.Status.HELD
    assert "policy global:clean" in run.error and "50.00 %" in run.error
    assert DeltaTable(output).version() == before
    at_run = Evaluation.objects.get(moment="run", run=run)
    assert not at_run.passed
    # After the run the product is judged again, the run being held: still failing.
    assert Evaluation.objects.get(product=orders, current=True).passed is False


def test_a_warning_run_policy_lets_the_run_publish_and_records_the_verdict(
    people: SimpleNamespace,
    inbox: Path,  # noqa: F811
) -> None:
    orders = half_bad_orders(people, inbox, "warning")
    run = run_now(orders, people.engineer)
    assert run.status == Run.Status.SUCCEEDED and run.rows_written == 1
    assert not Evaluation.objects.get(moment="run", run=run).passed

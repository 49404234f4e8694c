"""`mesh check`: a domain team's CI judges its files on the policies; nothing is saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from governance import services
from products.models import DataProduct
from tests.factories import odcs_document

DESCRIPTOR = """apiVersion: v1.0.0
kind: DataProduct
id: returns
domain: sales
name: Returns
status: draft
description: {purpose: %s}
outputPorts: [{name: main, contractId: returns}]
"""


@pytest.fixture
def files(tmp_path: Path):
    def write(purpose: str) -> Path:
        (tmp_path / "product.yaml").write_text(DESCRIPTOR % purpose)
        (tmp_path / "contract.yaml").write_text(odcs_document(contract_id="returns"))
        return tmp_path

    return write


@pytest.fixture
def described(people) -> None:
    services.create_policy(
        actor=people.governance, domain=None, slug="described", title="Products are described",
        description="Describe the product in at least 30 characters.", severity="blocking",
        rule={"builtin": "owner_and_description", "params": {"minLength": 30}},
    )  # fmt: skip


def test_a_blocking_failure_exits_non_zero_and_says_how_to_comply(
    people, described, files, capsys
) -> None:
    with pytest.raises(CommandError, match="1 blocking policy failures"):
        call_command("mesh", "check", "-f", str(files("Short.")), "--as", "ethan")
    out = capsys.readouterr().out
    assert "BLOCKING sales/returns  global:described" in out
    assert "how to comply: Describe the product" in out
    assert not DataProduct.objects.filter(slug="returns").exists()


def test_compliant_files_pass_and_are_not_saved(people, described, files, capsys) -> None:
    call_command(
        "mesh", "check", "-f", str(files("Returned items with their reason, one per row.")),
        "--as", "ethan",
    )  # fmt: skip
    assert "no blocking failure" in capsys.readouterr().out
    assert not DataProduct.objects.filter(slug="returns").exists()

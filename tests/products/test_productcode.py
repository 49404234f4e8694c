from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.models import AuditEvent, Evaluation, Policy
from products.models import ContractVersion, DataProduct, Port, Status
from tests.factories import odcs_document

DESCRIPTOR = {
    "apiVersion": "v1.0.0",
    "kind": "DataProduct",
    "id": "leads",
    "name": "Sales leads",
    "domain": "sales",
    "status": "active",
    "description": {"purpose": "Leads from the web forms."},
    "tags": ["crm"],
    "customProperties": [{"property": "classification", "value": "confidential"}],
    "outputPorts": [{"name": "main", "contractId": "leads"}],
}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "product.yaml").write_text(yaml.safe_dump(DESCRIPTOR))
    (tmp_path / "contract.yaml").write_text(odcs_document("leads", "1.0.0"))
    return tmp_path


def test_apply_creates_the_product_contract_ports_and_status(people, files, capsys) -> None:
    call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    product = DataProduct.objects.get(domain__slug="sales", slug="leads")
    assert (product.title, product.classification, product.status) == (
        "Sales leads", "confidential", Status.ACTIVE,
    )  # fmt: skip
    assert product.current_contract.version == "1.0.0"
    assert list(Port.objects.filter(product=product).values_list("name", "contract_id")) == [
        ("main", "leads")
    ]
    assert "sales/leads: registered" in capsys.readouterr().out


def test_applying_the_same_files_twice_changes_nothing(people, files, capsys) -> None:
    call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    events = AuditEvent.objects.count()
    call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    assert AuditEvent.objects.count() == events
    assert ContractVersion.objects.count() == 1
    assert capsys.readouterr().out.strip().endswith("unchanged: nothing to do")


def test_export_then_apply_round_trips_byte_for_byte(people, files, tmp_path) -> None:
    call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    out = tmp_path / "export"
    call_command("mesh", "export", "sales/leads", "-o", str(out))
    exported = out / "sales" / "leads"
    assert (exported / "contract-1.0.0.yaml").read_bytes() == (files / "contract.yaml").read_bytes()
    events = AuditEvent.objects.count()
    call_command("mesh", "apply", "-f", str(exported), "--as", "ethan")
    assert AuditEvent.objects.count() == events


def test_apply_as_a_viewer_is_refused_and_changes_nothing(people, files) -> None:
    with pytest.raises(CommandError, match="engineers and owners"):
        call_command("mesh", "apply", "-f", str(files), "--as", "vera")
    assert not DataProduct.objects.filter(slug="leads").exists()
    assert not AuditEvent.objects.exists()


def test_apply_refuses_a_changed_document_under_a_published_version(people, files) -> None:
    call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    (files / "contract.yaml").write_text(
        odcs_document("leads", "1.0.0", description={"purpose": "x"})
    )
    with pytest.raises(CommandError, match="already published with other content"):
        call_command("mesh", "apply", "-f", str(files), "--as", "ethan")


def test_apply_is_all_or_nothing_when_the_contract_is_invalid(people, files) -> None:
    (files / "contract.yaml").write_text(odcs_document("leads", "not-semver"))
    with pytest.raises(CommandError, match="version"):
        call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    assert not DataProduct.objects.filter(slug="leads").exists()


def test_demo_mesh_loads_once_and_again_without_changes(db) -> None:
    call_command("mesh", "demo")
    assert DataProduct.objects.count() == 8
    assert DataProduct.objects.values("domain").distinct().count() == 3
    # The council's demo policies judge every product: some fail on purpose, none blocks.
    assert Policy.objects.count() == 5
    assert Evaluation.objects.filter(current=True, passed=False).exists()
    assert not Evaluation.objects.filter(current=True, passed=False, severity="blocking").exists()
    events, verdicts = AuditEvent.objects.count(), Evaluation.objects.count()
    call_command("mesh", "demo")
    assert AuditEvent.objects.count() == events
    assert Evaluation.objects.count() == verdicts


def test_apply_refuses_unknown_keys_instead_of_dropping_them(people, files) -> None:
    descriptor = {**DESCRIPTOR, "classification": "restricted"}
    (files / "product.yaml").write_text(yaml.safe_dump(descriptor))
    with pytest.raises(CommandError, match="classification: Unknown field"):
        call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    custom = {**DESCRIPTOR, "customProperties": [{"property": "clasification", "value": "x"}]}
    (files / "product.yaml").write_text(yaml.safe_dump(custom))
    with pytest.raises(CommandError, match="customProperties"):
        call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    assert not DataProduct.objects.filter(slug="leads").exists()


def test_apply_leaves_fields_the_descriptor_omits_as_they_are(people, tmp_path) -> None:
    restricted = people.restricted  # sales/payroll-links, restricted
    descriptor = {"apiVersion": "v1.0.0", "kind": "DataProduct", "id": restricted.slug,
                  "domain": "sales", "name": "Payroll links"}  # fmt: skip
    (tmp_path / "product.yaml").write_text(yaml.safe_dump(descriptor))
    call_command("mesh", "apply", "-f", str(tmp_path), "--as", "ethan")
    product = DataProduct.objects.get(pk=restricted.pk)
    assert (product.title, product.classification) == ("Payroll links", "restricted")


def test_reapplying_the_same_files_does_not_touch_updated_at(people, files) -> None:
    call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    updated_at = DataProduct.objects.get(slug="leads").updated_at
    call_command("mesh", "apply", "-f", str(files), "--as", "ethan")
    assert DataProduct.objects.get(slug="leads").updated_at == updated_at

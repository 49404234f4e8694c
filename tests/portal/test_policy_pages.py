"""Policies and waivers in the portal: who may add and change, drafts, waivers decided."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import services
from governance.models import Evaluation, Policy, Waiver
from products.models import DataProduct

FORM = {
    "slug": "described", "scope": "global", "title": "Products are described",
    "description": "Describe the product in at least 30 characters.", "severity": "warning",
    "target_kind": "all", "target_values": "",
    "rule": "builtin: owner_and_description\nparams: {minLength: 30}", "enabled": "on",
}  # fmt: skip


@pytest.mark.parametrize(
    ("who", "status"),
    # Owners (hr's outsider too) get the form back: "global" is not among their choices.
    [("governance", 302), ("admin", 302), ("owner", 200), ("outsider", 200), ("engineer", 403),
     ("viewer", 403)],
)  # fmt: skip
def test_who_adds_a_global_policy(client, people, who, status) -> None:
    client.force_login(getattr(people, who))
    response = client.post("/governance/policies/new/", {**FORM, "save": "1"})
    assert response.status_code == status
    assert Policy.objects.filter(scope="global").exists() == (status == 302)


def test_an_owner_adds_a_policy_to_their_domain_only(client, people) -> None:
    client.force_login(people.owner)
    page = client.get("/governance/policies/new/").content.decode()
    assert 'value="sales"' in page and 'value="global"' not in page and 'value="hr"' not in page
    response = client.post("/governance/policies/new/", {**FORM, "scope": "sales", "save": "1"})
    assert response.status_code == 302
    assert Policy.objects.get().domain == people.sales


def test_trying_a_draft_shows_what_it_would_fail_and_saves_nothing(client, people) -> None:
    DataProduct.objects.update(description="")
    client.force_login(people.governance)
    page = client.post("/governance/policies/new/", {**FORM, "try": "1"}).content.decode()
    assert "This would fail" in page and "sales/orders" in page
    assert not Policy.objects.exists()


def test_a_bad_rule_shows_next_to_the_field(client, people) -> None:
    client.force_login(people.governance)
    page = client.post(
        "/governance/policies/new/", {**FORM, "rule": '{"cel": "product.owner =="}', "save": "1"}
    ).content.decode()
    assert "does not parse" in page
    assert not Policy.objects.exists()


def test_a_domain_owner_cannot_change_a_global_policy(client, people) -> None:
    policy = services.create_policy(
        actor=people.governance, domain=None, slug="described", title="Described",
        description=FORM["description"], severity="warning",
        rule={"builtin": "owner_and_description"},
    )  # fmt: skip
    client.force_login(people.owner)
    assert (
        client.post(f"/governance/policies/{policy.pk}/", {**FORM, "save": "1"}).status_code == 403
    )
    assert "Save" not in client.get(f"/governance/policies/{policy.pk}/").content.decode()


def test_owner_asks_for_a_waiver_and_the_council_approves_it(client, people) -> None:
    DataProduct.objects.filter(pk=people.internal.pk).update(description="")
    policy = services.create_policy(
        actor=people.governance, domain=None, slug="described", title="Described",
        description=FORM["description"], severity="blocking",
        rule={"builtin": "owner_and_description", "params": {"minLength": 30}},
    )  # fmt: skip
    client.force_login(people.owner)
    verdicts = client.get("/governance/verdicts/?state=failing").content.decode()
    link = f"/governance/policies/{policy.pk}/waive/sales/orders/"
    assert link in verdicts
    until = (timezone.now() + timedelta(days=30)).date().isoformat()
    assert client.post(link, {"reason": "Docs rewrite.", "until": until}).status_code == 302
    waiver = Waiver.objects.get()
    client.force_login(people.owner)
    assert (
        client.post(f"/governance/waivers/{waiver.pk}/decide/", {"decision": "approve"}).status_code
        == 403
    )
    client.force_login(people.governance)
    client.post(f"/governance/waivers/{waiver.pk}/decide/", {"decision": "approve"})
    assert Waiver.objects.get().status == Waiver.Status.APPROVED
    assert Evaluation.objects.get(product=people.internal, current=True).waived


def test_the_product_compliance_tab_and_warnings_after_a_portal_change(client, people) -> None:
    services.create_policy(
        actor=people.governance, domain=None, slug="described", title="Described",
        description="Describe the product in at least 30 characters.", severity="warning",
        rule={"builtin": "owner_and_description", "params": {"minLength": 30}},
    )  # fmt: skip
    client.force_login(people.engineer)
    response = client.post(
        "/products/new/",
        {"domain": "sales", "slug": "returns", "title": "Returns", "description": "Short.",
         "classification": "internal", "tags": ""},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    assert "Warning from policy Described" in page
    tab = client.get("/p/sales/returns/?tab=compliance").content.decode()
    assert "failed" in tab and "How to comply: Describe the product" in tab
    assert "Ask for a waiver" not in tab  # engineers do not ask; owners do
    client.force_login(people.owner)
    assert "Ask for a waiver" in client.get("/p/sales/returns/?tab=compliance").content.decode()

"""The governance API: policies, drafts, CI checks, verdicts, waivers and dashboard figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.models import Evaluation, Policy, Waiver
from governance.services import sweep
from products.models import DataProduct
from tests.api.conftest import ACTORS, API, error_of
from tests.factories import ProductFactory, odcs_document

DESCRIBED = {"builtin": "owner_and_description", "params": {"minLength": 30}}
BODY = {
    "slug": "described", "title": "Products are described", "severity": "blocking",
    "description": "Describe the product in at least 30 characters.", "rule": DESCRIBED,
}  # fmt: skip


@pytest.mark.parametrize("who", ["anonymous", *ACTORS])
def test_who_creates_a_global_policy(client_for, who) -> None:
    response = client_for(who).post(f"{API}/policies/", BODY, format="json")
    expected = {"anonymous": 401, "governance": 201, "admin": 201}.get(who, 403)
    assert response.status_code == expected, response.content
    assert Policy.objects.exists() == (expected == 201)


def test_owners_create_their_domains_policies_and_see_them(client_for) -> None:
    body = {**BODY, "domain": "sales"}
    assert client_for("engineer").post(f"{API}/policies/", body, format="json").status_code == 403
    created = client_for("owner").post(f"{API}/policies/", body, format="json")
    assert created.status_code == 201 and created.json()["scope"] == "domain"
    slugs = [p["slug"] for p in client_for("viewer").get(f"{API}/policies/").json()["results"]]
    assert slugs == ["described"]
    assert client_for("outsider").get(f"{API}/policies/").json()["results"] == []


def test_a_bad_rule_or_unknown_field_is_a_400_with_the_field(client_for) -> None:
    council = client_for("governance")
    response = council.post(f"{API}/policies/", {**BODY, "rule": {"cel": "1 +"}}, format="json")
    assert response.status_code == 400 and "rule.cel" in error_of(response)["fields"]
    response = council.post(f"{API}/policies/", {**BODY, "colour": "red"}, format="json")
    assert response.status_code == 400 and "colour" in error_of(response)["fields"]
    assert not Policy.objects.exists()


def test_switching_a_global_policy_off_is_the_councils_alone(client_for) -> None:
    pk = client_for("governance").post(f"{API}/policies/", BODY, format="json").json()["id"]
    refused = client_for("owner").patch(f"{API}/policies/{pk}/", {"enabled": False}, format="json")
    assert refused.status_code == 403
    done = client_for("governance").patch(
        f"{API}/policies/{pk}/", {"enabled": False}, format="json"
    )
    assert done.status_code == 200 and done.json()["version"] == 2
    assert not Policy.objects.get(pk=pk).enabled


def test_registration_refused_by_a_blocking_policy_is_a_422_naming_it(client_for) -> None:
    client_for("governance").post(f"{API}/policies/", BODY, format="json")
    response = client_for("engineer").post(
        f"{API}/products/",
        {"domain": "sales", "slug": "returns", "title": "Returns", "description": "Short."},
        format="json",
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "policy_failed"
    assert error["policies"][0]["howToComply"] == BODY["description"]
    assert not DataProduct.objects.filter(slug="returns").exists()


def test_a_draft_says_what_it_would_fail(client_for) -> None:
    response = client_for("governance").post(
        f"{API}/policies/try/", {"rule": DESCRIBED}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["summary"].startswith("This would fail")
    assert (
        client_for("owner")
        .post(f"{API}/policies/try/", {"rule": DESCRIBED}, format="json")
        .status_code
        == 403
    )


def test_check_judges_files_without_saving_them(client_for) -> None:
    client_for("governance").post(f"{API}/policies/", BODY, format="json")
    descriptor = (
        "apiVersion: v1.0.0\nkind: DataProduct\nid: returns\ndomain: sales\nname: Returns\n"
        "status: draft\ndescription: {purpose: Short.}\n"
        "outputPorts: [{name: main, contractId: returns}]\n"
    )
    files = [{"name": "product.yaml", "text": descriptor},
             {"name": "contract.yaml", "text": odcs_document(contract_id="returns")}]  # fmt: skip
    response = client_for("engineer").post(
        f"{API}/policies/check/", {"files": files}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is False
    assert [v["policy"] for v in body["verdicts"] if not v["passed"]] == ["global:described"]
    assert not DataProduct.objects.filter(slug="returns").exists()
    outsider = client_for("outsider").post(
        f"{API}/policies/check/", {"files": files}, format="json"
    )
    assert outsider.status_code == 403


def test_waiver_flow_and_compliance_through_the_api(client_for, people) -> None:
    pk = (
        client_for("governance")
        .post(f"{API}/policies/", {**BODY, "severity": "warning"}, format="json")
        .json()["id"]
    )
    DataProduct.objects.filter(pk=people.internal.pk).update(description="")
    body = {"policy": pk, "product": "sales/orders", "reason": "Docs being rewritten.",
            "until": (timezone.now() + timedelta(days=10)).isoformat()}  # fmt: skip
    assert client_for("engineer").post(f"{API}/waivers/", body, format="json").status_code == 403
    asked = client_for("owner").post(f"{API}/waivers/", body, format="json")
    assert asked.status_code == 201, asked.content
    waiver = asked.json()["id"]
    denied = client_for("owner").post(
        f"{API}/waivers/{waiver}/decision/", {"approve": True}, format="json"
    )
    assert denied.status_code == 403
    approved = client_for("governance").post(
        f"{API}/waivers/{waiver}/decision/", {"approve": True}, format="json"
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert Waiver.objects.get(pk=waiver).decided_by == people.governance
    (verdict,) = client_for("viewer").get(f"{API}/products/sales/orders/compliance/").json()
    assert verdict["waived"] is True and verdict["passed"] is False
    assert client_for("outsider").get(f"{API}/waivers/").json()["results"] == []


def test_dashboard_figures_are_scoped_and_constant_in_queries(client_for, people) -> None:
    client_for("governance").post(
        f"{API}/policies/", {**BODY, "severity": "warning"}, format="json"
    )
    sweep()
    council_client = client_for("governance")
    council_client.get(f"{API}/governance/dashboard/")  # the session settles
    with CaptureQueriesContext(connection) as few:
        council = council_client.get(f"{API}/governance/dashboard/").json()
    assert council["mesh"]["judged"] == Evaluation.objects.filter(current=True).count()
    for n in range(20):
        ProductFactory(domain=people.hr, slug=f"p{n}", description="")
    sweep()
    with CaptureQueriesContext(connection) as many:
        assert council_client.get(f"{API}/governance/dashboard/").json()["mesh"]["failing"] >= 20
    assert len(many) == len(few) <= 14
    outsider = client_for("outsider").get(f"{API}/governance/dashboard/").json()
    assert [d["domain"] for d in outsider["domains"]] == ["hr"]
    assert council["trend"][-1]["day"] == timezone.now().date().isoformat()


def test_evaluations_are_scoped_filtered_and_constant_in_queries(client_for, people) -> None:
    client_for("governance").post(
        f"{API}/policies/", {**BODY, "severity": "warning"}, format="json"
    )
    DataProduct.objects.update(description="")
    sweep()
    council = client_for("governance")
    council.get(f"{API}/evaluations/")
    with CaptureQueriesContext(connection) as few:
        everything = council.get(f"{API}/evaluations/?state=failing").json()
    assert {row["product"] for row in everything["results"]} == {
        product.address for product in DataProduct.objects.exclude(status="retired")
    }
    for n in range(20):
        ProductFactory(domain=people.hr, slug=f"p{n}", description="")
    sweep()
    with CaptureQueriesContext(connection) as many:
        council.get(f"{API}/evaluations/?state=failing")
    assert len(many) == len(few)
    mine = client_for("viewer").get(f"{API}/evaluations/?state=failing").json()["results"]
    assert {row["product"].split("/")[0] for row in mine} == {"sales"}
    none = client_for("viewer").get(f"{API}/evaluations/?domain=hr").json()["results"]
    assert none == []


READS = ["policies/", "evaluations/", "waivers/", "governance/dashboard/",
         "products/sales/orders/compliance/"]  # fmt: skip


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("who", ["anonymous", *ACTORS])
def test_every_signed_in_actor_reads_governance_and_anonymous_does_not(
    client_for, who, path
) -> None:
    response = client_for(who).get(f"{API}/{path}")
    assert response.status_code == (401 if who == "anonymous" else 200)


@pytest.mark.parametrize("who", ["anonymous", *ACTORS])
def test_who_tries_drafts_and_decides_waivers(client_for, people, who) -> None:
    pk = (
        client_for("governance")
        .post(f"{API}/policies/", {**BODY, "severity": "warning"}, format="json")
        .json()["id"]
    )
    waiver = client_for("owner").post(
        f"{API}/waivers/",
        {"policy": pk, "product": "sales/orders", "reason": "Docs rewrite.",
         "until": (timezone.now() + timedelta(days=5)).isoformat()},
        format="json",
    ).json()["id"]  # fmt: skip
    council = who in {"governance", "admin"}
    tried = client_for(who).post(f"{API}/policies/try/", {"rule": DESCRIBED}, format="json")
    assert tried.status_code == {"anonymous": 401}.get(who, 200 if council else 403)
    decided = client_for(who).post(
        f"{API}/waivers/{waiver}/decision/", {"approve": False}, format="json"
    )
    # Outsiders do not see sales' waivers at all: 404, as for anything they cannot see.
    expected = {"anonymous": 401, "outsider": 404}.get(who, 200 if council else 403)
    assert decided.status_code == expected
    assert Waiver.objects.get(pk=waiver).status == ("denied" if council else "requested")

"""Domain pages: list, a domain's members and products, managing members, new domains."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from domains.models import Domain, Membership, Role
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_domain_list_shows_counts_and_the_users_role(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.outsider)
    response = client.get("/domains/")
    rows = {domain.slug: (domain, role) for domain, role in response.context["domains"]}
    assert list(rows) == ["hr", "sales"]  # by name: People, Sales
    assert rows["hr"][1] == Role.OWNER
    assert rows["sales"][1] is None
    assert rows["sales"][0].member_count == 3
    assert rows["sales"][0].product_count == 1  # the restricted one is not counted for him


def test_owner_sees_member_forms_and_a_viewer_does_not(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.owner)
    assert "Add a member" in client.get("/domains/sales/").content.decode()
    client.force_login(people.viewer)
    body = client.get("/domains/sales/").content.decode()
    assert "Add a member" not in body
    assert "vera" in body and "viewer" in body


def test_owner_adds_a_member(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.owner)
    response = client.post(
        "/domains/sales/members/", {"username": "oscar", "role": "engineer"}, follow=True
    )
    assert "Added oscar as engineer." in response.content.decode()
    assert Membership.objects.get(domain=people.sales, user=people.outsider).role == Role.ENGINEER
    assert AuditEvent.objects.last().action == "member.added"


def test_adding_an_unknown_user_shows_the_error_on_the_username_field(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.owner)
    response = client.post("/domains/sales/members/", {"username": "nobody", "role": "viewer"})
    assert response.status_code == 400
    assert response.context["add_form"].errors["username"] == ["No such user."]


def test_owner_changes_a_role_and_removes_a_member(client: Any, people: SimpleNamespace) -> None:
    membership = Membership.objects.get(domain=people.sales, user=people.viewer)
    client.force_login(people.owner)
    client.post(f"/domains/sales/members/{membership.pk}/role/", {"role": "engineer"})
    membership.refresh_from_db()
    assert membership.role == Role.ENGINEER
    response = client.post(f"/domains/sales/members/{membership.pk}/remove/", follow=True)
    assert "Removed vera from sales." in response.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_last_owner_cannot_step_down_and_is_told_why(client: Any, people: SimpleNamespace) -> None:
    membership = Membership.objects.get(domain=people.sales, user=people.owner)
    client.force_login(people.owner)
    response = client.post(
        f"/domains/sales/members/{membership.pk}/role/", {"role": "viewer"}, follow=True
    )
    assert "A domain keeps at least one owner." in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_membership_of_another_domain_is_not_found(client: Any, people: SimpleNamespace) -> None:
    other = Membership.objects.get(domain=people.hr, user=people.outsider)
    client.force_login(people.admin)
    assert client.post(f"/domains/sales/members/{other.pk}/remove/").status_code == 404


def test_council_creates_a_domain_with_its_owner(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.governance)
    response = client.post(
        "/domains/new/",
        {"slug": "finance", "name": "Finance", "description": "Money.", "owner_username": "olivia"},
        follow=True,
    )
    assert "Created the domain finance." in response.content.decode()
    assert Domain.objects.get(slug="finance").description == "Money."


def test_new_domain_errors_from_the_service_go_next_to_their_fields(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.governance)
    response = client.post(
        "/domains/new/", {"slug": "sales", "name": "Sales again", "owner_username": "ghost"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["slug"] == ["Already taken."]
    response = client.post(
        "/domains/new/", {"slug": "fresh", "name": "Fresh", "owner_username": "ghost"}
    )
    assert response.context["form"].errors["owner_username"] == ["No such user."]
    assert not Domain.objects.filter(slug="fresh").exists()

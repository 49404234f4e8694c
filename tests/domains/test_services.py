from __future__ import annotations

import pytest

from domains import services
from domains.models import Domain, Membership, Role
from governance.models import AuditEvent
from meshplatform.errors import Conflict, Forbidden, NotFound
from tests.factories import UserFactory


@pytest.mark.parametrize("who", ["governance", "admin"])
def test_council_and_admins_create_a_domain_with_its_first_owner(people, who) -> None:
    newcomer = UserFactory(username="nina")
    domain = services.create_domain(
        slug="marketing", name="Marketing", owner_username="nina", actor=getattr(people, who)
    )
    assert Membership.objects.get(domain=domain, user=newcomer).role == Role.OWNER
    actions = list(
        AuditEvent.objects.filter(domain_slug="marketing").values_list("action", flat=True)
    )
    assert actions == ["domain.created", "member.added"]


@pytest.mark.parametrize("who", ["owner", "engineer", "viewer", "outsider"])
def test_domain_members_cannot_create_domains(people, who) -> None:
    with pytest.raises(Forbidden):
        services.create_domain(
            slug="marketing", name="Marketing", owner_username="vera", actor=getattr(people, who)
        )
    assert not Domain.objects.filter(slug="marketing").exists()
    assert not AuditEvent.objects.exists()


def test_owner_adds_changes_and_removes_a_member(people) -> None:
    UserFactory(username="newbie")
    membership = services.add_member(
        domain=people.sales, username="newbie", role="viewer", actor=people.owner
    )
    services.change_member_role(membership=membership, role=Role.ENGINEER, actor=people.owner)
    assert Membership.objects.get(pk=membership.pk).role == Role.ENGINEER
    services.remove_member(membership=membership, actor=people.owner)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["member.added", "member.role_changed", "member.removed"]


@pytest.mark.parametrize("who", ["engineer", "viewer", "outsider", "governance"])
def test_only_owners_manage_members(people, who) -> None:
    UserFactory(username="newbie")
    with pytest.raises(Forbidden):
        services.add_member(
            domain=people.sales, username="newbie", role="viewer", actor=getattr(people, who)
        )
    assert not Membership.objects.filter(user__username="newbie").exists()


def test_the_last_owner_cannot_be_demoted_or_removed(people) -> None:
    membership = Membership.objects.get(domain=people.sales, user=people.owner)
    with pytest.raises(Conflict):
        services.change_member_role(membership=membership, role="viewer", actor=people.owner)
    with pytest.raises(Conflict):
        services.remove_member(membership=membership, actor=people.owner)
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_adding_an_unknown_user_or_a_member_twice_is_refused(people) -> None:
    with pytest.raises(NotFound):
        services.add_member(
            domain=people.sales, username="ghost", role="viewer", actor=people.owner
        )
    with pytest.raises(Conflict):
        services.add_member(domain=people.sales, username="vera", role="viewer", actor=people.owner)
    assert Membership.objects.filter(domain=people.sales).count() == 3

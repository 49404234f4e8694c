"""Writes about domains and their members: authorise, change, audit."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from domains.models import Domain, Membership, Role
from domains.permissions import can_create_domain, can_manage_domain, forget_cached_roles
from governance import audit
from meshplatform.errors import Conflict, Forbidden, Invalid, NotFound
from meshplatform.slugs import check_slug

RESERVED_SLUGS = {"new"}  # the portal's /domains/new/


def domain_snapshot(domain: Domain) -> dict[str, Any]:
    return {"slug": domain.slug, "name": domain.name, "description": domain.description}


@transaction.atomic
def create_domain(
    *, slug: str, name: str, actor: Any, owner_username: str, description: str = ""
) -> Domain:
    """Admins and the governance council create domains, naming their first owner (the
    council does not manage members, so a domain without one would be stranded)."""
    if not can_create_domain(actor):
        raise Forbidden("Only platform admins and the governance council create domains.")
    check_slug(slug)
    if slug in RESERVED_SLUGS:
        raise Invalid(f"'{slug}' is reserved.", fields={"slug": "Reserved by the portal."})
    if Domain.objects.filter(slug=slug).exists():
        raise Conflict(f"A domain '{slug}' already exists.", fields={"slug": "Already taken."})
    owner = get_user_model().objects.filter(username=owner_username, is_active=True).first()
    if owner is None:
        raise Invalid(f"No active user '{owner_username}'.", fields={"owner": "No such user."})
    domain = Domain.objects.create(slug=slug, name=name, description=description)
    audit.record(
        actor=actor, action="domain.created", target=domain, domain_slug=slug,
        after=domain_snapshot(domain),
    )  # fmt: skip
    membership = Membership.objects.create(domain=domain, user=owner, role=Role.OWNER)
    audit.record(
        actor=actor, action="member.added", target=membership, domain_slug=slug,
        after={"username": owner.username, "role": Role.OWNER},
    )  # fmt: skip
    return domain


@transaction.atomic
def update_domain(*, domain: Domain, actor: Any, **changes: str) -> Domain:
    if not can_manage_domain(actor, domain):
        raise Forbidden("Only the domain's owners change it.")
    unknown = set(changes) - {"name", "description"}
    if unknown:
        raise Invalid(
            "Only name and description can change.", fields=dict.fromkeys(unknown, "Read-only.")
        )
    before = domain_snapshot(domain)
    for field, value in changes.items():
        setattr(domain, field, value)
    domain.save()
    audit.record(
        actor=actor, action="domain.updated", target=domain, domain_slug=domain.slug,
        before=before, after=domain_snapshot(domain),
    )  # fmt: skip
    return domain


def _require_role(role: str) -> None:
    if role not in Role.values:
        raise Invalid(
            f"Unknown role '{role}'.", fields={"role": f"One of {', '.join(Role.values)}."}
        )


def _lock_owners(domain: Domain) -> int:
    return len(
        Membership.objects.select_for_update()
        .filter(domain=domain, role=Role.OWNER)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def add_member(*, domain: Domain, username: str, role: str, actor: Any) -> Membership:
    """Owners (and admins) add people to their domain."""
    if not can_manage_domain(actor, domain):
        raise Forbidden("Only the domain's owners manage its members.")
    _require_role(role)
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No active user '{username}'.", fields={"username": "No such user."})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(domain=domain, user=user, role=role)
    except IntegrityError:
        raise Conflict(
            f"{username} is already a member of {domain.slug}.",
            fields={"username": "Already a member."},
        ) from None
    audit.record(
        actor=actor, action="member.added", target=membership, domain_slug=domain.slug,
        after={"username": username, "role": role},
    )  # fmt: skip
    forget_cached_roles(user)
    return membership


@transaction.atomic
def change_member_role(*, membership: Membership, role: str, actor: Any) -> Membership:
    domain = membership.domain
    if not can_manage_domain(actor, domain):
        raise Forbidden("Only the domain's owners manage its members.")
    _require_role(role)
    if membership.role == Role.OWNER and role != Role.OWNER and _lock_owners(domain) <= 1:
        raise Conflict("A domain keeps at least one owner.", fields={"role": "Last owner."})
    before = {"username": membership.user.username, "role": membership.role}
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        actor=actor, action="member.role_changed", target=membership, domain_slug=domain.slug,
        before=before, after={"username": membership.user.username, "role": role},
    )  # fmt: skip
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, actor: Any) -> None:
    domain = membership.domain
    if not can_manage_domain(actor, domain):
        raise Forbidden("Only the domain's owners manage its members.")
    if membership.role == Role.OWNER and _lock_owners(domain) <= 1:
        raise Conflict("A domain keeps at least one owner.")
    before = {"username": membership.user.username, "role": membership.role}
    audit.record(
        actor=actor, action="member.removed", target=membership, domain_slug=domain.slug,
        before=before,
    )  # fmt: skip
    membership.delete()

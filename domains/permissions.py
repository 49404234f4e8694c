"""Who may do what. Every service asks these before it writes; reads use `visible_to`."""

from __future__ import annotations

from typing import Any

from domains.models import GOVERNANCE_GROUP, Domain, Membership, Role
from meshplatform.errors import Forbidden


def is_admin(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def is_governance(user: Any) -> bool:
    """Council members; cached on the user object for the request."""
    if not (user.is_authenticated and user.is_active):
        return False
    if not hasattr(user, "_is_governance"):
        user._is_governance = user.groups.filter(name=GOVERNANCE_GROUP).exists()
    return bool(user._is_governance)


def roles_of(user: Any) -> dict[int, str]:
    """Domain id -> role, one query per request."""
    if not (user.is_authenticated and user.is_active):
        return {}
    if not hasattr(user, "_domain_roles"):
        user._domain_roles = dict(
            Membership.objects.filter(user=user).order_by().values_list("domain_id", "role")
        )
    return dict(user._domain_roles)


def role_in(user: Any, domain: Domain) -> str | None:
    return roles_of(user).get(domain.pk)


def can_create_domain(user: Any) -> bool:
    return is_admin(user) or is_governance(user)


def can_manage_domain(user: Any, domain: Domain) -> bool:
    """Owners manage members and everything in their domain; admins everywhere."""
    return is_admin(user) or role_in(user, domain) == Role.OWNER


def can_edit_products(user: Any, domain: Domain) -> bool:
    return is_admin(user) or role_in(user, domain) in {Role.OWNER, Role.ENGINEER}


def require_product_editor(actor: Any, domain: Domain, doing: str = "change its products") -> None:
    """Forbidden unless `actor` may change the domain's products (`can_edit_products`)."""
    if not can_edit_products(actor, domain):
        raise Forbidden(f"Only engineers and owners of '{domain.slug}' {doing}.")


def can_see_connections(user: Any, domain: Domain) -> bool:
    """A domain's connections (names, kinds, redacted URLs) are operational detail of the team
    that runs its pipelines: its engineers and owners see them, and platform admins."""
    return is_admin(user) or role_in(user, domain) in {Role.OWNER, Role.ENGINEER}


def sees_everything(user: Any) -> bool:
    return is_admin(user) or is_governance(user)


def forget_cached_roles(user: Any) -> None:
    for attr in ("_domain_roles", "_is_governance"):
        if hasattr(user, attr):
            delattr(user, attr)

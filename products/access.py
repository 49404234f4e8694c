"""Access to a product's data: requests, decisions, grants (time-bound, renewed, revoked),
and products that grant automatically. Each write authorises, changes, and audits.

Who may do what (the rules the portal and the API share):

- Reading without a grant: the product's domain members, whatever their role (the producing
  team owns the data) and platform admins. Everybody else, governance council members
  included, needs an active grant on the port: least privilege, and the council's oversight
  is the audit log and its policies over `Grant` rows, not the data itself.
- Deciding (approve, deny, renew, revoke, the auto-grant switch): the domain's owners, the
  product's named owner while they are an engineer or owner of its domain, and admins.
  Other engineers build the pipelines; who reads the data is the owners' call.
- A consumer asks for access, cancels their own open request and may give up their own grant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from domains.models import Role
from domains.permissions import can_manage_domain, is_admin, role_in
from governance import audit
from meshplatform.errors import Conflict, Forbidden, Invalid, NotFound
from products.models import (
    AccessRequest,
    DataProduct,
    Grant,
    check_classification,
)
from products.tables import output_ports

PURPOSE_MAX = 500


def reads_unmasked(user: Any, product: DataProduct) -> bool:
    """The producing team and admins read everything, without a grant."""
    return is_admin(user) or role_in(user, product.domain) is not None


def can_decide_access(user: Any, product: DataProduct) -> bool:
    """The domain's owners, and the engineer who owns the product."""
    if can_manage_domain(user, product.domain):
        return True
    return role_in(user, product.domain) == Role.ENGINEER and product.owner_id == user.pk


def _require_decider(actor: Any, product: DataProduct) -> None:
    if not can_decide_access(actor, product):
        raise Forbidden(f"Only the owners of {product.address} decide who reads its data.")


def _lock(product: DataProduct) -> None:
    """Serialise the access writes of one product (one grant per consumer and port)."""
    DataProduct.objects.select_for_update().filter(pk=product.pk).values_list("pk").get()


def _future(moment: datetime | None, field: str) -> datetime | None:
    if moment is not None and moment <= timezone.now():
        raise Invalid("An end date must be in the future.", fields={field: "In the past."})
    return moment


def grant_snapshot(grant: Grant) -> dict[str, Any]:
    return {
        "grant": grant.pk,
        "port": grant.port,
        "consumer": grant.consumer.username,
        "clearance": grant.clearance,
        "automatic": grant.automatic,
        "expires_at": grant.expires_at,
        "revoked_at": grant.revoked_at,
    }


def _record(actor: Any, action: str, target: Any, product: DataProduct, **change: Any) -> None:
    audit.record(
        actor=actor, action=action, target=target, domain_slug=product.domain.slug, **change
    )


def _give(
    *,
    asked: AccessRequest,
    clearance: str,
    expires_at: datetime | None,
    actor: Any,
    automatic: bool,
) -> Grant:
    """The requester's grant on the port; one they already hold (even expired) is closed and
    replaced, so the history keeps both rows."""
    now = timezone.now()
    before = None
    current = Grant.objects.filter(
        product=asked.product, port=asked.port, consumer=asked.requester,
        revoked_at__isnull=True,
    ).first()  # fmt: skip
    if current is not None:
        before = grant_snapshot(current)
        current.revoked_at, current.revoked_by = now, (None if automatic else actor)
        current.save(update_fields=["revoked_at", "revoked_by"])
    grant = Grant.objects.create(
        product=asked.product,
        port=asked.port,
        consumer=asked.requester,
        clearance=clearance,
        granted_by=None if automatic else actor,
        automatic=automatic,
        request=asked,
        expires_at=expires_at,
    )
    _record(actor, "access.granted", grant, asked.product, before=before,
            after=grant_snapshot(grant))  # fmt: skip
    return grant


@transaction.atomic
def request_access(
    *,
    product: DataProduct,
    port: str,
    purpose: str,
    actor: Any,
    requested_until: datetime | None = None,
) -> AccessRequest:
    """Ask to read an output port; a product that grants automatically approves at once, with
    its own classification as the clearance."""
    if not DataProduct.objects.visible_to(actor).filter(pk=product.pk).exists():
        raise NotFound("No such product.")
    if port not in output_ports(product):
        raise Invalid(
            f"{product.address} has no output port {port!r}.",
            fields={"port": f"One of {', '.join(output_ports(product))}."},
        )
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > PURPOSE_MAX:
        raise Invalid(
            "Say what you need the data for.",
            fields={"purpose": f"Required, at most {PURPOSE_MAX} characters."},
        )
    _future(requested_until, "requested_until")
    if reads_unmasked(actor, product):
        raise Conflict(f"You read {product.address} already, as a member of its domain.")
    _lock(product)
    product.refresh_from_db(fields=["auto_grant", "classification"])
    if AccessRequest.objects.filter(
        product=product, port=port, requester=actor, status=AccessRequest.Status.REQUESTED
    ).exists():
        raise Conflict("You have already asked for this port; the owners will decide.")
    asked = AccessRequest.objects.create(
        product=product, port=port, requester=actor, purpose=purpose,
        requested_until=requested_until,
    )  # fmt: skip
    asked_for = {"port": port, "purpose": purpose, "requested_until": requested_until}
    _record(actor, "access.requested", asked, product, after=asked_for)
    if product.auto_grant and product.may_auto_grant:
        asked.status = AccessRequest.Status.APPROVED
        asked.decided_at = timezone.now()
        asked.note = "Granted automatically."
        asked.save(update_fields=["status", "decided_at", "note"])
        _give(asked=asked, clearance=product.classification, expires_at=requested_until,
              actor=actor, automatic=True)  # fmt: skip
    return asked


@transaction.atomic
def decide_request(
    *,
    access_request: AccessRequest,
    approve: bool,
    actor: Any,
    clearance: str | None = None,
    expires_at: datetime | None = None,
    note: str = "",
) -> AccessRequest:
    """Approve (with a clearance, by default the product's classification, and an optional
    end, by default the one asked for) or deny an open request."""
    product = access_request.product
    _require_decider(actor, product)
    if approve:
        clearance = check_classification(clearance or product.classification, "clearance")
        _future(expires_at or access_request.requested_until, "expires_at")
    _lock(product)
    access_request.refresh_from_db(fields=["status"])
    if access_request.status != AccessRequest.Status.REQUESTED:
        raise Conflict(f"This request is already {access_request.get_status_display().lower()}.")
    access_request.status = (
        AccessRequest.Status.APPROVED if approve else AccessRequest.Status.DENIED
    )
    access_request.decided_by, access_request.decided_at = actor, timezone.now()
    access_request.note = note.strip()[:500]
    access_request.save(update_fields=["status", "decided_by", "decided_at", "note"])
    _record(actor, f"access.{access_request.status}", access_request, product,
            after={"status": access_request.status, "note": access_request.note})  # fmt: skip
    if approve:
        assert clearance is not None
        _give(asked=access_request, clearance=clearance,
              expires_at=expires_at or access_request.requested_until, actor=actor,
              automatic=False)  # fmt: skip
    return access_request


@transaction.atomic
def cancel_request(*, access_request: AccessRequest, actor: Any) -> AccessRequest:
    """The requester withdraws an open request."""
    if access_request.requester_id != getattr(actor, "pk", None):
        raise Forbidden("Only the person who asked cancels a request.")
    _lock(access_request.product)
    access_request.refresh_from_db(fields=["status"])
    if access_request.status != AccessRequest.Status.REQUESTED:
        raise Conflict(f"This request is already {access_request.get_status_display().lower()}.")
    access_request.status = AccessRequest.Status.CANCELLED
    access_request.decided_at = timezone.now()
    access_request.save(update_fields=["status", "decided_at"])
    _record(actor, "access.cancelled", access_request, access_request.product,
            after={"status": access_request.status})  # fmt: skip
    return access_request


@transaction.atomic
def renew_grant(*, grant: Grant, actor: Any, expires_at: datetime | None) -> Grant:
    """Move a grant's end (None: no end); an expired grant renewed works again."""
    _require_decider(actor, grant.product)
    _future(expires_at, "expires_at")
    _lock(grant.product)
    grant.refresh_from_db(fields=["revoked_at", "expires_at"])
    if grant.revoked_at is not None:
        raise Conflict("This grant is revoked; the consumer has to ask again.")
    before = grant_snapshot(grant)
    grant.expires_at = expires_at
    grant.save(update_fields=["expires_at"])
    _record(actor, "access.renewed", grant, grant.product, before=before,
            after=grant_snapshot(grant))  # fmt: skip
    return grant


@transaction.atomic
def revoke_grant(*, grant: Grant, actor: Any) -> Grant:
    """End a grant now (the owners), or give it up (its consumer). Revoking twice is a no-op."""
    if grant.consumer_id != getattr(actor, "pk", None):
        _require_decider(actor, grant.product)
    _lock(grant.product)
    grant.refresh_from_db(fields=["revoked_at", "revoked_by"])
    if grant.revoked_at is not None:
        return grant
    before = grant_snapshot(grant)
    grant.revoked_at, grant.revoked_by = timezone.now(), actor
    grant.save(update_fields=["revoked_at", "revoked_by"])
    _record(actor, "access.revoked", grant, grant.product, before=before,
            after=grant_snapshot(grant))  # fmt: skip
    return grant


def _auto_grant_refused(product: DataProduct) -> Invalid:
    return Invalid(
        f"{product.address} is {product.classification}: only public and internal products "
        "grant access automatically.",
        fields={"auto_grant": "Only for public and internal products."},
    )


@transaction.atomic
def set_auto_grant(*, product: DataProduct, enabled: bool, actor: Any) -> DataProduct:
    """Turn automatic grants on (public and internal products only) or off."""
    _require_decider(actor, product)
    _lock(product)
    product.refresh_from_db(fields=["auto_grant", "classification"])
    if enabled and not product.may_auto_grant:
        raise _auto_grant_refused(product)
    if product.auto_grant == enabled:
        return product
    product.auto_grant = enabled
    product.save(update_fields=["auto_grant", "updated_at"])
    _record(actor, "product.auto_grant_changed", product, product,
            before={"auto_grant": not enabled}, after={"auto_grant": enabled})  # fmt: skip
    return product


def keep_auto_grant_allowed(*, product: DataProduct, actor: Any) -> DataProduct:
    """After a classification change: auto-grant is turned off (and audited) when the product
    is now confidential or restricted. The caller has authorised the change and holds the
    product's row; grants already given keep their clearance, so the newly classified fields
    are masked for them."""
    if product.auto_grant and not product.may_auto_grant:
        product.auto_grant = False
        DataProduct.objects.filter(pk=product.pk).update(auto_grant=False)
        _record(actor, "product.auto_grant_changed", product, product,
                before={"auto_grant": True}, after={"auto_grant": False,
                "reason": f"classified {product.classification}"})  # fmt: skip
    return product

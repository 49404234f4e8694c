"""Telling consumers and downstream teams about a breaking contract version.

Who is affected (`breaking_change_audience`): the consumers holding an active grant on the
product, and the products (not retired) whose pipeline reads it. The publish screen lists
them; a breaking publish leaves an in-portal notification for each consumer and for the
owners and engineers of each downstream product's domain (not for the publisher), and, when
NOTIFY_WEBHOOK_URL is set, posts one signed JSON message once the publish commits.

The webhook body is signed with HMAC-SHA256 under NOTIFY_WEBHOOK_SECRET, over
`<timestamp>.<body>`: `X-Mesh-Timestamp` carries the Unix time of the attempt and
`X-Mesh-Signature` is `sha256=<hex>`, so a receiver refuses old or replayed messages.
`X-Mesh-Delivery` names the event, the same on every retry, for receivers to deduplicate.
The message is sent by task name (products.tasks), like the runs in `products.runqueue`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from domains.models import Membership, Role
from meshplatform.celery import app
from products.lineage_graph import spec_or_none
from products.models import ContractVersion, DataProduct, Grant, Notification, Status

WEBHOOK_TASK = "products.tasks.deliver_breaking_change_task"
WEBHOOK_TIMEOUT_SECONDS = 5
EVENT = "contract.breaking_change"
logger = logging.getLogger(__name__)


class WebhookFailed(Exception):
    """The receiver did not take the message (network, timeout or a non-2xx answer)."""


@dataclass(frozen=True)
class Audience:
    consumers: list[Any]  # users with an active grant on any of the product's ports
    downstream: list[DataProduct]  # products whose pipeline reads it, by address


def breaking_change_audience(product: DataProduct) -> Audience:
    """Who a breaking change of `product`'s contract affects, whoever may see them."""
    holders = Grant.objects.active(timezone.now()).filter(product=product).values("consumer_id")
    consumers = list(get_user_model().objects.filter(pk__in=holders).order_by("username"))
    candidates = (
        DataProduct.objects.may_read(product.address)
        .exclude(status=Status.RETIRED)
        .exclude(pk=product.pk)
        .select_related("domain")
        .order_by("domain__slug", "slug")
    )
    downstream = [
        reader
        for reader in candidates
        if (spec := spec_or_none(reader)) is not None and product.address in spec.upstream_products
    ]
    return Audience(consumers=consumers, downstream=downstream)


def notify_breaking_change(*, version: ContractVersion, actor: Any) -> None:
    """Notify the consumers holding grants and the downstream products' teams, in the
    publisher's transaction; the webhook, if configured, once it commits."""
    product = version.product
    audience = breaking_change_audience(product)
    teams = Membership.objects.filter(
        domain__in={reader.domain_id for reader in audience.downstream},
        role__in=[Role.OWNER, Role.ENGINEER],
    ).values_list("user_id", flat=True)
    recipients = {user.pk for user in audience.consumers} | set(teams)
    recipients.discard(getattr(actor, "pk", None))
    link = reverse("contract-diff", args=[product.domain.slug, product.slug])
    text = (
        f"{product.address} published version {version.version} of its contract with "
        f"breaking changes: {len(version.breaking_changes)}. Check what you read from it."
    )
    Notification.objects.bulk_create(
        Notification(user_id=user_id, text=text, link=link) for user_id in sorted(recipients)
    )
    if settings.NOTIFY_WEBHOOK_URL:
        transaction.on_commit(lambda: app.send_task(WEBHOOK_TASK, args=[version.pk]))


def webhook_body(version: ContractVersion) -> dict[str, Any]:
    product = version.product
    audience = breaking_change_audience(product)
    return {
        "event": EVENT,
        "product": product.address,
        "version": version.version,
        "published_at": version.published_at.isoformat(),
        "published_by": version.published_by.username if version.published_by else None,
        "breaking_changes": version.breaking_changes,
        "consumers": [user.username for user in audience.consumers],
        "downstream": [reader.address for reader in audience.downstream],
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def deliver_breaking_change(version_id: int) -> None:
    """POST the signed message about one breaking version; WebhookFailed to be retried."""
    url = settings.NOTIFY_WEBHOOK_URL
    if not url:
        return
    if not url.startswith(("https://", "http://")):
        raise ImproperlyConfigured("NOTIFY_WEBHOOK_URL must be an http(s) URL.")
    if not settings.NOTIFY_WEBHOOK_SECRET:
        raise ImproperlyConfigured("NOTIFY_WEBHOOK_SECRET must be set to sign the webhook.")
    version = ContractVersion.objects.select_related("product__domain", "published_by").get(
        pk=version_id
    )
    body = json.dumps(webhook_body(version), sort_keys=True, default=str).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "meshplatform-webhook",
        "X-Mesh-Event": EVENT,
        "X-Mesh-Delivery": f"contract-version-{version.pk}",
        "X-Mesh-Timestamp": timestamp,
        "X-Mesh-Signature": signature(settings.NOTIFY_WEBHOOK_SECRET, timestamp, body),
    }
    # The scheme is checked above: http(s) only, never file: or ftp:.
    message = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(message, timeout=WEBHOOK_TIMEOUT_SECONDS) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        # The reason only: neither headers nor the secret ever reach the log.
        raise WebhookFailed(f"webhook unreachable: {type(error).__name__}") from None
    if not 200 <= status < 300:
        raise WebhookFailed(f"webhook answered {status}")
    logger.info("webhook delivered for contract version %s", version.pk)


def mark_read(*, user: Any, notification_id: int | None = None) -> int:
    """Mark one of `user`'s notifications read, or all of them; how many changed."""
    unread = Notification.objects.unread().filter(user=user)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())

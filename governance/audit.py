"""Recording and verifying the audit log.

The hash of a row covers its content and the previous row's hash, as canonical JSON, so the
chain can be recomputed from an export without the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from governance.models import AuditChainHead, AuditEvent
from meshplatform.requestid import current_request_id

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "id", "occurred_at", "actor_username", "action", "target_type", "target_id",
    "target_repr", "domain_slug", "before", "after", "request_id", "prev_hash",
)  # fmt: skip


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def content_of(event: AuditEvent) -> dict[str, Any]:
    payload = {name: getattr(event, name) for name in HASHED_FIELDS}
    payload["occurred_at"] = event.occurred_at.isoformat()
    return payload


def hash_of(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()


def record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    domain_slug: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS_HASH}
        )
        event = AuditEvent(
            id=head.last_event_id + 1,
            occurred_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_username=getattr(actor, "username", "") or "",
            action=action,
            target_type=target._meta.label_lower,
            target_id=str(target.pk),
            target_repr=str(target)[:300],
            domain_slug=domain_slug,
            before=_jsonable(before),
            after=_jsonable(after),
            request_id=current_request_id.get(),
            prev_hash=head.last_hash,
        )
        event.hash = hash_of(content_of(event))
        event.save(force_insert=True)
        head.last_event_id, head.last_hash = event.id, event.hash
        head.save(update_fields=["last_event_id", "last_hash"])
    return event


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Round-trip through JSON so the hash covers exactly what the database stores, and
    write whole floats as integers: PostgreSQL's jsonb gives 1.5e+20 back as an integer."""
    if value is None:
        return None
    loaded: dict[str, Any] = json.loads(canonical(value), parse_float=_whole_float_as_int)
    return loaded


def _whole_float_as_int(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() else number


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain() -> ChainReport:
    """Recompute every hash in order; name the first row that does not match."""
    expected_prev, expected_id, checked = GENESIS_HASH, 1, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.id != expected_id:
            return ChainReport(checked, expected_id, f"row {expected_id} is missing")
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.id, "previous-hash link is broken")
        if hash_of(content_of(event)) != event.hash:
            return ChainReport(checked, event.id, "content does not match its hash")
        expected_prev, expected_id, checked = event.hash, event.id + 1, checked + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head and head.last_event_id != expected_id - 1:
        return ChainReport(checked, expected_id, "rows at the end of the chain are missing")
    if head and head.last_hash != expected_prev:
        return ChainReport(checked, head.last_event_id, "the last row does not match the head")
    return ChainReport(checked, None, "ok")

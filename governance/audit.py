"""Recording, reading, exporting and verifying the audit log.

The hash of a row covers its content and the previous row's hash, as canonical JSON, so the
chain can be recomputed from an export without the database. After each write commits, the
chain head is also written to a file outside the database (`AUDIT_HEAD_FILE`): rewriting the
whole chain consistently in the database, which the in-database check cannot see, then no
longer matches it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from domains.models import Domain
from domains.permissions import sees_everything
from governance.models import AuditChainHead, AuditEvent
from meshplatform.errors import Forbidden, Invalid
from meshplatform.requestid import current_request_id

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "id", "occurred_at", "actor_username", "action", "target_type", "target_id",
    "target_repr", "domain_slug", "before", "after", "request_id", "prev_hash",
)  # fmt: skip
INTACT = "ok"
MOMENT_HELP = (
    "a date (2026-05-01) or a date and time (2026-05-01T14:30, UTC unless it has an offset)"
)


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
    """Append one event to the chain, in the caller's transaction; once that commits, the new
    head goes to the head file."""
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
        last_event_id, last_hash = event.id, event.hash

        def write_head_file_after_commit() -> None:
            write_head_file(last_event_id=last_event_id, last_hash=last_hash)

        # Robust: the write has committed by then, so a full disk must not fail the request.
        transaction.on_commit(write_head_file_after_commit, robust=True)
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


# --- Reading: scope and filters -------------------------------------------------------------


def visible_events(user: Any) -> models.QuerySet[AuditEvent]:
    """Every event for the council and admins, else only those of the user's domains."""
    events = AuditEvent.objects.all()
    if not sees_everything(user):
        member_of = Domain.objects.of_member(user).values("slug")
        events = events.filter(domain_slug__in=member_of)
    return events


@dataclass(frozen=True)
class EventFilter:
    """What the portal page, the API list and both exports filter on, all optional."""

    NAMES: ClassVar = ("actor", "domain", "action", "since", "until")
    actor: str = ""
    domain: str = ""
    action: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # inclusive; a date alone means to the end of that day

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> EventFilter:
        """Read `actor`, `domain`, `action`, `since` and `until`; Invalid names each bad one."""
        errors: dict[str, str] = {}
        words = {name: str(params.get(name) or "").strip() for name in cls.NAMES[:3]}
        for name, word in words.items():
            if "\x00" in word:  # PostgreSQL refuses it in a query, a 500 otherwise
                errors[name] = "Null characters are not allowed."
        moments: dict[str, datetime | None] = {}
        for name in ("since", "until"):
            text = str(params.get(name) or "").strip()
            moments[name] = _moment(text, end_of_day=name == "until") if text else None
            if text and moments[name] is None:
                errors[name] = f"'{text[:40]}' is not {MOMENT_HELP}."
        since, until = moments["since"], moments["until"]
        if since and until and until < since:
            errors["until"] = "The end is before the start."
        if errors:
            raise Invalid("The filter is not valid.", fields=errors)
        return cls(**words, since=since, until=until)

    def apply(self, events: models.QuerySet[AuditEvent]) -> models.QuerySet[AuditEvent]:
        if self.actor:
            events = events.filter(actor_username=self.actor)
        if self.domain:
            events = events.filter(domain_slug=self.domain)
        if self.action:
            events = events.filter(action=self.action)
        if self.since:
            events = events.filter(occurred_at__gte=self.since)
        if self.until:
            events = events.filter(occurred_at__lte=self.until)
        return events


def _moment(text: str, *, end_of_day: bool) -> datetime | None:
    try:
        day: date | None = parse_date(text)
        moment = (
            datetime.combine(day, time.max if end_of_day else time.min)
            if day
            else parse_datetime(text)
        )
    except ValueError:  # well formed but impossible, such as 2026-02-30
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


# --- Export and offline verification --------------------------------------------------------


def export_line(event: AuditEvent) -> bytes:
    """One JSON line: every hashed field, as hashed, and the hash."""
    return canonical({**content_of(event), "hash": event.hash}) + b"\n"


def export_response(*, actor: Any, query: Mapping[str, Any]) -> StreamingHttpResponse:
    """The events the query's filters select, as JSON lines in id order, streamed. Council
    members and admins only: other domains' events must not leak, and a chain with rows left
    out cannot be verified."""
    if not sees_everything(actor):
        raise Forbidden("Only governance council members and admins export the audit log.")
    events = EventFilter.from_query(query).apply(visible_events(actor)).order_by("id")
    lines = (export_line(event) for event in events.iterator(chunk_size=2000))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.jsonl"'
    return response


@dataclass(frozen=True)
class ExportReport:
    checked: int
    first_bad_line: int | None
    reason: str
    first_id: int | None = None
    last_id: int | None = None
    last_hash: str = ""
    skips: int = 0  # places where the next line's id is not the previous id + 1

    @property
    def ok(self) -> bool:
        return self.first_bad_line is None

    @property
    def complete(self) -> bool:
        """The whole chain from #1 with no id skipped (only the end cannot be proven here)."""
        return self.ok and self.skips == 0 and self.first_id in (None, 1)


def verify_export(lines: Iterable[str | bytes]) -> ExportReport:
    """Check an export without the database: each line's hash against its content, and the
    previous-hash link wherever two lines have consecutive ids. A filtered export skips ids:
    those are counted (not contiguous), not failures; a full export is checked end to end."""
    checked, skips, first_id, prev_id, prev_hash = 0, 0, None, 0, GENESIS_HASH
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            content = {name: line[name] for name in HASHED_FIELDS}
            stated, event_id = line["hash"], content["id"]
        except (ValueError, KeyError, TypeError):
            stated, event_id = None, None
        if type(event_id) is not int or not isinstance(stated, str):
            reason = "not an audit event (a JSON object with every hashed field and its hash)"
            return ExportReport(checked, number, reason)
        failure = ""
        if hash_of(content) != stated:
            failure = "content does not match its hash"
        elif event_id <= prev_id:
            failure = f"ids go backwards (after #{prev_id})"
        elif event_id == prev_id + 1 and content["prev_hash"] != prev_hash:
            failure = "previous-hash link is broken"
        if failure:
            return ExportReport(checked, number, f"event #{event_id}: {failure}")
        if first_id is None:
            first_id = event_id
        elif event_id != prev_id + 1:
            skips += 1
        checked, prev_id, prev_hash = checked + 1, event_id, stated
    last_id = prev_id if checked else None
    return ExportReport(
        checked, None, INTACT, first_id, last_id, prev_hash if checked else "", skips
    )


# --- The chain head outside the database ----------------------------------------------------


@dataclass(frozen=True)
class HeadRecord:
    last_event_id: int
    last_hash: str
    written_at: str


class HeadFileUnreadable(ValueError):
    pass


def read_head_file() -> HeadRecord | None:
    """The head last written to `AUDIT_HEAD_FILE`; None when there is none (a fresh install)."""
    path = Path(settings.AUDIT_HEAD_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        head = HeadRecord(int(data["last_event_id"]), str(data["last_hash"]), data["written_at"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise HeadFileUnreadable(f"the head file {path} is unreadable ({error})") from error
    return head


def write_head_file(*, last_event_id: int, last_hash: str) -> bool:
    """Write the head atomically, under a lock, unless the file already holds a later one:
    transactions commit, and so call back, in any order. True when written."""
    path = Path(settings.AUDIT_HEAD_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Lock a file beside it: the head file itself is replaced, so a lock on it would not hold.
    with open(path.with_name(f"{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the lock file is closed
        try:
            current = read_head_file()
        except HeadFileUnreadable as error:
            logger.warning("Replacing the audit head file: %s", error)
            current = None
        if current is not None and current.last_event_id >= last_event_id:
            return False
        head = {
            "last_event_id": last_event_id,
            "last_hash": last_hash,
            "written_at": timezone.now().isoformat(),
        }
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(head, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    return True


# --- Verifying the database -----------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str
    warning: str = ""

    @property
    def ok(self) -> bool:
        return self.reason == INTACT


def verify_chain() -> ChainReport:
    """Recompute every hash in order and name the first row that does not match; then compare
    the end of the chain with the head row and with the head file."""
    try:
        recorded = read_head_file()
    except HeadFileUnreadable as error:
        return ChainReport(0, None, str(error))
    report, hash_at_recorded = _verify_rows(recorded.last_event_id if recorded else 0)
    if not report.ok:
        return report
    if recorded is None:
        warning = (
            f"no head file at {settings.AUDIT_HEAD_FILE} (none is written before the first "
            "event): the chain was checked against the database alone"
        )
        return ChainReport(report.checked, None, INTACT, warning)
    if hash_at_recorded is None:
        reason = f"rows at the end are missing: the head file records #{recorded.last_event_id}"
        return ChainReport(report.checked, report.checked + 1, reason)
    if hash_at_recorded != recorded.last_hash:
        reason = "the chain was rewritten: the head file holds another hash for this row"
        return ChainReport(report.checked, recorded.last_event_id, reason)
    return report


def _verify_rows(remember_id: int) -> tuple[ChainReport, str | None]:
    """The chain in the database on its own, and the hash of row `remember_id` if it is there."""
    remembered = None
    expected_prev, expected_id, checked = GENESIS_HASH, 1, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.id != expected_id:
            return ChainReport(checked, expected_id, f"row {expected_id} is missing"), None
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.id, "previous-hash link is broken"), None
        if hash_of(content_of(event)) != event.hash:
            return ChainReport(checked, event.id, "content does not match its hash"), None
        if event.id == remember_id:
            remembered = event.hash
        expected_prev, expected_id, checked = event.hash, event.id + 1, checked + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head and head.last_event_id != expected_id - 1:
        reason = "rows at the end of the chain are missing"
        return ChainReport(checked, expected_id, reason), None
    if head and head.last_hash != expected_prev:
        reason = "the last row does not match the head"
        return ChainReport(checked, head.last_event_id, reason), None
    return ChainReport(checked, None, INTACT), remembered

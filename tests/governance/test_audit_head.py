"""The chain head outside the database: written after each audit write commits, never moved
backwards, and compared with the database by `mesh audit verify`."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from governance.audit import (
    GENESIS_HASH,
    content_of,
    hash_of,
    read_head_file,
    record,
    verify_chain,
    write_head_file,
)
from governance.models import AuditEvent
from tests.concurrency import at_once
from tests.factories import DomainFactory, UserFactory


def on_file(path: Path) -> tuple[int, str]:
    head = json.loads(path.read_text())
    assert set(head) == {"last_event_id", "last_hash", "written_at"}
    return head["last_event_id"], head["last_hash"]


def ping(n: int = 0) -> AuditEvent:
    return record(
        actor=UserFactory(username="ada"),
        action="test.ping",
        target=DomainFactory(slug="sales"),
        domain_slug="sales",
        after={"n": n},
    )


@pytest.fixture
def committed_chain(db: None, django_capture_on_commit_callbacks: Any) -> list[AuditEvent]:
    """Three events whose commits have each written the head file."""
    with django_capture_on_commit_callbacks(execute=True):
        events = [ping(n) for n in range(3)]
    return events


def tamper(*statements: tuple[str, list[object]]) -> None:
    """What someone with the database's rights does: drop the guard, rewrite, restore it."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        try:
            for sql, params in statements:
                cursor.execute(sql, params)
        finally:
            cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER USER")


def rewrite_whole_chain(change: dict[str, Any]) -> None:
    """Change every row and recompute every hash and link, and the head row: consistent, so
    the check of the database on its own passes."""
    previous, statements = GENESIS_HASH, []
    for event in AuditEvent.objects.order_by("id"):
        new_hash = hash_of({**content_of(event), **change, "prev_hash": previous})
        statements.append(
            (
                "UPDATE governance_auditevent SET actor_username = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                [change["actor_username"], previous, new_hash, event.id],
            )
        )
        previous = new_hash
    statements.append(("UPDATE governance_auditchainhead SET last_hash = %s", [previous]))
    tamper(*statements)


@pytest.mark.django_db(transaction=True)
def test_the_head_file_is_written_when_the_audit_write_commits(audit_head_file: Path) -> None:
    with transaction.atomic():
        event = ping()
        assert not audit_head_file.exists()  # not before the commit

    assert on_file(audit_head_file) == (event.id, event.hash)
    assert read_head_file() is not None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_audit_write_leaves_the_head_file_alone(audit_head_file: Path) -> None:
    first = ping(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        ping(2)
        raise RuntimeError("the service failed after auditing")

    assert on_file(audit_head_file) == (first.id, first.hash)
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_drops_only_its_own_event(audit_head_file: Path) -> None:
    with transaction.atomic():
        kept = ping(1)
        with pytest.raises(RuntimeError), transaction.atomic():
            ping(2)
            raise RuntimeError("inner work failed")

    assert on_file(audit_head_file) == (kept.id, kept.hash)


@pytest.mark.django_db(transaction=True)
def test_a_head_file_that_cannot_be_written_does_not_fail_the_committed_write(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    settings.AUDIT_HEAD_FILE = str(tmp_path / "not-a-folder" / "head.json")

    with caplog.at_level(logging.ERROR):
        event = ping()

    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert "write_head_file" in caplog.text


def test_the_head_file_never_moves_backwards(audit_head_file: Path) -> None:
    assert write_head_file(last_event_id=5, last_hash="5" * 64)
    assert not write_head_file(last_event_id=3, last_hash="3" * 64)
    assert not write_head_file(last_event_id=5, last_hash="x" * 64)

    assert on_file(audit_head_file) == (5, "5" * 64)


def test_concurrent_writers_keep_the_largest_id(audit_head_file: Path) -> None:
    ids = itertools.count(1)
    lock = threading.Lock()

    def write_next() -> bool:
        with lock:
            event_id = next(ids)
        return write_head_file(last_event_id=event_id, last_hash=f"{event_id:064d}")

    at_once(write_next, times=16)

    assert on_file(audit_head_file) == (16, f"{16:064d}")
    left = sorted(path.name for path in audit_head_file.parent.iterdir())
    assert left == ["head.json", "head.json.lock"]  # no temporary file left behind


def test_verify_agrees_with_the_head_file(committed_chain: list[AuditEvent], capsys: Any) -> None:
    report = verify_chain()

    assert (report.ok, report.checked, report.warning) == (True, 3, "")
    call_command("mesh", "audit", "verify")
    assert capsys.readouterr().err == ""


def test_a_database_ahead_of_the_head_file_is_fine(committed_chain: list[AuditEvent]) -> None:
    ping(3)  # committed, its callback not run yet: the file still says #3

    assert verify_chain().ok


def test_rewriting_the_whole_chain_is_caught_by_the_head_file(
    committed_chain: list[AuditEvent], settings: Any, tmp_path: Path
) -> None:
    rewrite_whole_chain({"actor_username": "mallory"})

    report = verify_chain()
    assert report.first_bad_id == 3
    assert report.reason.startswith("the chain was rewritten")
    with pytest.raises(CommandError, match="#3: the chain was rewritten"):
        call_command("mesh", "audit", "verify")
    # The database on its own cannot see it: that is what the file is for.
    settings.AUDIT_HEAD_FILE = str(tmp_path / "elsewhere" / "head.json")
    assert verify_chain().ok


def test_rows_cut_from_the_end_with_the_head_row_are_caught_by_the_head_file(
    committed_chain: list[AuditEvent],
) -> None:
    second = committed_chain[1]
    tamper(
        ("DELETE FROM governance_auditevent WHERE id = %s", [committed_chain[2].id]),
        (
            "UPDATE governance_auditchainhead SET last_event_id = %s, last_hash = %s",
            [second.id, second.hash],
        ),
    )

    report = verify_chain()
    assert report.first_bad_id == 3
    assert report.reason.startswith("rows at the end are missing")
    with pytest.raises(CommandError, match="rows at the end are missing"):
        call_command("mesh", "audit", "verify")


def test_a_missing_head_file_is_a_warning_not_a_failure(
    db: None, audit_head_file: Path, capsys: Any
) -> None:
    ping()  # its commit callback never runs here: no file

    report = verify_chain()
    assert report.ok
    assert "no head file" in report.warning
    call_command("mesh", "audit", "verify")
    out, err = capsys.readouterr()
    assert "Audit chain intact: 1 events verified." in out
    assert f"Warning: no head file at {audit_head_file}" in err


def test_an_unreadable_head_file_fails_the_check(
    committed_chain: list[AuditEvent], audit_head_file: Path
) -> None:
    audit_head_file.write_text("{not json")

    assert not verify_chain().ok
    with pytest.raises(CommandError, match=r"head file .* is unreadable"):
        call_command("mesh", "audit", "verify")


def test_a_corrupt_head_file_is_replaced_by_the_next_write(
    committed_chain: list[AuditEvent],
    audit_head_file: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    audit_head_file.write_text("")
    with django_capture_on_commit_callbacks(execute=True):
        event = ping(4)

    assert on_file(audit_head_file) == (event.id, event.hash)

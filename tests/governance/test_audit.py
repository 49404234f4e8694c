from __future__ import annotations

from itertools import pairwise

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet

from governance.audit import content_of, hash_of, record, verify_chain
from governance.models import AuditEvent
from products import services


@pytest.fixture
def chain(people) -> QuerySet[AuditEvent]:
    product = people.internal
    for title in ("One", "Two", "Three"):
        services.update_product(product=product, title=title, actor=people.engineer)
    return AuditEvent.objects.order_by("id")


def test_each_event_links_to_the_previous_hash(chain) -> None:
    events = list(chain)
    assert len(events) == 3
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))


def test_event_records_actor_action_target_before_and_after(people, chain) -> None:
    event = chain.last()
    assert event.actor_username == people.engineer.username
    assert event.action == "product.updated"
    assert event.target_repr == "sales/orders"
    assert event.before["title"] == "Two" and event.after["title"] == "Three"
    assert event.domain_slug == "sales"


def test_verify_passes_on_an_untouched_chain(chain, capsys) -> None:
    call_command("mesh", "audit", "verify")
    assert "3 events verified" in capsys.readouterr().out


def test_orm_cannot_update_or_delete_audit_rows(chain) -> None:
    for attempt in (lambda: chain.update(action="x"), lambda: chain.filter(pk=1).delete()):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert AuditEvent.objects.filter(action="x").count() == 0
    assert chain.count() == 3


def _tamper(sql: str, params: list[object]) -> None:
    """What an attacker with database rights does: drop the guard, rewrite, restore."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER USER")


def test_verify_names_the_row_edited_in_sql(chain) -> None:
    second = chain[1]
    _tamper(
        "UPDATE governance_auditevent SET after = %s WHERE id = %s", ['{"title": "X"}', second.id]
    )
    report = verify_chain()
    assert report.first_bad_id == second.id
    with pytest.raises(CommandError, match=f"#{second.id}"):
        call_command("mesh", "audit", "verify")


def test_verify_detects_a_deleted_row(chain) -> None:
    second = chain[1]
    _tamper("DELETE FROM governance_auditevent WHERE id = %s", [second.id])
    assert verify_chain().first_bad_id == second.id


def test_verify_detects_a_rehashed_row_by_the_broken_link(chain) -> None:
    first = chain[0]
    # Recomputing a row's own hash is not enough: the next row still points at the old one.
    _tamper("UPDATE governance_auditevent SET hash = %s WHERE id = %s", ["f" * 64, first.id])
    assert verify_chain().first_bad_id == first.id


def test_verify_detects_rows_cut_from_the_end(chain) -> None:
    last = chain.last()
    _tamper("DELETE FROM governance_auditevent WHERE id = %s", [last.id])
    assert verify_chain().first_bad_id == last.id


def test_a_write_through_the_api_is_audited_with_its_request_id(people, client) -> None:
    client.force_login(people.engineer)
    response = client.post(
        "/api/v1/products/",
        {"domain": "sales", "slug": "leads", "title": "Leads"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-123",
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "req-123"
    event = AuditEvent.objects.get(action="product.registered")
    assert (event.request_id, event.actor_username) == ("req-123", "ethan")


def test_outside_a_request_an_event_has_no_request_id(people) -> None:
    assert record(actor=people.admin, action="test.ping", target=people.sales).request_id == ""


def test_verify_detects_a_rewritten_and_rehashed_last_row(chain) -> None:
    last = chain.last()
    forged = {**content_of(last), "after": {"title": "Forged"}}
    _tamper(
        "UPDATE governance_auditevent SET after = %s, hash = %s WHERE id = %s",
        ['{"title": "Forged"}', hash_of(forged), last.id],
    )
    assert verify_chain().first_bad_id == last.id


def test_verify_detects_a_truncated_table(chain) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE governance_auditevent")
    assert verify_chain().first_bad_id == 1


def test_huge_whole_numbers_do_not_raise_a_false_alarm(people) -> None:
    for number in (1.5e20, 2.5e20, 0.1, 1e-7):
        record(actor=people.admin, action="test.number", target=people.sales, after={"n": number})
    assert verify_chain().ok

"""Exported JSON lines, verified without the database: `verify_export` and
`mesh audit verify --export FILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from governance.audit import (
    HASHED_FIELDS,
    content_of,
    export_line,
    hash_of,
    record,
    verify_export,
)
from governance.models import AuditEvent
from tests.factories import DomainFactory, UserFactory


@pytest.fixture
def chain(db: None) -> list[AuditEvent]:
    """Six events, alternately in sales and hr, read back from the database."""
    sales, hr = DomainFactory(slug="sales"), DomainFactory(slug="hr")
    ada = UserFactory(username="ada")
    for n in range(6):
        domain = (sales, hr)[n % 2]
        record(
            actor=ada, action="test.ping", target=domain, domain_slug=domain.slug, after={"n": n}
        )
    return list(AuditEvent.objects.order_by("id"))


def exported(events: list[AuditEvent]) -> list[bytes]:
    return [export_line(event) for event in events]


def forged(line: bytes, rehash: bool = False, **changes: Any) -> bytes:
    event = {**json.loads(line), **changes}
    if rehash:
        event["hash"] = hash_of({name: event[name] for name in HASHED_FIELDS})
    return json.dumps(event).encode() + b"\n"


def test_a_line_holds_every_hashed_field_as_hashed_and_the_hash(chain: list[AuditEvent]) -> None:
    line = json.loads(export_line(chain[0]))

    assert set(line) == {*HASHED_FIELDS, "hash"}
    assert {name: line[name] for name in HASHED_FIELDS} == content_of(chain[0])
    assert line["hash"] == chain[0].hash
    assert export_line(chain[0]).count(b"\n") == 1


def test_a_full_export_verifies_end_to_end(chain: list[AuditEvent]) -> None:
    report = verify_export(exported(chain))

    assert (report.ok, report.complete, report.checked) == (True, True, 6)
    assert (report.first_id, report.last_id, report.last_hash) == (1, 6, chain[-1].hash)


@pytest.mark.parametrize(
    ("field", "value"),
    [("after", {"n": 99}), ("actor_username", "mallory"), ("domain_slug", "hr"),
     ("occurred_at", "2020-01-01T00:00:00+00:00"), ("id", 30)],
)  # fmt: skip
def test_an_edited_line_is_named(chain: list[AuditEvent], field: str, value: Any) -> None:
    lines = exported(chain)
    lines[2] = forged(lines[2], **{field: value})

    report = verify_export(lines)

    assert report.first_bad_line == 3
    assert report.reason.endswith("content does not match its hash")
    assert report.checked == 2


def test_a_rehashed_line_breaks_the_link_from_the_next_one(chain: list[AuditEvent]) -> None:
    lines = exported(chain)
    lines[2] = forged(lines[2], rehash=True, after={"n": 99})

    report = verify_export(lines)

    assert report.first_bad_line == 4
    assert report.reason == "event #4: previous-hash link is broken"


def test_the_first_event_must_link_to_the_genesis_hash(chain: list[AuditEvent]) -> None:
    lines = exported(chain)
    lines[0] = forged(lines[0], rehash=True, prev_hash="f" * 64)

    assert verify_export(lines).first_bad_line == 1


def test_a_deleted_line_leaves_an_export_that_is_not_contiguous(chain: list[AuditEvent]) -> None:
    lines = exported(chain)
    del lines[3]

    report = verify_export(lines)

    assert report.ok and not report.complete
    assert (report.checked, report.skips) == (5, 1)


def test_a_filtered_export_checks_each_line_and_counts_the_skips(
    chain: list[AuditEvent],
) -> None:
    hr_only = [line for line in exported(chain) if json.loads(line)["domain_slug"] == "hr"]

    report = verify_export(hr_only)
    assert report.ok and not report.complete
    assert (report.checked, report.first_id, report.last_id, report.skips) == (3, 2, 6, 2)

    hr_only[1] = forged(hr_only[1], after={"n": 99})
    assert verify_export(hr_only).first_bad_line == 2


def test_lines_out_of_order_are_refused(chain: list[AuditEvent]) -> None:
    lines = exported(chain)
    lines[1], lines[2] = lines[2], lines[1]

    report = verify_export(lines)

    assert report.first_bad_line == 3
    assert "ids go backwards" in report.reason


@pytest.mark.parametrize(
    "bad", [b"not json\n", b"[1, 2]\n", b'"text"\n', b'{"id": 7}\n', b"\xff\xfe\n"]
)
def test_a_line_that_is_not_an_event_is_named(chain: list[AuditEvent], bad: bytes) -> None:
    lines = exported(chain)
    lines.insert(1, bad)

    report = verify_export(lines)

    assert report.first_bad_line == 2
    assert report.reason.startswith("not an audit event")


def test_blank_lines_are_skipped_and_still_counted_in_line_numbers(
    chain: list[AuditEvent],
) -> None:
    lines = exported(chain)
    lines.insert(1, b"\n")
    lines[3] = forged(lines[3], after={"n": 99})

    report = verify_export(lines)

    assert report.first_bad_line == 4
    assert verify_export([b"\n", b"  \n"]).checked == 0


# What PostgreSQL's jsonb stores: no NUL character, no lone surrogate.
texts = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)  # fmt: skip


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(after=st.dictionaries(texts, json_values))
def test_any_json_content_survives_the_database_and_the_export(db: None, after: Any) -> None:
    domain = DomainFactory(slug="sales")
    record(actor=None, action="test.any", target=domain, after=after)
    events = list(AuditEvent.objects.order_by("id"))  # as the database gives them back

    assert verify_export(exported(events)).complete


def write(path: Path, lines: list[bytes]) -> str:
    path.write_bytes(b"".join(lines))
    return str(path)


def test_mesh_verify_export_passes_a_full_export(
    chain: list[AuditEvent], tmp_path: Path, capsys: Any
) -> None:
    call_command(
        "mesh", "audit", "verify", "--export", write(tmp_path / "a.jsonl", exported(chain))
    )

    out = capsys.readouterr().out
    assert "Export intact: 6 events verified, the whole chain from #1 to #6" in out
    assert chain[-1].hash in out


def test_mesh_verify_export_names_the_first_bad_line(
    chain: list[AuditEvent], tmp_path: Path
) -> None:
    lines = exported(chain)
    lines[4] = forged(lines[4], actor_username="mallory")
    path = write(tmp_path / "a.jsonl", lines)

    with pytest.raises(CommandError, match=r"a\.jsonl, line 5: event #5: content does not match"):
        call_command("mesh", "audit", "verify", "--export", path)


def test_mesh_verify_export_reports_a_filtered_export_as_not_contiguous(
    chain: list[AuditEvent], tmp_path: Path, capsys: Any
) -> None:
    path = write(tmp_path / "a.jsonl", exported(chain)[1::2])

    call_command("mesh", "audit", "verify", "--export", path)

    out = capsys.readouterr().out
    assert "3 events, each matching its hash. Not contiguous" in out
    assert "starts at #2 and skips ids 2 time(s)" in out


def test_mesh_verify_export_needs_no_database(
    chain: list[AuditEvent], tmp_path: Path, django_assert_num_queries: Any
) -> None:
    path = write(tmp_path / "a.jsonl", exported(chain))

    with django_assert_num_queries(0):
        call_command("mesh", "audit", "verify", "--export", path)


def test_mesh_verify_export_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*nothing\.jsonl"):
        call_command("mesh", "audit", "verify", "--export", str(tmp_path / "nothing.jsonl"))

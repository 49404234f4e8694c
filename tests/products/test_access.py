"""Access requests and grants (products.access), and reading data masked by clearance
(products.data) on real Delta tables."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from governance.models import AuditEvent
from meshplatform import lake
from meshplatform.errors import Conflict, Forbidden, Invalid
from meshplatform.keys import quarantine_hash_key
from products import access, data
from products.contracts.enforce.masking import keyed_hash
from products.models import AccessRequest, DataProduct, Grant, Run, Status
from products.services import publish_contract
from products.tables import quarantine_uri, table_uri
from tests.factories import odcs_document

pytestmark = pytest.mark.django_db

# order_id: unlabelled (ranks as the product: internal); amount confidential; email PII,
# redacted; note public.
PROPERTIES = [
    {"name": "order_id", "logicalType": "string", "primaryKey": True},
    {"name": "amount", "logicalType": "number", "classification": "confidential"},
    {"name": "email", "logicalType": "string", "classification": "restricted",
     "customProperties": [{"property": "masking", "value": "redact"}]},
    {"name": "note", "logicalType": "string", "classification": "public"},
]  # fmt: skip
SCHEMA = pa.schema(
    [("order_id", pa.string()), ("amount", pa.float64()), ("email", pa.string()),
     ("note", pa.string())]
)  # fmt: skip
ROWS = {
    "order_id": ["a", "b", "c"],
    "amount": [1.5, 2.0, None],
    "email": ["ann@example.com", None, "cy@example.com"],
    "note": ["first", "second", "third"],
}


def h(value: str) -> str:
    return keyed_hash(value, quarantine_hash_key())


@pytest.fixture
def orders(people: SimpleNamespace, settings: Any, tmp_path: Path) -> DataProduct:
    settings.LAKE_URI = str(tmp_path / "lake")
    return orders_with_tables(people)


def orders_with_tables(people: SimpleNamespace) -> DataProduct:
    """sales/orders (internal) with the contract above and its output and quarantine tables
    (one run's, with its sample) under settings.LAKE_URI."""
    publish_contract(
        product=people.internal, document=odcs_document(properties=PROPERTIES), actor=people.owner
    )
    DataProduct.objects.filter(pk=people.internal.pk).update(status=Status.ACTIVE)
    product = DataProduct.objects.get(pk=people.internal.pk)
    run = Run.objects.create(product=product, trigger=Run.Trigger.MANUAL, status="succeeded")
    uri = table_uri("sales", "orders", "default")
    lake.ensure_table(uri, SCHEMA)
    lake.commit(uri, pa.table(ROWS, schema=SCHEMA), app_id="mesh:test", run=run.pk)
    bad = quarantine_uri("sales", "orders", "default")
    quarantined = {  # as the validator writes them: restricted values hashed already
        "order_id": ["x"], "amount": [-3.0], "email": [h("x@example.com")], "note": ["bad"],
        "_run": [run.pk],
    }  # fmt: skip
    lake.ensure_table(bad, SCHEMA.append(pa.field("_run", pa.int64())))
    lake.commit(bad, pa.table(quarantined), app_id="mesh:test", run=run.pk)
    Run.objects.filter(pk=run.pk).update(
        quarantine_sample=[{**{k: v[0] for k, v in quarantined.items()}, "_row": 1,
                            "_errors": [{"rule": "r", "field": "amount", "message": "< 0"}]}]
    )  # fmt: skip
    return product


def grant(people: SimpleNamespace, who: str = "outsider", **decision: Any) -> Grant:
    asked = access.request_access(
        product=people.internal, port="default", purpose="Monthly report",
        actor=getattr(people, who),
    )  # fmt: skip
    access.decide_request(access_request=asked, approve=True, actor=people.owner, **decision)
    return Grant.objects.get(request=asked)


# --- Requests and decisions -----------------------------------------------------------------


def test_a_request_waits_for_the_owners_and_is_audited(people: SimpleNamespace) -> None:
    asked = access.request_access(
        product=people.internal, port="default", purpose="Churn model", actor=people.outsider
    )

    assert asked.status == AccessRequest.Status.REQUESTED
    assert not Grant.objects.exists()
    event = AuditEvent.objects.get(action="access.requested")
    assert event.after["purpose"] == "Churn model" and event.actor == people.outsider


def test_approval_grants_the_products_classification_by_default_with_history(
    people: SimpleNamespace,
) -> None:
    given = grant(people)

    assert (given.consumer, given.clearance, given.granted_by) == (
        people.outsider, "internal", people.owner
    )  # fmt: skip
    assert not given.automatic and given.expires_at is None
    assert given.request.status == AccessRequest.Status.APPROVED
    assert given.request.decided_by == people.owner
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["access.requested", "access.approved", "access.granted"]


def test_approving_again_replaces_the_grant_and_keeps_the_old_one_as_history(
    people: SimpleNamespace,
) -> None:
    first = grant(people)
    second = grant(people, clearance="confidential")

    first.refresh_from_db()
    assert first.revoked_at is not None and first.revoked_by == people.owner
    assert Grant.objects.active(timezone.now()).get() == second
    assert second.clearance == "confidential"


def test_a_denied_request_grants_nothing(people: SimpleNamespace) -> None:
    asked = access.request_access(
        product=people.internal, port="default", purpose="x", actor=people.outsider
    )
    access.decide_request(access_request=asked, approve=False, actor=people.owner, note="No.")

    asked.refresh_from_db()
    assert (asked.status, asked.note) == (AccessRequest.Status.DENIED, "No.")
    assert not Grant.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied").count() == 1
    with pytest.raises(Conflict):
        access.decide_request(access_request=asked, approve=True, actor=people.owner)


@pytest.mark.parametrize("who", ["engineer", "viewer", "outsider", "governance"])
def test_only_owners_and_admins_decide(people: SimpleNamespace, who: str) -> None:
    asked = access.request_access(
        product=people.internal, port="default", purpose="x", actor=people.governance
    )
    with pytest.raises(Forbidden):
        access.decide_request(access_request=asked, approve=True, actor=getattr(people, who))
    asked.refresh_from_db()
    assert asked.status == AccessRequest.Status.REQUESTED


def test_the_products_named_owner_decides_even_as_an_engineer(people: SimpleNamespace) -> None:
    DataProduct.objects.filter(pk=people.internal.pk).update(owner=people.engineer)
    people.internal.refresh_from_db()
    asked = access.request_access(
        product=people.internal, port="default", purpose="x", actor=people.outsider
    )
    access.decide_request(access_request=asked, approve=True, actor=people.engineer)
    assert Grant.objects.filter(consumer=people.outsider).exists()


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"port": "nope"}, "port"),
        ({"purpose": "   "}, "purpose"),
        ({"requested_until": timezone.now() - timedelta(days=1)}, "requested_until"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    people: SimpleNamespace, fields: dict[str, Any], problem: str
) -> None:
    asked = {"port": "default", "purpose": "Report", **fields}
    before = AuditEvent.objects.count()
    with pytest.raises(Invalid) as refused:
        access.request_access(product=people.internal, actor=people.outsider, **asked)
    assert problem in refused.value.fields
    assert not AccessRequest.objects.exists() and AuditEvent.objects.count() == before


def test_members_need_no_grant_and_one_open_request_is_enough(people: SimpleNamespace) -> None:
    with pytest.raises(Conflict):
        access.request_access(
            product=people.internal, port="default", purpose="x", actor=people.viewer
        )
    access.request_access(
        product=people.internal, port="default", purpose="x", actor=people.outsider
    )
    with pytest.raises(Conflict):
        access.request_access(
            product=people.internal, port="default", purpose="y", actor=people.outsider
        )


def test_approval_with_an_end_in_the_past_is_refused(people: SimpleNamespace) -> None:
    asked = access.request_access(
        product=people.internal, port="default", purpose="x", actor=people.outsider
    )
    with pytest.raises(Invalid):
        access.decide_request(
            access_request=asked, approve=True, actor=people.owner,
            expires_at=timezone.now() - timedelta(minutes=1),
        )  # fmt: skip
    asked.refresh_from_db()
    assert asked.status == AccessRequest.Status.REQUESTED and not Grant.objects.exists()


def test_a_requester_cancels_their_own_request_only(people: SimpleNamespace) -> None:
    asked = access.request_access(
        product=people.internal, port="default", purpose="x", actor=people.outsider
    )
    with pytest.raises(Forbidden):
        access.cancel_request(access_request=asked, actor=people.owner)
    access.cancel_request(access_request=asked, actor=people.outsider)
    asked.refresh_from_db()
    assert asked.status == AccessRequest.Status.CANCELLED


# --- Expiry, renewal, revocation -------------------------------------------------------------


def test_an_expired_grant_stops_working_without_any_job(
    people: SimpleNamespace, orders: DataProduct
) -> None:
    given = grant(people, expires_at=timezone.now() + timedelta(hours=1))
    assert data.preview(orders, reader=people.outsider)["rows"]

    Grant.objects.filter(pk=given.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(data.AccessRequired):
        data.preview(orders, reader=people.outsider)
    access.renew_grant(grant=given, actor=people.owner, expires_at=None)
    assert data.preview(orders, reader=people.outsider)["rows"]
    assert AuditEvent.objects.filter(action="access.renewed").count() == 1


def test_revoked_grants_stop_reading_and_consumers_give_up_their_own(
    people: SimpleNamespace, orders: DataProduct
) -> None:
    given = grant(people)
    with pytest.raises(Forbidden):
        access.revoke_grant(grant=given, actor=people.viewer)
    with pytest.raises(Forbidden):
        access.renew_grant(grant=given, actor=people.outsider, expires_at=None)

    access.revoke_grant(grant=given, actor=people.outsider)

    given.refresh_from_db()
    assert given.revoked_by == people.outsider
    with pytest.raises(data.AccessRequired):
        data.download(orders, reader=people.outsider, fmt="csv")
    with pytest.raises(Conflict):
        access.renew_grant(grant=given, actor=people.owner, expires_at=None)
    assert AuditEvent.objects.filter(action="access.revoked").count() == 1


# --- Auto-grant ---------------------------------------------------------------------------


@pytest.mark.parametrize("classification", ["public", "internal"])
def test_public_and_internal_products_grant_at_once_with_their_own_clearance(
    people: SimpleNamespace, classification: str
) -> None:
    DataProduct.objects.filter(pk=people.internal.pk).update(classification=classification)
    people.internal.refresh_from_db()
    access.set_auto_grant(product=people.internal, enabled=True, actor=people.owner)

    asked = access.request_access(
        product=people.internal, port="default", purpose="x", actor=people.outsider
    )

    given = Grant.objects.get(request=asked)
    assert asked.status == AccessRequest.Status.APPROVED
    assert (given.clearance, given.automatic, given.granted_by) == (classification, True, None)


@pytest.mark.parametrize("classification", ["confidential", "restricted"])
def test_auto_grant_is_refused_for_confidential_and_restricted_products(
    people: SimpleNamespace, classification: str
) -> None:
    DataProduct.objects.filter(pk=people.internal.pk).update(classification=classification)
    people.internal.refresh_from_db()
    with pytest.raises(Invalid) as refused:
        access.set_auto_grant(product=people.internal, enabled=True, actor=people.owner)
    assert "auto_grant" in refused.value.fields
    assert not DataProduct.objects.get(pk=people.internal.pk).auto_grant


def test_a_reclassified_product_stops_granting_automatically(people: SimpleNamespace) -> None:
    access.set_auto_grant(product=people.internal, enabled=True, actor=people.owner)
    people.internal.classification = "confidential"
    people.internal.save(update_fields=["classification"])

    access.keep_auto_grant_allowed(product=people.internal, actor=people.owner)

    assert not DataProduct.objects.get(pk=people.internal.pk).auto_grant
    assert AuditEvent.objects.filter(action="product.auto_grant_changed").count() == 2


def test_only_deciders_switch_auto_grant(people: SimpleNamespace) -> None:
    with pytest.raises(Forbidden):
        access.set_auto_grant(product=people.internal, enabled=True, actor=people.engineer)


# --- Reading, masked by clearance -----------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "engineer", "owner", "admin"])
def test_the_domain_and_admins_read_unmasked(
    people: SimpleNamespace, orders: DataProduct, who: str
) -> None:
    shown = data.preview(orders, reader=getattr(people, who))
    assert shown["masked"] == {}
    assert sorted(row["email"] or "" for row in shown["rows"]) == [
        "", "ann@example.com", "cy@example.com"
    ]  # fmt: skip


@pytest.mark.parametrize("who", ["outsider", "governance"])
def test_everyone_else_needs_a_grant(
    people: SimpleNamespace, orders: DataProduct, who: str
) -> None:
    with pytest.raises(data.AccessRequired):
        data.preview(orders, reader=getattr(people, who))
    with pytest.raises(data.AccessRequired):
        data.quarantine(orders, reader=getattr(people, who))


def test_an_internal_clearance_hashes_confidential_and_redacts_restricted_fields(
    people: SimpleNamespace, orders: DataProduct
) -> None:
    grant(people)

    shown = data.preview(orders, reader=people.outsider)

    rows = {row["order_id"]: row for row in shown["rows"]}
    assert shown["masked"] == {"amount": "hash", "email": "redact"}
    assert rows["a"] == {"order_id": "a", "amount": h("1.5"), "email": "***", "note": "first"}
    assert rows["b"]["email"] is None and rows["c"]["amount"] is None  # nulls stay null


def test_a_public_clearance_also_hides_fields_labelled_as_the_product(
    people: SimpleNamespace, orders: DataProduct
) -> None:
    grant(people, clearance="public")

    rows = {row["note"]: row for row in data.preview(orders, reader=people.outsider)["rows"]}

    assert rows["first"]["order_id"] == h("a")  # unlabelled: as the product, internal


def test_a_restricted_clearance_reads_everything(
    people: SimpleNamespace, orders: DataProduct
) -> None:
    grant(people, clearance="restricted")
    shown = data.preview(orders, reader=people.outsider)
    assert shown["masked"] == {}
    assert {row["email"] for row in shown["rows"]} == {"ann@example.com", None, "cy@example.com"}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_downloads_are_masked_like_the_preview(
    people: SimpleNamespace, orders: DataProduct, fmt: str
) -> None:
    grant(people)

    file = data.download(orders, reader=people.outsider, fmt=fmt)
    raw = io.BytesIO(b"".join(file.chunks))
    table = pq.read_table(raw) if fmt == "parquet" else pacsv.read_csv(raw)

    rows = {row["order_id"]: row for row in table.to_pylist()}
    assert rows["a"]["amount"] == h("1.5") and rows["a"]["email"] == "***"
    assert rows["a"]["note"] == "first"
    assert b"ann@example.com" not in raw.getvalue()


def test_quarantined_rows_keep_their_hashes_and_mask_the_rest(
    people: SimpleNamespace, orders: DataProduct
) -> None:
    grant(people, clearance="confidential")
    run = orders.runs.get()

    [row] = data.quarantine(orders, reader=people.outsider, run=run.pk)
    [sample] = data.quarantine_sample(run, reader=people.outsider) or []

    assert row["amount"] == -3.0  # confidential: cleared
    assert row["email"] == "***"  # restricted, redacted as the contract says
    assert sample["email"] == "***" and sample["_errors"][0]["field"] == "amount"
    assert data.quarantine_sample(run, reader=people.governance) is None


def test_quarantined_restricted_values_are_not_hashed_twice(
    people: SimpleNamespace, orders: DataProduct
) -> None:
    fields = [{"name": "email", "classification": "restricted"}]
    masking = data.masking_for(fields, "internal", "internal")
    table = pa.table({"email": [h("x@example.com")], "_run": [1]})

    masked = data.mask_table(table, masking, quarantined=True)

    assert masked.column("email").to_pylist() == [h("x@example.com")]
    assert masked.column("_run").to_pylist() == [1]


@pytest.mark.parametrize(
    ("spec", "rank"),
    [({"pii": True}, 3), ({"classification": "PII"}, 3), ({"classification": "sensitive"}, 3),
     ({"classification": "top-secret"}, 3), ({"classification": "public"}, 0), ({}, 1)],
)  # fmt: skip
def test_field_ranks(spec: dict[str, Any], rank: int) -> None:
    assert data.field_rank({"name": "x", **spec}, 1) == rank

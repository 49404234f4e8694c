"""Breaking contract versions: who is told in the portal, and the signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from domains.models import Role
from products import access, notify
from products.models import Notification, Status
from products.services import publish_contract
from products.tasks import deliver_breaking_change_task
from tests.api.conftest import BREAKING_PROPERTIES
from tests.factories import MembershipFactory, ProductFactory, UserFactory, odcs_document

pytestmark = pytest.mark.django_db
SECRET = "webhook-secret-for-tests"


@pytest.fixture
def affected(people: SimpleNamespace) -> SimpleNamespace:
    """sales/orders v1 with one consumer, an hr product reading it, and a bystander."""
    publish_contract(product=people.internal, document=odcs_document(), actor=people.owner)
    asked = access.request_access(
        product=people.internal, port="default", purpose="Report", actor=people.governance
    )
    access.decide_request(access_request=asked, approve=True, actor=people.owner)
    reads = {"inputs": [{"name": "orders", "product": {"address": "sales/orders"}}]}
    reader = ProductFactory(domain=people.hr, slug="headcount", pipeline=reads)
    ProductFactory(domain=people.hr, slug="mentions", pipeline={"note": '"sales/orders"'})
    ProductFactory(domain=people.hr, slug="old", pipeline=reads, status=Status.RETIRED)
    hr_engineer = MembershipFactory(domain=people.hr, user=UserFactory(), role=Role.ENGINEER).user
    hr_viewer = MembershipFactory(domain=people.hr, user=UserFactory(), role=Role.VIEWER).user
    return SimpleNamespace(reader=reader, hr_engineer=hr_engineer, hr_viewer=hr_viewer)


def publish_breaking(people: SimpleNamespace) -> Any:
    document = odcs_document(version="2.0.0", properties=BREAKING_PROPERTIES)
    return publish_contract(product=people.internal, document=document, actor=people.owner)


def test_the_audience_is_the_grant_holders_and_the_products_that_really_read_it(
    people: SimpleNamespace, affected: SimpleNamespace
) -> None:
    audience = notify.breaking_change_audience(people.internal)

    assert audience.consumers == [people.governance]
    assert audience.downstream == [affected.reader]  # not the mere mention, not the retired


def test_a_breaking_version_notifies_consumers_and_downstream_teams_only(
    people: SimpleNamespace, affected: SimpleNamespace, settings: Any
) -> None:
    settings.NOTIFY_WEBHOOK_URL = ""
    publish_breaking(people)

    told = set(Notification.objects.values_list("user__username", flat=True))
    # The consumer, the hr owner (outsider) and engineer; not the hr viewer nor the publisher.
    assert told == {"grace", "oscar", affected.hr_engineer.username}
    note = Notification.objects.first()
    assert note is not None and "2.0.0" in note.text and note.link == "/p/sales/orders/diff/"


def test_a_compatible_version_notifies_nobody(
    people: SimpleNamespace, affected: SimpleNamespace
) -> None:
    publish_contract(
        product=people.internal, document=odcs_document(version="1.1.0"), actor=people.owner
    )
    assert not Notification.objects.exists()


def test_the_webhook_is_enqueued_on_commit_only_when_configured(
    people: SimpleNamespace, affected: SimpleNamespace, settings: Any,
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sent: list[tuple[str, Any]] = []
    monkeypatch.setattr(notify.app, "send_task", lambda name, args: sent.append((name, args)))
    settings.NOTIFY_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_breaking(people)
    assert sent == [(notify.WEBHOOK_TASK, [version.pk])]


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    answers: list[int] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(self.answers.pop(0) if self.answers else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.answers = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_the_webhook_delivers_a_signed_message_a_receiver_can_verify(
    people: SimpleNamespace, affected: SimpleNamespace, settings: Any, receiver: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET = receiver, SECRET
    version = publish_breaking(people)

    deliver_breaking_change_task.apply(args=[version.pk]).get()

    [(headers, body)] = Receiver.received
    timestamp = headers["X-Mesh-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Mesh-Signature"] == f"sha256={expected.hexdigest()}"
    message = json.loads(body)
    assert message["event"] == "contract.breaking_change" and message["version"] == "2.0.0"
    assert message["consumers"] == ["grace"] and message["downstream"] == ["hr/headcount"]
    assert message["breaking_changes"]
    assert SECRET not in caplog.text


def test_a_failing_receiver_is_retried_with_backoff(
    people: SimpleNamespace, affected: SimpleNamespace, settings: Any, receiver: str
) -> None:
    settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET = receiver, SECRET
    version = publish_breaking(people)
    Receiver.answers = [503]

    with pytest.raises(notify.WebhookFailed):
        notify.deliver_breaking_change(version.pk)
    notify.deliver_breaking_change(version.pk)  # the retry

    assert len(Receiver.received) == 2
    task = deliver_breaking_change_task
    assert notify.WebhookFailed in task.autoretry_for and task.retry_backoff


def test_notifications_are_marked_read(people: SimpleNamespace) -> None:
    first = Notification.objects.create(user=people.outsider, text="a")
    Notification.objects.create(user=people.outsider, text="b")
    Notification.objects.create(user=people.viewer, text="c")

    assert notify.mark_read(user=people.outsider, notification_id=first.pk) == 1
    assert notify.mark_read(user=people.outsider) == 1
    assert Notification.objects.unread().get().user == people.viewer

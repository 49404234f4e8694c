"""set_connection refuses a postgres URL that reaches the platform's own database.

Other spellings of the same server (localhost, loopback addresses, the default port, a host
list) are tested on `points_at_database` itself, in tests/pipeline/test_secrets.py: they do
not depend on where the test database runs.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings

from governance.models import AuditEvent
from meshplatform.errors import Invalid
from products import runs
from products.models import Connection

PASSWORD = "hunter2-secret"


def platform_url(host: str | None = None, port: str | None = None, name: str | None = None) -> str:
    """A URL to the test database, with `host`, `port` or `name` changed when given."""
    db = settings.DATABASES["default"]
    if host is None:
        host = db.get("HOST") or "localhost"
    if port is None:
        port = str(db.get("PORT") or "")
    location = f"{host}:{port}" if port else host
    return f"postgresql://loader:{PASSWORD}@{location}/{name or db['NAME']}"


def add(people: SimpleNamespace, url: str) -> Connection:
    return runs.set_connection(
        domain=people.sales, name="sales-db", kind="postgres", url=url, actor=people.engineer
    )


# Built in the test: the test database's name is only set once the session has begun.
@pytest.mark.parametrize(
    ("host", "port", "query"),
    [
        (None, None, ""),
        (None, None, "?sslmode=disable&application_name=x"),
    ],
)
def test_set_connection_refuses_the_platforms_own_database(
    people: SimpleNamespace, host: str | None, port: str | None, query: str
) -> None:
    platform = settings.DATABASES["default"]
    assert platform["NAME"].startswith("test_")

    with pytest.raises(Invalid) as raised:
        add(people, platform_url(host, port) + query)

    assert set(raised.value.fields) == {"url"}
    assert PASSWORD not in str(raised.value.as_dict())
    assert not Connection.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="connection.").exists()


@pytest.mark.parametrize(
    ("host", "port", "name"),
    [(None, None, "postgres"), (None, "1", None), ("db.internal", None, None)],
)
def test_set_connection_accepts_another_database_or_server(
    people: SimpleNamespace, host: str | None, port: str | None, name: str | None
) -> None:
    connection = add(people, platform_url(host, port, name))

    assert connection.display.startswith("postgresql://loader:***@")
    assert AuditEvent.objects.filter(action="connection.created").count() == 1

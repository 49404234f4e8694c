"""Readiness within a second, whatever hangs: database, broker, lake, and workers reported."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshplatform import health


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: a dependency that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture(autouse=True)
def fresh_worker_cache(settings, tmp_path: Path) -> None:
    settings.LAKE_URI = str(tmp_path / "lake")
    health._workers_seen.at = -health.WORKERS_CACHE_SECONDS


@pytest.mark.django_db
def test_ready_with_database_broker_and_lake_and_says_how_many_workers(client) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"] and checks["lake"]["ok"]
    assert "workers" in checks  # reported, not required: no worker runs in this test


@pytest.mark.django_db
def test_a_hanging_broker_is_reported_within_a_second(client, settings, blackhole) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{blackhole}/0"
    started = time.perf_counter()
    response = client.get("/readyz")
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_a_hanging_object_store_is_reported_within_a_second(
    client, settings, blackhole, monkeypatch
) -> None:
    settings.LAKE_URI = "s3://lake/mesh"
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{blackhole}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    started = time.perf_counter()
    response = client.get("/readyz")
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 503
    assert response.json()["checks"]["lake"] == {"ok": False, "error": "timeout"}


@pytest.mark.django_db
def test_a_lake_root_that_is_a_file_is_not_ready(client, settings, tmp_path) -> None:
    (tmp_path / "not-a-dir").write_text("x")
    settings.LAKE_URI = str(tmp_path / "not-a-dir" / "lake")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["lake"]["ok"] is False

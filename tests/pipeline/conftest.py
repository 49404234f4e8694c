"""A real Celery worker process on the test database, Redis, and a temporary lake."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from pyarrow import fs

from domains.models import Role
from meshplatform.celery import app
from tests.factories import DomainFactory, MembershipFactory, UserFactory

READY_SECONDS = 30.0


def database_url() -> str:
    db = django_settings.DATABASES["default"]
    user, host, port = db.get("USER") or "postgres", db.get("HOST") or "", db.get("PORT") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    location = f"{host}:{port}" if port else host
    return f"postgres://{user}{password}@{location}/{connection.settings_dict['NAME']}"


@pytest.fixture
def lake_dirs(tmp_path: Path, settings: Any) -> dict[str, Path]:
    dirs = {name: tmp_path / name for name in ("lake", "inbox", "var")}
    dirs["landing"] = dirs["inbox"] / "sales"  # where the domain `sales` may read files
    for path in dirs.values():
        path.mkdir()
    settings.LAKE_URI = str(dirs["lake"])
    settings.PIPELINE_FILE_ROOTS = [str(dirs["inbox"])]
    settings.LINEAGE_DIR = str(dirs["var"] / "lineage")
    return dirs


@pytest.fixture
def worker(transactional_db: None, lake_dirs: dict[str, Path]) -> Iterator[subprocess.Popen]:
    """A Celery worker (prefork, 2 children) consuming a queue of this test's own."""
    if not django_settings.CELERY_BROKER_URL.startswith("redis://"):
        # Runs depend on Redis delivery (acks late, redelivery): never pass them by silently.
        pytest.fail("The worker tests need CELERY_BROKER_URL=redis://... (make test sets it).")
    queue = f"test-{uuid.uuid4().hex[:10]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LAKE_URI": str(lake_dirs["lake"]),
        "PIPELINE_FILE_ROOTS": str(lake_dirs["inbox"]),
        "MESH_VAR_DIR": str(lake_dirs["var"]),
        "SECRET_KEY": django_settings.SECRET_KEY,
        "RUN_RETRY_BASE_SECONDS": "0.2",
        "RUN_MAX_RETRIES": "2",
    }
    log = lake_dirs["var"] / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "meshplatform", "worker", "-Q", queue,
         "-c", "2", "--without-gossip", "--without-mingle", "-l", "INFO"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + READY_SECONDS
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    app.conf.task_default_queue = previous_queue
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def wait_for(check: Any, timeout: float = 30.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def engineer(worker: Any) -> Any:
    """An engineer of `sales`, with a worker running."""
    user = UserFactory(username="ethan")
    MembershipFactory(domain=DomainFactory(slug="sales"), user=user, role=Role.ENGINEER)
    return user


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local server speaking the S3 protocol (moto), for the lake's object-store paths."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"moto did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The AWS_* variables pointed at the moto server, and a fresh bucket `landing`."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    bucket = f"landing-{uuid.uuid4().hex[:8]}"
    filesystem = fs.S3FileSystem(
        endpoint_override=s3_endpoint.removeprefix("http://"), scheme="http",
        region="us-east-1", allow_bucket_creation=True,
    )  # fmt: skip
    filesystem.create_dir(bucket)
    return SimpleNamespace(filesystem=filesystem, bucket=bucket)

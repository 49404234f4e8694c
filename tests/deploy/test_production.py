"""The production deployment, started for real from the Procfile: PostgreSQL, Redis, gunicorn,
two Celery workers (one holding the domain's run queue) and beat, in production settings. A
product is registered, run and read back over HTTP, as an operator's smoke test would."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import redis
import yaml
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from psycopg import sql

from tests.pipeline.helpers import ORDERS_CONTRACT

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = secrets.token_urlsafe(16)
STARTUP_SECONDS = 40.0
RUN_SECONDS = 60.0

pytestmark = pytest.mark.slow


def procfile() -> dict[str, str]:
    """The Procfile's process types and their commands (comments and blank lines skipped)."""
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            entries[match.group(1)] = match.group(2)
    return entries


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_url(database: str) -> str:
    """A URL for `database` on the PostgreSQL server the test settings use."""
    db = django_settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or "5432"
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{port}/{database}"


def maintenance_connection() -> psycopg.Connection[Any]:
    return psycopg.connect(server_url("postgres"), autocommit=True)


class Deployment:
    """Processes started from the Procfile, each in its own session (so all its children can
    be stopped), logging to a file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.commands = procfile()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def run(self, kind: str, **extra: str) -> None:
        """A one-off process (release) to completion."""
        done = subprocess.run(
            ["sh", "-c", self.commands[kind]], cwd=ROOT, env={**self.env, **extra},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{kind} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"

    def start(self, name: str, kind: str, **extra: str) -> None:
        self.processes[name] = subprocess.Popen(
            ["sh", "-c", self.commands[kind]], cwd=ROOT, env={**self.env, **extra},
            stdout=(self.logs / f"{name}.log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_for_log(self, name: str, text: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while text not in self.log(name):
            self.check_alive()
            assert time.monotonic() < deadline, f"{name} did not start:\n{self.log(name)[-3000:]}"
            time.sleep(0.2)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"

    def stop(self) -> None:
        """TERM every process group (warm shutdown), then KILL what is left after 20 s."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


class Client:
    """JSON over HTTP to gunicorn, with a token once signed in."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json", "Host": "127.0.0.1"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def is_ready(self) -> bool:
        try:
            return self.call("GET", "/readyz")[0] == 200
        except urllib.error.URLError:  # not listening yet
            return False


def poll(check: Any, timeout: float, what: str, deployment: Deployment) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.check_alive()
        value = check()
        if value:
            return value
        time.sleep(0.25)
    logs = "\n".join(f"--- {n}\n{deployment.log(n)[-1500:]}" for n in deployment.processes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The whole deployment on a database and queues of its own; stopped and dropped after."""
    broker = django_settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        pytest.fail("The deployment test needs CELERY_BROKER_URL=redis://... (make test sets it).")
    unique = secrets.token_hex(4)
    database, queue, domain = f"test_deploy_{unique}", f"deploy-{unique}", f"shop-{unique}"
    for folder in ("lake", f"inbox/{domain}", "var", "logs"):
        (tmp_path / folder).mkdir(parents=True)
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CELERY_", "DJANGO_ALLOW", "PYTEST", "RUN_", "WORKER_"))
    }
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "meshplatform.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECRETS_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": server_url(database),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "RUN_QUEUE_PER_DOMAIN": "true",
        "LAKE_URI": str(tmp_path / "lake"),
        "PIPELINE_FILE_ROOTS": str(tmp_path / "inbox"),
        "MESH_VAR_DIR": str(tmp_path / "var"),
        "OPENLINEAGE_TRANSPORT": "none",
        "PORT": str(port),
        "BIND_ADDRESS": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "WORKER_CONCURRENCY": "1",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    })  # fmt: skip
    with maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    running = Deployment(env, tmp_path / "logs")
    try:
        running.run("release")
        manage = [sys.executable, "manage.py", "createsuperuser", "--noinput",
                  "--username", "operator", "--email", "operator@example.com"]  # fmt: skip
        subprocess.run(manage, cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
        running.start("web", "web")
        # The domain's runs go to `runs.<domain>`: only the first worker takes that queue.
        running.start("worker-runs", "worker", WORKER_NAME="runs", RUN_QUEUES=f"runs.{domain}")
        running.start("worker-default", "worker", WORKER_NAME="default")
        running.start("beat", "beat")
        for name in ("worker-runs", "worker-default"):
            running.wait_for_log(name, "ready.")
        running.wait_for_log("beat", "beat: Starting")
        yield SimpleNamespace(
            base=f"http://127.0.0.1:{port}", env=env, domain=domain, queue=queue,
            inbox=tmp_path / "inbox" / domain, processes=running, tmp=tmp_path,
        )  # fmt: skip
    finally:
        running.stop()
        # The test's queues, their bindings and any message left in them: every key with its
        # token in the name.
        broker_redis = redis.Redis.from_url(broker)
        for key in broker_redis.scan_iter(match=f"*{unique}*"):
            broker_redis.delete(key)
        broker_redis.close()
        with maintenance_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


def test_a_product_runs_through_the_production_deployment(deployment: SimpleNamespace) -> None:
    started = time.monotonic()
    processes: Deployment = deployment.processes
    client = Client(deployment.base)
    poll(client.is_ready, 30, "gunicorn to answer", processes)
    status, body = client.call(
        "POST", "/api/v1/auth/token/", {"username": "operator", "password": PASSWORD}
    )
    assert status == 201, body
    client.token = body["token"]
    domain = deployment.domain
    status, body = client.call(
        "POST", "/api/v1/domains/", {"slug": domain, "name": "Shop", "owner": "operator"}
    )
    assert status == 201, body

    # The product as code, applied the way a domain team's CI does it.
    (deployment.inbox / "orders-1.csv").write_text(
        "order_id,amount,country\n1,10.5,FR\n2,-3,DE\n3,7,\n4,20,NL\n"
    )
    files = deployment.tmp / "product"
    files.mkdir()
    (files / "orders.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1.0.0", "kind": "DataProduct", "id": "orders", "domain": domain,
        "status": "active", "outputPorts": [{"name": "default", "contractId": "orders"}],
        "customProperties": [{"property": "pipeline", "value": {
            "inputs": [{"name": "orders", "files": {"path": "orders-*.csv"}}],
        }}],
    }))  # fmt: skip
    (files / "orders-contract.json").write_text(json.dumps(ORDERS_CONTRACT))
    apply = subprocess.run(
        [sys.executable, "manage.py", "mesh", "apply", "-f", str(files / "orders.yaml"),
         "-f", str(files / "orders-contract.json"), "--as", "operator"],
        cwd=ROOT, env=deployment.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert apply.returncode == 0, apply.stdout + apply.stderr

    product = f"/api/v1/products/{domain}/orders"

    def triggered() -> Any:
        # 409 until a worker has provisioned the product's tables.
        status, body = client.call("POST", f"{product}/runs/")
        assert status in (202, 409), body
        return body if status == 202 else None

    run = poll(triggered, 30, "the tables to be provisioned", processes)

    def finished() -> Any:
        status, body = client.call("GET", f"{product}/runs/{run['id']}/")
        assert status == 200, body
        return body if body["status"] not in ("queued", "running") else None

    run = poll(finished, RUN_SECONDS, f"run {run['id']} to finish", processes)
    assert run["status"] == "succeeded", run
    assert (run["rows_read"], run["rows_written"], run["rows_quarantined"]) == (4, 2, 2)

    status, preview = client.call("GET", f"{product}/preview/")
    assert status == 200, preview
    assert sorted(row["order_id"] for row in preview["rows"]) == [1, 4]
    assert preview["version"] == run["output_version"]

    status, health = client.call("GET", "/readyz")
    assert (status, health["status"]) == (200, "ok"), health
    # The run went to the domain's queue, so only the worker that holds it ran it.
    received = re.compile(r"Task products\.tasks\.execute_run_task\[[0-9a-f-]+\] received")
    assert received.search(processes.log("worker-runs"))
    assert not received.search(processes.log("worker-default"))
    assert f'"POST {product}/runs/' in processes.log("web")  # the access log, on stdout
    processes.check_alive()
    assert time.monotonic() - started < 60

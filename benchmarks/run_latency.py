"""Time from "Run now" to a worker starting the run, on Redis, and a small run's duration.

Runs against PostgreSQL (DATABASE_URL) in a throw-away database and Redis (CELERY_BROKER_URL),
with a real Celery worker (prefork, 2 children) on a queue of its own. Each run is triggered
through the same service the portal button calls; latency is the Run row's `started_at`
(set by the worker when it claims the run) minus its `created_at` (set when it is queued).
Usage: python benchmarks/run_latency.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshplatform.settings")

CONTRACT = """
apiVersion: v3.1.0
kind: DataContract
id: events
version: 1.0.0
status: active
schema:
  - name: events
    properties:
      - {name: id, logicalType: integer, primaryKey: true}
      - {name: kind, logicalType: string, required: true}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from domains.models import Domain, Membership, Role
    from meshplatform.celery import app
    from products import provisioning, services
    from products.models import DataProduct, Status

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        raise SystemExit("Set CELERY_BROKER_URL to a Redis URL (make bench does).")
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    work = Path(tempfile.mkdtemp(prefix="run-latency-"))
    (work / "inbox" / "bench").mkdir(parents=True)  # the domain's own folder
    settings.LAKE_URI = str(work / "lake")
    settings.PIPELINE_FILE_ROOTS = [str(work / "inbox")]
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LAKE_URI": settings.LAKE_URI,
        "PIPELINE_FILE_ROOTS": str(work / "inbox"),
        "MESH_VAR_DIR": str(work),
        "SECRET_KEY": settings.SECRET_KEY,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "meshplatform", "worker", "-Q", queue, "-c", "2",
         "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_user("bench", password="bench-password-123")
        domain = Domain.objects.create(slug="bench", name="Bench")
        Membership.objects.create(domain=domain, user=user, role=Role.ENGINEER)
        product = services.register_product(
            domain=domain, slug="events", title="Events", actor=user
        )
        services.publish_contract(product=product, document=CONTRACT, actor=user)
        spec = {"inputs": [{"name": "events", "files": {"path": "*.csv"}}]}
        DataProduct.objects.filter(pk=product.pk).update(status=Status.ACTIVE, pipeline=spec)
        provisioning.provision_product(product.pk)
        product.refresh_from_db()
        time.sleep(3)  # the worker's start
        measure(product, user, work, args.runs)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        connection.creation.destroy_test_db(old_name, verbosity=0)


def measure(product: Any, user: Any, work: Path, count: int) -> None:
    from products import runs
    from products.models import Run

    latencies, durations = [], []
    for i in range(count):
        (work / "inbox" / "bench" / f"{i}.csv").write_text(f"id,kind\n{i},click\n")
        run = runs.trigger_run(product=product, actor=user)
        deadline = time.monotonic() + 60
        while True:
            run.refresh_from_db()
            if not run.is_active or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert run.status == Run.Status.SUCCEEDED, (run.status, run.error)
        assert run.started_at is not None and run.finished_at is not None
        latencies.append((run.started_at - run.created_at).total_seconds() * 1000)
        durations.append((run.finished_at - run.started_at).total_seconds() * 1000)
    slowest = latencies.index(max(latencies)) + 1
    latencies.sort()
    print(f"Run now -> worker starts the run, {count} runs, Redis, PostgreSQL, 2 cores")
    print(
        f"  p50 {statistics.median(latencies):.0f} ms   "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.0f} ms   "
        f"max {latencies[-1]:.0f} ms (run {slowest})"
    )
    print(f"  a one-row run (extract, check, two Delta commits): p50 "
          f"{statistics.median(durations):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()

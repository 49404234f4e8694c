"""Liveness and readiness, as JSON, within a second even when a dependency hangs.

`/healthz`: the process answers. `/readyz`: the database, the broker and the lake answer (each
probe in its own thread, all of them given one deadline, so one that hangs is reported as
timed out instead of holding the request), and whether any worker answers a ping. Workers
are reported, not required: a web process without workers still serves the catalog, and an
operator's monitor reads `checks.workers`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from meshplatform.celery import app as celery_app

DEADLINE_SECONDS = 0.7  # all probes together: the answer within a second, with room for load
WORKER_PING_SECONDS = 0.5
WORKERS_CACHE_SECONDS = 10.0  # a probe every few seconds must not broadcast every time
# Probes that hang keep their thread until they return; a small pool bounds how many can.
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


@dataclass
class _Seen:
    """The last ping's answer, shared by the request threads."""

    at: float = -WORKERS_CACHE_SECONDS
    names: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_workers_seen = _Seen()


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    # Its own connection, closed at once: a pool thread must not hold one open between probes.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def _broker() -> None:
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


def _lake() -> None:
    """The lake's root can be listed: a local directory (or where it will be created) that
    this process may write, or the S3 prefix."""
    uri = settings.LAKE_URI
    if uri.startswith("s3://"):
        from meshplatform.lake import s3_filesystem  # noqa: PLC0415 (pyarrow's S3 on demand)

        s3_filesystem().get_file_info(uri.removeprefix("s3://"))
        return
    path = Path(uri)
    while not path.exists() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        raise NotADirectoryError(str(path))
    if not os.access(path, os.W_OK):
        raise PermissionError(f"{path} is not writable")


def workers_answering() -> list[str]:
    """The workers that answered a ping, cached for WORKERS_CACHE_SECONDS; raises if the
    broker cannot be reached."""
    seen = _workers_seen
    with seen.lock:
        if time.monotonic() - seen.at < WORKERS_CACHE_SECONDS:
            return list(seen.names)
    replies = celery_app.control.ping(timeout=WORKER_PING_SECONDS) or []
    names = sorted(name for reply in replies for name in reply)
    with seen.lock:
        seen.at, seen.names = time.monotonic(), names
    return names


def _timed(probe: Callable[[], object]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        result = probe()
    except Exception as exc:  # a readiness probe reports every failure, never raises
        return {"ok": False, "error": type(exc).__name__}
    answer: dict[str, object] = {"ok": True, "ms": round((time.perf_counter() - started) * 1e3, 1)}
    if isinstance(result, list):
        answer.update(ok=bool(result), workers=result)
    return answer


def readyz(request: HttpRequest) -> JsonResponse:
    probes = {"database": _database, "broker": _broker, "lake": _lake, "workers": workers_answering}
    futures = {name: _pool.submit(_timed, probe) for name, probe in probes.items()}
    wait(futures.values(), timeout=DEADLINE_SECONDS)
    checks = {
        name: future.result() if future.done() else {"ok": False, "error": "timeout"}
        for name, future in futures.items()
    }
    ready = all(checks[name]["ok"] for name in ("database", "broker", "lake"))
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )

"""Liveness and readiness, as JSON, quick even when a dependency is slow."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from meshplatform.celery import app as celery_app


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


def _check(probe: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # a readiness probe reports every failure, never raises
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check(_database), "broker": _check(_broker)}
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )

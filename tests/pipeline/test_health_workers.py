"""Readiness reports the workers that answer a ping, with a real worker process."""

from __future__ import annotations

from typing import Any

import pytest

from meshplatform import health

pytestmark = pytest.mark.slow


def test_readyz_names_the_workers_that_answer(client: Any, worker: Any) -> None:
    health._workers_seen.at = -health.WORKERS_CACHE_SECONDS
    body = client.get("/readyz").json()
    assert body["checks"]["workers"]["ok"] is True
    assert any(name.startswith("celery@") for name in body["checks"]["workers"]["workers"])

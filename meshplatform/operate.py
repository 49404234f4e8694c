"""The operator page: workers online, queue depths, recent failures, slowest products.

For platform staff and the governance council. A fixed number of queries whatever the number
of runs, and a bounded wait on the broker: the page answers in about a second even when no
worker does, or the broker is down.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from domains.models import Domain
from domains.permissions import is_governance
from meshplatform.celery import app
from meshplatform.health import workers_answering
from products.models import Run
from products.runqueue import domain_queue

logger = logging.getLogger(__name__)
REDIS_SECONDS = 0.5
# kombu keeps a Redis queue's messages of priority p > 0 in the list `<queue>\x06\x16<p>`.
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
RECENT_FAILURES = 20
SLOWEST = 10
BAR_WIDTH = 300
BAR_STEP = 28


def may_operate(user: Any) -> bool:
    return bool(user.is_active and (user.is_staff or user.is_superuser or is_governance(user)))


def run_queues() -> list[str]:
    """The queues runs are sent to: the default one, and each domain's when they have one."""
    queues = [str(app.conf.task_default_queue)]
    if settings.RUN_QUEUE_PER_DOMAIN:
        slugs = Domain.objects.order_by("slug").values_list("slug", flat=True)
        queues += [domain_queue(slug) for slug in slugs]
    return queues


def queue_depths() -> list[tuple[str, int]]:
    """Messages waiting in each run queue (Redis `LLEN`); empty on another broker."""
    if not _redis_broker():
        return []
    url = str(settings.CELERY_BROKER_URL)
    queues = run_queues()
    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_SECONDS, socket_connect_timeout=REDIS_SECONDS
    )
    try:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for suffix in REDIS_PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    step = len(REDIS_PRIORITY_SUFFIXES)
    return [(q, sum(lengths[i * step : (i + 1) * step])) for i, q in enumerate(queues)]


def _redis_broker() -> bool:
    return str(settings.CELERY_BROKER_URL).startswith(("redis://", "rediss://"))


def workers_online() -> list[str] | None:
    """The workers that answered a ping (the readiness probe's, cached); None if the broker
    did not."""
    try:
        return workers_answering()
    except Exception:  # the page reports the broker's trouble, it does not fail with it
        logger.warning("pinging the workers failed", exc_info=True)
        return None


def _depths() -> list[tuple[str, int]] | None:
    try:
        return queue_depths()
    except Exception:
        logger.warning("reading the queue depths failed", exc_info=True)
        return None


def figures(now: Any = None) -> dict[str, Any]:
    """What the page shows, in three queries on runs."""
    now = now or timezone.now()
    counts = dict(
        Run.objects.filter(created_at__gte=now - timedelta(hours=24))
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    by_status = [
        {"status": value, "label": label, "count": counts.get(value, 0)}
        for value, label in Run.Status.choices
    ]
    most = max([row["count"] for row in by_status] + [1])
    for index, row in enumerate(by_status):
        row["width"] = round(BAR_WIDTH * row["count"] / most)
        row["y"] = index * BAR_STEP
    failures = list(
        Run.objects.filter(status__in=[Run.Status.FAILED, Run.Status.ERRORED])
        .select_related("product__domain")
        .order_by("-created_at", "-id")[:RECENT_FAILURES]
    )
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    slowest = list(
        Run.objects.filter(finished_at__gte=now - timedelta(days=7), started_at__isnull=False)
        .order_by()
        .values("product__domain__slug", "product__slug")
        .annotate(mean=Avg(took), runs=Count("id"))
        .order_by("-mean", "product__domain__slug", "product__slug")[:SLOWEST]
    )
    for row in slowest:
        row["seconds"] = row["mean"].total_seconds() if row["mean"] is not None else None
    return {
        "by_status": by_status,
        "chart_height": len(by_status) * BAR_STEP,
        "runs_24h": sum(counts.values()),
        "failures": failures,
        "slowest": slowest,
    }


@login_required
def operate(request: HttpRequest) -> HttpResponse:
    if not may_operate(request.user):
        raise PermissionDenied("The operator page is for platform staff and the council.")
    depths = _depths()
    context = {
        "section": "operate",
        "workers": workers_online(),
        "queues": depths,
        "queue_total": None if depths is None else sum(n for _, n in depths),
        "redis_broker": _redis_broker(),
        **figures(),
    }
    return render(request, "meshplatform/operate.html", context)

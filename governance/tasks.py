"""Celery tasks for governance: the periodic sweep (freshness, expired waivers, everything)."""

from __future__ import annotations

from celery import shared_task

from governance import services


@shared_task(acks_late=True)
def sweep_policies_task() -> int:
    """Judge every product on every policy; records only verdicts that changed."""
    return services.sweep()

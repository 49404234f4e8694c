"""The Celery app. Workers: `celery -A meshplatform worker`; settings come from CELERY_*."""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery, signals
from django.conf import settings

from meshplatform import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshplatform.settings")
# Celery runs Django's system checks when a worker or beat starts, which loads every URL and
# view and with them polars, DuckDB and deltalake: 205 MB for beat and the worker's parent,
# which run none of it. The checks run where they belong: `manage.py check`, the web process.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("meshplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_django_logging(**_: Any) -> None:
    """Workers and beat log like the web process (LOGGING: JSON lines with run and trace ids
    in production) instead of Celery's own format."""
    logging.config.dictConfig(settings.LOGGING)


@signals.worker_process_init.connect
def trace_pool_child(**_: Any) -> None:
    # Each pool child sets up its own providers: export threads do not survive a fork.
    telemetry.configure(service="worker")


@signals.beat_init.connect
def trace_beat(**_: Any) -> None:
    telemetry.configure(service="beat")

"""The Celery app. Workers: `celery -A meshplatform worker`; settings come from CELERY_*."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshplatform.settings")
# Celery runs Django's system checks when a worker or beat starts, which loads every URL and
# view and with them polars, DuckDB and deltalake: 205 MB for beat and the worker's parent,
# which run none of it. The checks run where they belong: `manage.py check`, the web process.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("meshplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

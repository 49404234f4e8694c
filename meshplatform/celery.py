"""The Celery app. Workers: `celery -A meshplatform worker`; settings come from CELERY_*."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshplatform.settings")

app = Celery("meshplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

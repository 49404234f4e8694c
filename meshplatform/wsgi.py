"""The web process (gunicorn, and `manage.py runserver`, which loads this module too)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshplatform.settings")
django.setup(set_prefix=False)

from django.core.wsgi import get_wsgi_application  # noqa: E402 (after setup)

from meshplatform import operate, telemetry  # noqa: E402
from meshplatform.celery import app as celery_app  # noqa: E402

# Before the handler loads its middleware, so that Django's request spans are part of it.
if telemetry.configure(service="web", django=True):
    # Runs are sent by task name; the Celery instrumentation only ends the publish span of a
    # task registered in this process.
    celery_app.loader.import_default_modules()
    telemetry.observe_queue_depth(operate.queue_depths)
application = get_wsgi_application()

"""Settings, all from environment variables.

Embedded default (no variables set): SQLite in WAL mode, Celery on kombu's filesystem
transport, the lake on local disk, everything under `var/`. Real deployments set
`DATABASE_URL`, `CELERY_BROKER_URL`, `LAKE_URI`, `SECRET_KEY`, `ALLOWED_HOSTS`, `HTTPS`.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MESH_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def embedded_secret_key() -> str:
    """A random key kept under var/, so the embedded mode never runs on a published key."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or embedded_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS=true behind TLS: secure cookies, HSTS, redirect (what `check --deploy` asks for).
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "meshplatform",
    "domains",
    "products",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "meshplatform.requestid.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "meshplatform.urls"
WSGI_APPLICATION = "meshplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'mesh.sqlite3'}"),
        conn_max_age=int(env_str("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the portal read while the worker writes; IMMEDIATE avoids lock upgrades.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serves assets even before collectstatic (tests, first run)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Contracts and descriptors are at most 1 MiB; a form around one needs a little more.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_HANDLERS = [
    "meshplatform.uploads.RefuseLargeUploads",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "meshplatform.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "meshplatform.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "20/min"},
}
# Knox stores only a hash of each token; they expire, and POST auth/logout/ revokes one.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=int(env_str("API_TOKEN_TTL_DAYS", "30"))),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Data mesh platform API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "WaiverStatusEnum": "governance.models.Waiver.Status",
        "AccessRequestStatusEnum": "products.models.AccessRequest.Status",
        "ProductStatusEnum": "products.models.Status",
    },
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    # Above the longest run, or Redis redelivers a task that is still running.
    "visibility_timeout": int(env_str("CELERY_VISIBILITY_TIMEOUT", "21600")),
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = VAR_DIR / "broker"
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "polling_interval": 0.1,
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# A queue name per test session or deployment stage keeps their messages apart on one Redis.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-runs": {"task": "products.tasks.dispatch_due_runs_task", "schedule": 15.0},
    "maintain-tables": {"task": "products.tasks.maintain_tables_task", "schedule": 6 * 3600.0},
    # Freshness, waivers that ran out, policies changed since: every product judged again.
    "sweep-policies": {
        "task": "governance.tasks.sweep_policies_task",
        "schedule": float(env_str("POLICY_SWEEP_SECONDS", "900")),
    },
}
# Each domain's runs on their own queue (`runs.<domain>`), for workers started with
# `-Q runs.<domain>`; off: every run on the default queue.
RUN_QUEUE_PER_DOMAIN = env_bool("RUN_QUEUE_PER_DOMAIN", False)
RUN_MAX_ATTEMPTS = int(env_str("RUN_MAX_ATTEMPTS", "5"))  # deliveries (a killed worker's too)
RUN_MAX_RETRIES = int(env_str("RUN_MAX_RETRIES", "5"))  # retries of a source that is down
RUN_RETRY_BASE_SECONDS = float(env_str("RUN_RETRY_BASE_SECONDS", "5"))

# --- Lake and pipelines -------------------------------------------------------------------
LAKE_URI = env_str("LAKE_URI", str(VAR_DIR / "lake"))
# Directories file inputs may read under (colon-separated); nothing outside them is read.
PIPELINE_FILE_ROOTS = [
    path for path in env_str("PIPELINE_FILE_ROOTS", str(VAR_DIR / "inbox")).split(":") if path
]
# Delta versions are kept this long before vacuum removes their files (7 days at least).
LAKE_RETENTION_HOURS = max(int(env_str("LAKE_RETENTION_HOURS", "168")), 168)
# s3:// prefixes file inputs may read under (comma-separated); none by default.
PIPELINE_S3_PREFIXES = env_list("PIPELINE_S3_PREFIXES", "")
LINEAGE_DIR = str(VAR_DIR / "lineage")  # OpenLineage events (OPENLINEAGE_* to change)
# The audit chain's head, written after each audit write commits, outside the database: keep
# it on another disk or copy it away, and rewriting the whole chain there is detected.
AUDIT_HEAD_FILE = env_str("AUDIT_HEAD_FILE", str(VAR_DIR / "audit" / "head.json"))
SECRETS_KEY = env_str("SECRETS_KEY", "")
# Breaking contract versions are also posted here (JSON, signed with the secret; optional).
NOTIFY_WEBHOOK_URL = env_str("NOTIFY_WEBHOOK_URL", "")
NOTIFY_WEBHOOK_SECRET = env_str("NOTIFY_WEBHOOK_SECRET", "")

# --- Logs ----------------------------------------------------------------------------------
# `json`: one object a line with trace and run ids, for a log pipeline (the default with a
# real broker); `text` for people (DEBUG, and the embedded mode `make run` starts).
LOG_FORMAT = env_str(
    "LOG_FORMAT",
    "text" if DEBUG or CELERY_BROKER_URL.startswith("filesystem://") else "json",
)
if LOG_FORMAT not in ("json", "text"):
    raise ValueError(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"run_context": {"()": "meshplatform.logs.RunContextFilter"}},
    "formatters": {
        "json": {"()": "meshplatform.logs.JsonFormatter"},
        "text": {"()": "meshplatform.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["run_context"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

"""Example project settings: everything comes from the environment, with safe dev defaults.

DATABASE_URL   default: a SQLite file beside this project (``db.sqlite3``)
REDIS_URL      a Celery broker; absent: tasks run in-process after commit
UPLOADKIT_STORAGE  ``local`` (default) or ``s3`` (then django-storages' AWS_* names)
MEDIA_ROOT     where the local backend keeps objects (default ``./media``)
SECRET_KEY     required when DEBUG is off
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


DEBUG = env_flag("DEBUG", default=True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("Set SECRET_KEY in the environment when DEBUG is off.")
    SECRET_KEY = "development-only-insecure-secret-key-change-me-in-production"

ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files: the docs work offline
    "django_uploadkit",
]

MIDDLEWARE = [
    "django_uploadkit.errors.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _sqlite = Path(DATABASES["default"]["NAME"])
    # A file, not Django's default in-memory test database, so that a Celery worker process
    # can share the test database; WAL and a busy timeout let the two processes write in turn.
    DATABASES["default"]["TEST"] = {"NAME": str(_sqlite.with_name(f"{_sqlite.stem}-test.sqlite3"))}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and os.environ.get(
    "DATABASE_PREPARED_STATEMENTS", "1"
) == "1":
    # Parameters bound by the server and statements prepared after 5 uses: PostgreSQL then
    # parses and plans each hot query once per connection, not once per request (BENCHMARKS.md,
    # items 1 and 7). Set DATABASE_PREPARED_STATEMENTS=0 behind a pooler in transaction mode
    # that cannot keep prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media"))
MEDIA_URL = "media/"

# -- UploadKit ---------------------------------------------------------------------------------
UPLOADKIT = {
    "STORAGE": os.environ.get("UPLOADKIT_STORAGE", "local"),
    "UPLOAD_URL_EXPIRES": int(os.environ.get("UPLOADKIT_UPLOAD_URL_EXPIRES", 15 * 60)),
}
if os.environ.get("UPLOADKIT_PUBLIC_BASE_URL"):
    UPLOADKIT["PUBLIC_BASE_URL"] = os.environ["UPLOADKIT_PUBLIC_BASE_URL"]
# Rate limits shared by every web process when Redis is there; per process otherwise.
if os.environ.get("REDIS_URL"):
    UPLOADKIT["RATE_LIMIT_REDIS_URL"] = os.environ["REDIS_URL"]
# Webhooks to loopback/private addresses: development and tests only (docs/webhooks.md).
if env_flag("UPLOADKIT_ALLOW_PRIVATE_WEBHOOKS"):
    UPLOADKIT["ALLOW_PRIVATE_WEBHOOKS"] = True
if UPLOADKIT["STORAGE"] == "s3":
    # django-storages' own names, which the s3 backend reads (see docs/s3.md).
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")  # R2, MinIO; unset for AWS
    AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID")
    AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY")
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME")  # "auto" for R2
    AWS_S3_CUSTOM_DOMAIN = os.environ.get("AWS_S3_CUSTOM_DOMAIN")  # the host of cdnUrl/url
    AWS_S3_ADDRESSING_STYLE = os.environ.get("AWS_S3_ADDRESSING_STYLE")  # "path" for MinIO
    # On (django-storages' default): file URLs are presigned GETs, for private buckets.
    AWS_QUERYSTRING_AUTH = env_flag("AWS_QUERYSTRING_AUTH", default=True)

# -- OpenAPI (drf-spectacular) -----------------------------------------------------------------
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {
    "TITLE": "UploadKit v1 API",
    "DESCRIPTION": (
        "Presigned uploads: request an upload URL, PUT the file straight to storage, "
        "confirm it; list and delete files. Every error is {\"error\", \"code\"}."
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# -- Celery ------------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = None
else:
    # The embedded default: no broker, tasks run in-process (after the commit that enqueued them).
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = False
# Deployment choices, explained in docs/celery.md:
# - acks late + reject on worker lost: a task is acknowledged when it has finished, so a worker
#   killed mid-task (OOM, SIGKILL, a deploy) leaves the message to be redelivered; every task is
#   safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection around every task (it ignores
# CONN_MAX_AGE) unless this is set: reconnecting cost 28% of a webhook delivery (BENCHMARKS.md,
# item 7). Broken connections are still closed after the task that saw them fail.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", 1000))
# Redis redelivers a message nobody acknowledged within the visibility timeout. Retries wait in
# the worker (countdown) unacknowledged, so the timeout must exceed the longest countdown
# (webhooks: about 8.5 h + 20% jitter), or a waiting retry would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 12 * 3600)),
}
# A task stuck on the network is stopped: soft limit (exception, cleanup), then hard limit.
# Each uploadkit task also sets its own, shorter limits.
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing gives up quickly when Redis is down: the outbox keeps the work for later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "uploadkit")
# `celery -A example_project beat`: the expiry sweep, and the outbox drain that sends work the
# web process could not hand to Redis (and re-queues webhook retries Redis lost).
CELERY_BEAT_SCHEDULE = {
    "uploadkit-expire-uploads": {
        "task": "django_uploadkit.tasks.expire_uploads",
        "schedule": 5 * 60,
    },
    "uploadkit-drain-outbox": {
        "task": "django_uploadkit.tasks.drain_outbox",
        "schedule": 30,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

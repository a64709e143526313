"""Benchmark settings: the example project's, as production would run it, plus what the
benchmarks need. Everything else comes from the same environment variables.

- DEBUG off (no query log growing in memory), rate limits off (the load generator is one
  client sending thousands of requests a second with one key).
- The peer (django-s3-file-field) and its model, against the same S3 server as our s3 backend
  when ``AWS_S3_ENDPOINT_URL`` is set.
- ``bench.urls``: the example project's URLs plus the ceiling endpoint and the peer's URLs.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")

from example_project.settings import *  # noqa: E402,F401,F403
from example_project.settings import INSTALLED_APPS, UPLOADKIT  # noqa: E402

ROOT_URLCONF = "bench.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "s3_file_field", "bench.peer_app"]
UPLOADKIT = {
    **UPLOADKIT,
    "RATE_LIMIT_PER_KEY": None,
    "RATE_LIMIT_PER_PROJECT": None,
    "RATE_LIMIT_AUTH_FAILURES": None,
}
UPLOADKIT.pop("RATE_LIMIT_REDIS_URL", None)

if os.environ.get("AWS_S3_ENDPOINT_URL"):
    # The peer's field uses the default storage: the same bucket on the same S3 server.
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
                "endpoint_url": os.environ["AWS_S3_ENDPOINT_URL"],
                "access_key": os.environ["AWS_ACCESS_KEY_ID"],
                "secret_key": os.environ["AWS_SECRET_ACCESS_KEY"],
                "region_name": os.environ.get("AWS_S3_REGION_NAME", "us-east-1"),
                "addressing_style": "path",
                "signature_version": "s3v4",
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

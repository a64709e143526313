"""Settings of the test worker: the example project's, with the test run's UPLOADKIT values
(storage root, tiny retry delays) passed in ``UPLOADKIT_TEST_SETTINGS`` so that the worker and
the test process agree."""

import json
import os

from example_project.settings import *  # noqa: F403
from example_project.settings import UPLOADKIT

UPLOADKIT = {**UPLOADKIT, **json.loads(os.environ.get("UPLOADKIT_TEST_SETTINGS", "{}"))}
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}

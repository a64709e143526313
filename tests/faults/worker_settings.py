"""Settings of the fault tests' workers: the Celery tests' worker settings, plus a Redis key
prefix of their own (``UPLOADKIT_TEST_KEYPREFIX``).

The prefix matters because Kombu keeps *one* ``unacked`` hash per Redis database, shared by
every queue: a worker with a visibility timeout of a few seconds would otherwise hand back the
unacknowledged messages of every other worker using the same database (other test runs, whose
countdown retries legitimately sit unacknowledged for longer). With a prefix, these workers
see only their own keys. The visibility timeout itself comes from ``CELERY_VISIBILITY_TIMEOUT``,
which the example settings read.
"""

import os

from tests.celery.worker_settings import *  # noqa: F403
from tests.celery.worker_settings import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": os.environ.get("UPLOADKIT_TEST_KEYPREFIX", ""),
}

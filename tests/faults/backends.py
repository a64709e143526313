"""A storage backend whose deletions can be held mid-call, so a test can kill the worker
process that is running one.

While ``.delete-block`` exists under the storage root, ``delete_many`` writes its process id
to ``.delete-started`` and waits (nothing is removed yet). Removing the marker lets it go on.
Everything else is ``FlakyLocalBackend`` (the down switch, the call log).
"""

from __future__ import annotations

import os
import time
from typing import Iterable

from django_uploadkit.storage.base import DeleteResult

from tests.celery.backends import FlakyLocalBackend

BLOCK_MARKER = ".delete-block"
STARTED_MARKER = ".delete-started"


class BlockingLocalBackend(FlakyLocalBackend):
    def delete_many(self, keys: Iterable[str]) -> DeleteResult:
        keys = list(keys)
        block = self.root / BLOCK_MARKER
        if block.exists():
            partial = self.root / f"{STARTED_MARKER}.{os.getpid()}"
            partial.write_text(str(os.getpid()))
            partial.replace(self.root / STARTED_MARKER)  # atomic: never read half-written
            deadline = time.monotonic() + 120
            while block.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return super().delete_many(keys)

"""The local backend with a switch to make storage unreachable, and a log of batch calls.

Both are files under the storage root, so the test process and the worker processes see the
same state: ``.storage-down`` present means every storage call raises ``StorageUnavailable``
(as the S3 backend does when the endpoint cannot be reached); each ``delete_many`` call
appends one JSON line (its keys) to ``.delete-calls.jsonl``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from django_uploadkit.exceptions import StorageUnavailable
from django_uploadkit.storage.base import DeleteResult, ObjectInfo
from django_uploadkit.storage.local import LocalBackend

DOWN_MARKER = ".storage-down"
CALL_LOG = ".delete-calls.jsonl"


class FlakyLocalBackend(LocalBackend):
    def _check(self) -> None:
        if (self.root / DOWN_MARKER).exists():
            raise StorageUnavailable("Storage cannot be reached (test switch is down).")

    def head(self, key: str) -> ObjectInfo | None:
        self._check()
        return super().head(key)

    def delete_many(self, keys: Iterable[str]) -> DeleteResult:
        keys = list(keys)
        self._check()
        line = (json.dumps(keys) + "\n").encode()
        fd = os.open(self.root / CALL_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        return super().delete_many(keys)


def delete_calls(root: Path, keys: Iterable[str]) -> list[list[str]]:
    """The logged delete_many calls that touched any of these keys."""
    wanted = set(keys)
    path = Path(root) / CALL_LOG
    if not path.exists():
        return []
    # The worker may be writing a line right now: read only lines already ended by "\n".
    complete = path.read_text().split("\n")[:-1]
    calls = [json.loads(line) for line in complete if line.strip()]
    return [call for call in calls if wanted.intersection(call)]

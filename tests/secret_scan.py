"""Every log line of a test run is kept and searched for secrets at the end of the run.

An API key or webhook secret in a log is a leak whatever logged it, so the search looks for
the shapes of secrets rather than for particular values.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterable

SECRET_RE = re.compile(r"uk_(?:live|test)_[A-Za-z0-9]{40}|whsec_[A-Za-z0-9+/=_-]{16,}")


def find_secrets(paths: Iterable[Path]) -> list[str]:
    """``path:line: secret-prefix…`` for each secret found (the secret itself is not repeated)."""
    hits = []
    for path in paths:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            for match in SECRET_RE.finditer(line):
                hits.append(f"{path}:{number}: {match.group()[:12]}…")
    return hits


def capture_logs(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger("django_uploadkit").setLevel(logging.DEBUG)
    return handler

"""A real ``celery -A example_project worker`` subprocess on the real Redis, for tests.

Started once per test session against the test database (its resolved name and connection
settings are passed in ``DATABASE_URL``), consuming a queue no other run uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


def database_url(settings_dict: dict[str, Any]) -> str:
    """The URL of the database this connection really uses (after pytest-django's set-up)."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError(
                "The SQLite test database is in memory; a worker process cannot share it. "
                "Give DATABASES['default']['TEST']['NAME'] a file (example_project does)."
            )
        return "sqlite:///" + str(Path(name).resolve())
    if "postgresql" in engine:
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{quote(name, safe='')}"
    raise RuntimeError(f"No DATABASE_URL form for {engine}")


class CeleryWorker:
    def __init__(
        self,
        *,
        database_url: str,
        uploadkit: dict[str, Any],
        log_dir: Path,
        redis_url: str | None = None,
        concurrency: int = 2,
        pool: str = "prefork",
    ) -> None:
        self.redis_url = redis_url or os.environ.get("UPLOADKIT_TEST_REDIS_URL", DEFAULT_REDIS_URL)
        self.queue = f"uploadkit-test-{uuid.uuid4().hex[:12]}"
        self.database_url = database_url
        self.uploadkit = uploadkit
        self.concurrency = concurrency
        self.pool = pool
        self.log_path = log_dir / f"{self.queue}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="tests.celery.worker_settings",
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_QUEUE=self.queue,
            UPLOADKIT_TEST_SETTINGS=json.dumps(self.uploadkit),
            UPLOADKIT_ALLOW_PRIVATE_WEBHOOKS="1",
            PYTHONWARNINGS="ignore",
        )
        return env

    def start(self, timeout: float = 30.0) -> "CeleryWorker":
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "example_project", "worker",
                "-Q", self.queue, "-n", f"{self.queue}@%h",
                "--pool", self.pool, "--concurrency", str(self.concurrency),
                "--without-mingle", "--without-gossip", "--without-heartbeat",
                "--loglevel", "INFO",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The Celery worker exited early:\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"The Celery worker did not become ready:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # warm shutdown: finish, close connections
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def purge(self) -> None:
        """Drop this run's queue from Redis."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{self.queue}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

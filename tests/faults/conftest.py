"""Fixtures for breaking the real parts: Celery workers this test starts and kills, a Redis
server this test stops and starts, a webhook receiver that can hold a request open.

Every fault test gets its own ``Rig``: a queue and a Redis key prefix no other run uses, a
publisher app on them that is current in every thread (the test's and the live server's),
and workers started on demand (``rig.worker(...)``), each a real ``celery -A example_project
worker`` subprocess on the test database. All are stopped (or killed) and their keys removed
when the test ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis
from celery import Celery
from celery import _state as celery_state

from tests.celery.conftest import TEST_UPLOADKIT, wait_until
from tests.servers.celery_worker import DEFAULT_REDIS_URL, CeleryWorker, database_url
from tests.servers.webhook_receiver import WebhookReceiver

__all__ = ["wait_until"]

#: Settings shared by this process and the workers (the Celery tests', with a deletion that
#: can be held mid-call, and a drain that takes rows at once).
FAULT_UPLOADKIT: dict[str, Any] = {
    **TEST_UPLOADKIT,
    "STORAGE": "tests.faults.backends.BlockingLocalBackend",
    # An attempt's lease on its event is WEBHOOK_TIMEOUT + 30 s (webhook_delivery.attempt_delivery).
    "WEBHOOK_TIMEOUT": 3,
    "OUTBOX_DRAIN_AFTER": 1,
}

#: The production default, for a worker that must not hand anything back by itself.
LONG_VISIBILITY = 12 * 3600


class FaultWorker(CeleryWorker):
    """A worker on the rig's queue and key prefix, with its own visibility timeout."""

    def __init__(self, *, queue: str, keyprefix: str, visibility_timeout: int, name: str,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queue = queue
        self.keyprefix = keyprefix
        self.visibility_timeout = visibility_timeout
        self.log_path = Path(self.log_path).with_name(f"{queue}-{name}.log")

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            DJANGO_SETTINGS_MODULE="tests.faults.worker_settings",
            CELERY_VISIBILITY_TIMEOUT=str(self.visibility_timeout),
            UPLOADKIT_TEST_KEYPREFIX=self.keyprefix,
        )
        return env

    def start(self, timeout: float = 30.0) -> "FaultWorker":
        super().start(timeout)
        return self

    def pool_pids(self) -> set[int]:
        """The prefork pool's child processes."""
        assert self.process is not None
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return set()
        return {int(p) for p in text.split()}

    def kill(self) -> None:
        """SIGKILL to the worker's whole process group: main process and pool children die
        at once, with no chance to acknowledge, reject or clean up anything."""
        assert self.process is not None
        children = self.pool_pids()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)
        wait_until(lambda: not any(Path(f"/proc/{c}").exists() and _alive(c) for c in children),
                   timeout=5, what="the pool children to die")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Rig:
    def __init__(self, *, redis_url: str, db_url: str, root: Path, log_dir: Path) -> None:
        self.redis_url = redis_url
        self.db_url = db_url
        self.root = root
        self.log_dir = log_dir
        run = uuid.uuid4().hex[:12]
        self.queue = f"uploadkit-faults-{run}"
        self.keyprefix = f"uploadkit-faults-{run}:"
        self.workers: list[FaultWorker] = []
        self.app = Celery("uploadkit-faults", set_as_current=False)
        self.app.conf.update(
            broker_url=redis_url,
            broker_transport_options={"global_keyprefix": self.keyprefix},
            task_default_queue=self.queue,
            broker_connection_retry_on_startup=True,
            broker_connection_timeout=1,
            task_publish_retry_policy={"max_retries": 1, "interval_start": 0,
                                       "interval_step": 0.1},
        )

    def worker(self, *, visibility_timeout: int = LONG_VISIBILITY,
               concurrency: int = 1) -> FaultWorker:
        worker = FaultWorker(
            queue=self.queue,
            keyprefix=self.keyprefix,
            visibility_timeout=visibility_timeout,
            name=f"w{len(self.workers) + 1}",
            database_url=self.db_url,
            uploadkit={**FAULT_UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(self.root)}},
            log_dir=self.log_dir,
            redis_url=self.redis_url,
            concurrency=concurrency,
        )
        self.workers.append(worker)
        return worker.start()

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=1)

    def unacked(self) -> int:
        """Messages a worker took and has not acknowledged (Kombu's ``unacked`` hash)."""
        with self.redis() as client:
            return int(client.hlen(f"{self.keyprefix}unacked"))

    def queued(self) -> int:
        with self.redis() as client:
            return int(client.llen(f"{self.keyprefix}{self.queue}"))

    def close(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=10)
        self.app.close()
        try:
            with self.redis() as client:
                keys = list(client.scan_iter(match=f"{self.keyprefix}*"))
                if keys:
                    client.delete(*keys)
        except redis.RedisError:
            pass


@pytest.fixture
def rig_redis_url() -> str:
    return os.environ.get("UPLOADKIT_TEST_REDIS_URL", DEFAULT_REDIS_URL)


@pytest.fixture
def rig(
    transactional_db: None,
    settings: Any,
    rig_redis_url: str,
    tmp_path: Path,
) -> Iterator[Rig]:
    from django.db import connection

    root = tmp_path / "storage"
    root.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    settings.UPLOADKIT = {**FAULT_UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(root)}}
    rig = Rig(redis_url=rig_redis_url, db_url=database_url(connection.settings_dict),
              root=root, log_dir=logs)
    # Current in this thread, and the default in every other (the live server's threads).
    previous_current = celery_state._tls.current_app
    previous_default = celery_state.default_app
    rig.app.set_current()
    rig.app.set_default()
    try:
        yield rig
    finally:
        celery_state._tls.current_app = previous_current
        celery_state.default_app = previous_default
        rig.close()


# -- a webhook receiver that can hold a request open --------------------------------------------


class HoldingReceiver(WebhookReceiver):
    """``hold()``: the next request is read in full, counted in ``arrivals``, and then left
    unanswered until ``release()`` (the sender is killed meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals = 0
        self._holding = False
        self._released = threading.Event()

    def hold(self) -> None:
        self._holding = True
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def _next(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            self.arrivals += 1
            self._lock.notify_all()
            hold, self._holding = self._holding, False
        if hold:
            self._released.wait(60)
        return super()._next()

    def wait_arrivals(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.arrivals < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.arrivals} request(s) arrived, expected {count}")
                self._lock.wait(left)


@pytest.fixture
def receiver() -> Iterator[HoldingReceiver]:
    server = HoldingReceiver()
    # The held request's answer goes to a dead socket: that is expected, not worth a traceback.
    server.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    with server:
        try:
            yield server
        finally:
            server.release()


# -- a Redis server of our own, to stop and start ----------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` on a port of its own, keeping nothing on disk (as the machine's Redis).
    ``stop()`` shuts it down for real; ``start()`` brings it back, empty, on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

        def ready() -> bool:
            try:
                with redis.Redis(port=self.port, socket_connect_timeout=0.2) as client:
                    return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(ready, timeout=10, what="redis-server to accept connections")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        with socket.socket() as sock:  # nothing listens any more
            assert sock.connect_ex(("127.0.0.1", self.port)) != 0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory).start()
    try:
        yield server
    finally:
        server.stop()


# -- a live server that accepts 50 connections at once -----------------------------------------


@pytest.fixture
def wide_live_server(transactional_db: None) -> Iterator[str]:
    """pytest-django's ``live_server``, but listening with a backlog of 256. Django's test
    server's is 10 (``WSGIServer.request_queue_size``): an 11th simultaneous connection is
    reset by the kernel before Django sees it. Production servers queue far more (gunicorn's
    default backlog is 2048)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test.testcases import LiveServerThread

    class Server(ThreadedWSGIServer):
        request_queue_size = 256

    class Thread(LiveServerThread):
        server_class = Server

    thread = Thread("127.0.0.1", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait(10)
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()

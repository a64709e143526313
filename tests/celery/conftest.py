"""Fixtures for the tasks and webhooks tests: a real Celery worker (once per session) on the
real Redis, a real HTTP receiver on loopback, and the same tests run again in-process.

``runner`` is parametrized: ``worker`` publishes to Redis and a ``celery -A example_project
worker`` subprocess runs the tasks; ``inline`` keeps the example project's embedded default
(no broker: tasks run in this process after the commit).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from celery import Celery
from celery import current_app as celery_current_app

from tests.servers.celery_worker import CeleryWorker, database_url
from tests.servers.webhook_receiver import WebhookReceiver

# Settings shared by this process and the worker: tiny retry delays, the flaky test backend.
TEST_UPLOADKIT: dict[str, Any] = {
    "STORAGE": "tests.celery.backends.FlakyLocalBackend",
    "PUBLIC_BASE_URL": "http://testserver",
    "WEBHOOK_TIMEOUT": 5,
    "WEBHOOK_RETRY_DELAYS": [0.2, 0.2, 0.3, 0.3, 0.4, 0.4],
    "WEBHOOK_RETRY_JITTER": 0.1,
    "DELETE_RETRY_BACKOFF": 0.2,
    "DELETE_RETRY_BACKOFF_MAX": 0.5,
    "DELETE_BATCH_WINDOW": 0.2,
    "ALLOW_PRIVATE_WEBHOOKS": True,
}


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def new_event(project: Any) -> Any:
    """A webhook event recorded and not queued: the test hands it to the delivery itself."""
    from django_uploadkit import webhook_delivery
    from django_uploadkit.models import WebhookEvent

    return WebhookEvent.objects.create(
        id=webhook_delivery.new_event_id(), project=project, event_type="file.uploaded",
        body='{"type":"file.uploaded"}', next_attempt_at=None,
    )


def written_ago(rows: list[Any], ages: list[float]) -> None:
    """Back-date outbox rows: each as if written ``age`` seconds ago."""
    from django.utils import timezone

    from django_uploadkit.models import OutboxMessage

    now = timezone.now()
    for row, age in zip(rows, ages):
        OutboxMessage.objects.filter(pk=row.pk).update(created_at=now - timedelta(seconds=age))


@pytest.fixture(scope="session")
def worker_storage_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("worker-storage")
    return root


@contextmanager
def running_worker(
    django_db_blocker: Any, worker_storage_root: Path, tmp_path_factory: pytest.TempPathFactory,
    **options: Any,
) -> Iterator[CeleryWorker]:
    """A ``celery -A example_project worker`` on the test database and its own queue."""
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    worker = CeleryWorker(
        database_url=url,
        uploadkit={**TEST_UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(worker_storage_root)}},
        log_dir=tmp_path_factory.mktemp("celery-worker"),
        **options,
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        worker.purge()


@contextmanager
def publishing_to(worker: CeleryWorker) -> Iterator[Celery]:
    """This process as a web process configured with a broker: publishes to the worker's queue."""
    app = Celery("uploadkit-tests", set_as_current=False)
    app.conf.update(
        broker_url=worker.redis_url,
        task_default_queue=worker.queue,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1},
    )
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None,
    django_db_blocker: Any,
    worker_storage_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CeleryWorker]:
    with running_worker(django_db_blocker, worker_storage_root, tmp_path_factory) as worker:
        yield worker


@pytest.fixture(scope="session")
def broker_app(celery_worker: CeleryWorker) -> Iterator[Celery]:
    with publishing_to(celery_worker) as app:
        yield app


@pytest.fixture(scope="session")
def threads_broker_app(
    django_db_setup: None,
    django_db_blocker: Any,
    worker_storage_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Celery]:
    """A second worker, one process with ``--pool threads --concurrency 4`` (the webhook
    deployment docs/celery.md gives), and an app publishing to it."""
    with running_worker(django_db_blocker, worker_storage_root, tmp_path_factory,
                        pool="threads", concurrency=4) as worker, publishing_to(worker) as app:
        yield app


@pytest.fixture
def use_app() -> Iterator[Callable[[Celery], None]]:
    """Make an app current in this thread (what shared tasks resolve to); restored after."""
    previous = celery_current_app._get_current_object()

    def use(app: Celery) -> None:
        app.set_current()

    yield use
    previous.set_current()


@pytest.fixture(params=["worker", "inline"])
def runner(
    request: pytest.FixtureRequest,
    settings: Any,
    tmp_path: Path,
    use_app: Callable[[Celery], None],
) -> str:
    """Where tasks run: the real worker on Redis, or in-process (the embedded default)."""
    if request.param == "worker":
        request.getfixturevalue("celery_worker")
        root = request.getfixturevalue("worker_storage_root")
        use_app(request.getfixturevalue("broker_app"))
    else:
        root = tmp_path / "inline-storage"
    root.mkdir(parents=True, exist_ok=True)
    settings.UPLOADKIT = {**TEST_UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(root)}}
    return request.param


@pytest.fixture
def storage_root(runner: str) -> Path:
    from django_uploadkit.storage import get_backend

    return get_backend().root


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56


@pytest.fixture
def upload(api: Any) -> Callable[..., dict[str, Any]]:
    """Request, PUT and complete a file through the API, as a client of the reference does."""

    def do(name: str = "profile.png", metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "fileName": name, "fileSize": len(PNG), "contentType": "image/png",
            "routeSlug": "imageUploader",
        }
        if metadata is not None:
            body["metadata"] = metadata
        ticket = api.post("/api/v1/upload/request", body, format="json")
        assert ticket.status_code == 200, ticket.json()
        put = api.put(ticket.json()["uploadUrl"], PNG, content_type="image/png")
        assert put.status_code in (200, 201, 204), put.content
        done = api.post("/api/v1/upload/complete", {"fileId": ticket.json()["fileId"]},
                        format="json")
        assert done.status_code == 200, done.json()
        return done.json()

    return do

"""The transactional outbox: queued work is written with the state change, sent after the
commit, and not lost when the broker is down at that moment."""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import transaction

from django_uploadkit import services, webhook_delivery
from django_uploadkit.models import File, OutboxMessage, WebhookEvent
from django_uploadkit.outbox import drain
from django_uploadkit.storage import get_backend

from .conftest import wait_until, written_ago

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def test_work_is_recorded_in_the_same_transaction_and_rolls_back_with_it(
    runner, project, upload, receiver
):
    webhook_delivery.set_webhook_url(project, receiver.url)
    file = upload()
    receiver.wait_for(1)
    wait_until(lambda: not OutboxMessage.objects.exists())

    with pytest.raises(Boom), transaction.atomic():
        services.delete_file(project, file["key"])
        # Inside the transaction: the event and both outbox rows exist with the state change.
        assert File.objects.get(pk=file["id"]).status == File.Status.DELETED
        assert set(OutboxMessage.objects.values_list("task", flat=True)) == {
            "django_uploadkit.tasks.deliver_webhook", "django_uploadkit.tasks.delete_objects"
        }
        raise Boom

    assert File.objects.get(pk=file["id"]).status == File.Status.UPLOADED
    assert not OutboxMessage.objects.exists()
    assert WebhookEvent.objects.filter(event_type="file.deleted").count() == 0
    time.sleep(0.5)
    assert len(receiver.received) == 1  # nothing was sent for the rolled-back deletion
    assert Path(get_backend().storage.path(file["key"])).exists()


@pytest.fixture
def broker_down(use_app):
    """This process's broker is unreachable (nothing listens on port 1) until ``back()``."""
    dead = Celery("uploadkit-dead-broker", set_as_current=False)
    dead.conf.update(
        broker_url="redis://127.0.0.1:1/0",
        broker_connection_timeout=0.5,
        broker_connection_retry_on_startup=False,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1},
    )
    use_app(dead)
    yield dead
    dead.close()


def test_with_the_broker_down_the_api_succeeds_and_the_drain_sends_the_work_later(
    request, settings, project, api, upload, receiver, use_app, broker_down
):
    # The upload goes through while the broker works (the real worker on Redis).
    live = request.getfixturevalue("broker_app")
    root = request.getfixturevalue("worker_storage_root")
    from .conftest import TEST_UPLOADKIT

    settings.UPLOADKIT = {**TEST_UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(root)}}
    use_app(live)
    webhook_delivery.set_webhook_url(project, receiver.url)
    file = upload()
    receiver.wait_for(1)

    use_app(broker_down)  # Redis goes away
    response = api.delete(f"/api/v1/files/{file['key']}")
    assert response.status_code == 200  # the API call still succeeds...
    assert File.objects.get(pk=file["id"]).status == File.Status.DELETED  # ...and commits
    rows = list(OutboxMessage.objects.all())
    assert len(rows) == 2 and all(r.attempts == 1 and r.last_error for r in rows)
    assert drain(min_age=0) == 0  # still down: the rows stay
    assert OutboxMessage.objects.count() == 2

    use_app(live)  # Redis is back: the periodic drain sends the work
    call_command("uploadkit_drain_outbox", "--all", stdout=StringIO())
    assert not OutboxMessage.objects.exists()
    hooks = receiver.wait_for(2)
    assert hooks[1].headers["webhook-id"] != hooks[0].headers["webhook-id"]
    wait_until(lambda: not Path(get_backend().storage.path(file["key"])).exists())


def test_the_drain_leaves_fresh_rows_to_their_own_dispatch(runner, project, route):
    OutboxMessage.objects.create(task="django_uploadkit.tasks.delete_objects", args=[["k"]])
    assert drain() == 0  # younger than OUTBOX_DRAIN_AFTER: its commit's dispatch may be running
    assert OutboxMessage.objects.count() == 1
    assert drain(min_age=0) == 1
    wait_until(lambda: not OutboxMessage.objects.exists())


def test_the_drain_leaves_deletion_rows_to_their_gathering_until_the_window_has_passed(
    runner, settings
):
    """A deletion row may wait DELETE_BATCH_WINDOW for its batch: only older is it lost."""
    settings.UPLOADKIT = {
        **settings.UPLOADKIT, "OUTBOX_DRAIN_AFTER": 30, "DELETE_BATCH_WINDOW": 60
    }
    row = OutboxMessage.objects.create(task="django_uploadkit.tasks.delete_objects", args=[["k"]])
    written_ago([row], [45])  # older than OUTBOX_DRAIN_AFTER, younger than the window
    assert drain() == 0
    assert OutboxMessage.objects.count() == 1
    written_ago([row], [61])
    assert drain() == 1
    wait_until(lambda: not OutboxMessage.objects.exists())


def test_a_lost_webhook_retry_is_rescued(runner, project, receiver):
    """A PENDING event whose next attempt is long overdue (Redis lost the queued retry) is
    queued again by the drain task."""
    from datetime import timedelta

    from django.utils import timezone

    from django_uploadkit.tasks import drain_outbox

    webhook_delivery.set_webhook_url(project, receiver.url)
    event = WebhookEvent.objects.create(
        id=webhook_delivery.new_event_id(), project=project, event_type="file.uploaded",
        body='{"type":"file.uploaded"}', attempts=1,
        next_attempt_at=timezone.now() - timedelta(hours=1),
    )
    drain_outbox.delay()
    (hook,) = receiver.wait_for(1)
    assert hook.headers["webhook-id"] == event.pk
    wait_until(lambda: WebhookEvent.objects.get(pk=event.pk).status == "DELIVERED")

"""The Celery worker is SIGKILLed in the middle of a task: the task is not lost, runs to the
end once a worker is there again, and the receiver sees nothing but a redelivery carrying the
same ``webhook-id``.

How the message comes back (Kombu's Redis transport, acks late):
- A worker that takes a message moves it from the queue to the ``unacked`` hash (and its
  delivery time to the ``unacked_index`` sorted set); it deletes it from there when the task
  has finished (acks late). A SIGKILLed worker never does, so the message stays there.
- Any worker consuming from that Redis calls ``restore_visible`` once when it starts
  consuming (``register_with_event_loop`` -> ``on_poll_init``), then every
  ``unacked_restore_interval`` x ``unacked_restore_throttle`` seconds (10 x 10 by default):
  every message in ``unacked_index`` older than *its* visibility timeout goes back to its
  queue. So with the production timeout (12 h) a killed worker's message comes back 12 h
  later (the outbox drain rescues a webhook event after 15 min); these tests give the new
  worker a timeout of a few seconds and start it once the message is older than that.
- Only the pool child dying (the OOM killer's usual victim): the worker's main process sees
  the child go, and with ``task_reject_on_worker_lost`` rejects the message with requeue, so
  it is back in the queue at once and the same worker runs it again.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from django_uploadkit import webhook_delivery
from django_uploadkit.models import File, OutboxMessage, WebhookDelivery, WebhookEvent
from django_uploadkit.storage import get_backend
from django_uploadkit.webhooks import verify_webhook

from tests.celery.backends import delete_calls
from tests.helpers import upload

from .backends import BLOCK_MARKER, STARTED_MARKER
from .conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

#: The second worker's visibility timeout: short, so the test's wait is bounded.
SHORT_VISIBILITY = 3


def received_ids(worker, task: str) -> list[str]:
    """Celery task ids of the messages this worker received (its log)."""
    return re.findall(rf"{re.escape(task)}\[([0-9a-f-]+)\] received", worker.log())


def object_exists(key: str) -> bool:
    return get_backend().storage.exists(key)


def start_after_visibility(rig, since: float):
    """Start a worker with a short visibility timeout once the killed worker's message is
    older than that timeout, so that its start-up ``restore_visible`` hands it back."""
    time.sleep(max(0.0, since + SHORT_VISIBILITY + 0.5 - time.monotonic()))
    return rig.worker(visibility_timeout=SHORT_VISIBILITY)


def test_killed_in_the_middle_of_a_webhook_post_the_same_event_is_posted_again(
    rig, project, api, receiver
):
    first = rig.worker()
    secret = webhook_delivery.set_webhook_url(project, receiver.url)
    receiver.hold()
    file = upload(api)

    receiver.wait_arrivals(1)  # the worker is inside requests.post, waiting for the answer
    taken = time.monotonic()
    event = WebhookEvent.objects.get()
    assert rig.unacked() == 1
    first.kill()
    receiver.release()

    # Killed mid-attempt: nothing recorded, the event still PENDING and leased, the message
    # neither acknowledged nor back in the queue.
    (held,) = receiver.wait_for(1)
    assert held.headers["webhook-id"] == event.pk
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("PENDING", 0)
    assert event.lease_until is not None
    assert not WebhookDelivery.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert (rig.unacked(), rig.queued()) == (1, 0)

    second = start_after_visibility(rig, taken)
    started = time.monotonic()
    # Redelivered at once, but the dead worker's lease on the event (WEBHOOK_TIMEOUT + 30 s)
    # keeps the new worker from posting until it ends: two attempts never overlap.
    hooks = receiver.wait_for(2, timeout=60)
    waited = time.monotonic() - started
    wait_until(lambda: WebhookEvent.objects.get().status == "DELIVERED", timeout=10)

    # The very message the killed worker held (same Celery task id), handed out as soon as
    # the new worker consumed; its first run found the lease and queued the event again, in a
    # message of its own, for when the lease ends.
    (taken_id,) = received_ids(first, "deliver_webhook")
    taken_again, *later = received_ids(second, "deliver_webhook")
    assert taken_again == taken_id
    assert later and taken_id not in later

    again = hooks[1]
    assert again.headers["webhook-id"] == event.pk  # the same id: receivers deduplicate on it
    assert again.body == held.body  # the same bytes
    assert verify_webhook(secret, again.headers, again.body)["data"]["id"] == file["id"]
    event.refresh_from_db()
    assert WebhookEvent.objects.count() == 1
    assert event.attempts == 1
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.succeeded and delivery.status_code == 200 and delivery.attempt == 1
    # The new worker waited out the lease, no longer (33 s from the first attempt's claim).
    assert 20 < waited + SHORT_VISIBILITY < 45, waited
    # Nothing else reaches the receiver, and Redis holds nothing more for this run.
    wait_until(lambda: (rig.unacked(), rig.queued()) == (0, 0), timeout=10)
    time.sleep(1)
    assert len(receiver.received) == 2
    assert File.objects.get(pk=file["id"]).status == "UPLOADED"


def test_killed_in_the_middle_of_a_deletion_the_object_is_still_removed(
    rig, project, api, receiver
):
    first = rig.worker()
    webhook_delivery.set_webhook_url(project, receiver.url)
    file = upload(api)
    key = file["key"]
    receiver.wait_for(1)  # file.uploaded
    (rig.root / BLOCK_MARKER).touch()

    response = api.delete(f"/api/v1/files/{key}")
    assert response.status_code == 200, response.json()
    wait_until(lambda: (rig.root / STARTED_MARKER).exists(), what="the deletion to start")
    taken = time.monotonic()
    running_in = int((rig.root / STARTED_MARKER).read_text())
    assert running_in in first.pool_pids()
    receiver.wait_for(2)  # file.deleted, delivered meanwhile (concurrency 1: before deletion)
    first.kill()

    assert object_exists(key)  # killed before storage was touched
    assert File.objects.get(pk=file["id"]).status == "DELETED"  # the row changed at once
    assert not OutboxMessage.objects.exists()
    assert (rig.unacked(), rig.queued()) == (1, 0)
    (rig.root / BLOCK_MARKER).unlink()

    # Control: a worker with the production visibility timeout does not hand the message back.
    control = rig.worker()
    time.sleep(2)
    assert object_exists(key) and (rig.unacked(), rig.queued()) == (1, 0)
    control.stop()

    second = start_after_visibility(rig, taken)
    wait_until(lambda: not object_exists(key), timeout=20, what="the object to be removed")
    assert delete_calls(rig.root, [key]) == [[key]]  # one call reached storage, the redelivery
    (taken_id,) = received_ids(first, "delete_objects")
    assert received_ids(second, "delete_objects") == [taken_id]
    wait_until(lambda: (rig.unacked(), rig.queued()) == (0, 0), timeout=10)
    # No duplicate side effect: the two events were each posted once.
    assert len(receiver.received) == 2
    assert WebhookEvent.objects.count() == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"DELIVERED"}


def test_only_the_pool_child_killed_the_same_worker_runs_the_deletion_again(rig, api):
    worker = rig.worker()  # the production visibility timeout: nothing comes back by timeout
    file = upload(api)
    key = file["key"]
    (rig.root / BLOCK_MARKER).touch()

    assert api.delete(f"/api/v1/files/{key}").status_code == 200
    wait_until(lambda: (rig.root / STARTED_MARKER).exists(), what="the deletion to start")
    child = int((rig.root / STARTED_MARKER).read_text())
    assert child in worker.pool_pids()
    (rig.root / STARTED_MARKER).unlink()
    os.kill(child, signal.SIGKILL)
    killed = time.monotonic()

    # The main process replaces the child and runs the same message again at once: it is
    # held by the block again, in another process.
    wait_until(lambda: (rig.root / STARTED_MARKER).exists(), timeout=20,
               what="the deletion to run again")
    took = time.monotonic() - killed
    again = int((rig.root / STARTED_MARKER).read_text())
    assert again != child and again in worker.pool_pids()
    # Rejected and requeued, not handed back after the (12 h) visibility timeout. Usually
    # 0.1 s; up to Celery's worker_lost_wait (10 s) when the pool waits for a result first.
    assert took < 15, took
    assert object_exists(key)
    (rig.root / BLOCK_MARKER).unlink()

    wait_until(lambda: not object_exists(key), timeout=15, what="the object to be removed")
    assert worker.process.poll() is None and child not in worker.pool_pids()
    assert "WorkerLostError" in worker.log()
    assert delete_calls(rig.root, [key]) == [[key]]
    wait_until(lambda: (rig.unacked(), rig.queued()) == (0, 0), timeout=10)
    assert File.objects.get(pk=file["id"]).status == "DELETED"

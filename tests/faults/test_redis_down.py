"""Redis stops for real (a redis-server of the test's own, keeping nothing on disk, as the
machine's): the API keeps serving and committing, the queued work waits in the outbox, and
when Redis is back (empty) the drain run by the worker sends it all, once.

Redis is everything here, as in the example deployment: the Celery broker of the web process
and of the worker, and the rate limiter's store.
"""

from __future__ import annotations

import time

import pytest

from django_uploadkit import webhook_delivery
from django_uploadkit.models import File, OutboxMessage, WebhookEvent
from django_uploadkit.ratelimit import RedisLimiter, get_limiter
from django_uploadkit.storage import get_backend
from django_uploadkit.tasks import drain_outbox
from django_uploadkit.webhooks import verify_webhook

from tests.helpers import JPEG, put_object, request_upload
from rest_framework.test import APIClient

from .conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DELIVER = "django_uploadkit.tasks.deliver_webhook"
DELETE = "django_uploadkit.tasks.delete_objects"


@pytest.fixture
def rig_redis_url(own_redis) -> str:
    return own_redis.url


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_redis_stopped_the_api_commits_and_nothing_is_lost_when_it_returns(
    rig, own_redis, settings, project, api, receiver
):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "RATE_LIMIT_REDIS_URL": own_redis.url}
    worker = rig.worker()
    secret = webhook_delivery.set_webhook_url(project, receiver.url)
    assert isinstance(get_limiter(), RedisLimiter)  # limits are kept in that Redis

    # Before: a file is asked for and uploaded while Redis is up.
    ticket = request_upload(api).json()
    assert put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg").status_code == 200

    own_redis.stop()

    # Requests that need no queue are served.
    listing, took = timed(lambda: api.get("/api/v1/files"))
    assert listing.status_code == 200, listing.json()
    assert took < 5, took
    other, took = timed(lambda: request_upload(api, fileName="other.jpg"))
    assert other.status_code == 200, other.json()
    assert took < 5, took

    # complete commits its change; its webhook waits in the outbox.
    done, took = timed(
        lambda: api.post("/api/v1/upload/complete", {"fileId": ticket["fileId"]}, format="json")
    )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "UPLOADED"
    assert took < 10, took  # the publish gives up quickly; the outbox has the work
    assert File.objects.get(pk=ticket["fileId"]).status == "UPLOADED"
    uploaded = WebhookEvent.objects.get(event_type="file.uploaded")
    (row,) = OutboxMessage.objects.all()
    assert (row.task, row.args) == (DELIVER, [uploaded.pk])
    assert row.attempts == 1 and row.last_error and row.claimed_at is None

    # delete commits its change; its webhook and the object's removal wait too.
    key = done.json()["key"]
    deleted, took = timed(lambda: api.delete(f"/api/v1/files/{key}"))
    assert deleted.status_code == 200, deleted.json()
    assert took < 10, took
    assert File.objects.get(pk=ticket["fileId"]).status == "DELETED"
    gone = WebhookEvent.objects.get(event_type="file.deleted")
    rows = {(r.task, str(r.args)) for r in OutboxMessage.objects.all()}
    assert rows == {(DELIVER, str([uploaded.pk])), (DELIVER, str([gone.pk])),
                    (DELETE, str([[key]]))}
    # The listing reflects it at once, still without Redis.
    keys = [f["key"] for f in api.get("/api/v1/files").json()["files"]]
    assert key not in keys and other.json()["key"] in keys

    time.sleep(1.5)  # the worker is cut off too: nothing was sent, nothing removed
    assert receiver.received == []
    assert get_backend().storage.exists(key)
    assert OutboxMessage.objects.count() == 3

    own_redis.start()  # back, and empty: it kept nothing

    # The beat task, as beat would send it: the worker reconnects, runs the drain, which hands
    # every row to the broker; the worker then runs them.
    drain_outbox.delay()
    hooks = receiver.wait_for(2, timeout=60)
    wait_until(lambda: not get_backend().storage.exists(key), timeout=20,
               what="the object to be removed")
    wait_until(lambda: not OutboxMessage.objects.exists(), timeout=10)
    wait_until(
        lambda: set(WebhookEvent.objects.values_list("status", flat=True)) == {"DELIVERED"},
        timeout=10,
    )

    by_id = {h.headers["webhook-id"]: verify_webhook(secret, h.headers, h.body) for h in hooks}
    assert set(by_id) == {uploaded.pk, gone.pk}
    assert by_id[uploaded.pk]["type"] == "file.uploaded"
    assert by_id[gone.pk]["type"] == "file.deleted"
    assert by_id[gone.pk]["data"]["key"] == key
    time.sleep(1)
    assert len(receiver.received) == 2  # each once
    assert WebhookEvent.objects.count() == 2
    assert worker.process.poll() is None  # the same worker, reconnected by itself
    assert api.get("/api/v1/files").status_code == 200

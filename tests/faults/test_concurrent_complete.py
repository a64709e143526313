"""50 clients complete the same upload at the same instant, through a real HTTP server
(Django's live server thread, with a backlog wide enough for 50: a thread, and a database
connection, per request), with the
real worker delivering webhooks: one UPLOADED transition, one ``file.uploaded`` event, one
POST to the receiver, and the same 200 answer for everyone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from django_uploadkit import webhook_delivery
from django_uploadkit.models import File, OutboxMessage, WebhookDelivery, WebhookEvent
from django_uploadkit.webhooks import verify_webhook

from tests.helpers import JPEG

from .conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 50


def test_50_concurrent_completes_make_one_transition_and_one_webhook(
    rig, wide_live_server, settings, project, api_key, receiver
):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "PUBLIC_BASE_URL": wide_live_server}
    rig.worker()
    secret = webhook_delivery.set_webhook_url(project, receiver.url)
    headers = {"x-api-key": api_key}
    base = f"{wide_live_server}/api/v1"

    ticket = requests.post(f"{base}/upload/request", headers=headers, timeout=10, json={
        "fileName": "profile.jpg", "fileSize": len(JPEG), "contentType": "image/jpeg",
        "routeSlug": "imageUploader",
    })
    assert ticket.status_code == 200, ticket.text
    ticket = ticket.json()
    put = requests.put(ticket["uploadUrl"], data=JPEG, timeout=10,
                       headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200, put.text

    start = threading.Barrier(CLIENTS)

    def complete(_: int) -> tuple[int, dict, float]:
        with requests.Session() as session:  # a connection of its own
            start.wait(30)
            began = time.monotonic()
            response = session.post(f"{base}/upload/complete", headers=headers, timeout=60,
                                    json={"fileId": ticket["fileId"]})
            return response.status_code, response.json(), time.monotonic() - began

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(complete, range(CLIENTS)))

    statuses = [status for status, _, _ in results]
    assert statuses == [200] * CLIENTS, [body for _, body, _ in results if "error" in body][:3]
    bodies = {repr(sorted(body.items())) for _, body, _ in results}
    assert len(bodies) == 1, bodies  # everyone gets the same file
    body = results[0][1]
    assert body["id"] == ticket["fileId"] and body["status"] == "UPLOADED"
    assert body["key"] == ticket["key"]

    file = File.objects.get(pk=ticket["fileId"])
    assert file.status == "UPLOADED" and file.uploaded_at is not None
    (event,) = WebhookEvent.objects.all()  # one transition recorded one event
    assert event.event_type == "file.uploaded" and event.file_id == file.pk

    (hook,) = receiver.wait_for(1, timeout=20)
    assert hook.headers["webhook-id"] == event.pk
    payload = verify_webhook(secret, hook.headers, hook.body)
    assert payload["type"] == "file.uploaded" and payload["data"]["id"] == file.pk
    wait_until(lambda: WebhookEvent.objects.get().status == "DELIVERED", timeout=10)
    wait_until(lambda: not OutboxMessage.objects.exists(), timeout=10)
    time.sleep(1.5)
    assert len(receiver.received) == 1  # and nothing more arrives
    assert WebhookDelivery.objects.count() == 1
    assert WebhookEvent.objects.count() == 1

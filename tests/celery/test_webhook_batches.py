"""Events recorded together share task messages (WEBHOOK_BATCH_SIZE), and each is still
attempted, retried and recorded on its own: by a real worker on Redis and in-process."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from django_uploadkit import webhook_delivery
from django_uploadkit.models import File, FileRoute, OutboxMessage, Project, WebhookEvent
from django_uploadkit.webhooks import verify_webhook

from .conftest import TEST_UPLOADKIT, new_event, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

Status = WebhookEvent.Status
DELIVER = webhook_delivery.DELIVER_TASK


def uploaded_files(project: Project, count: int, tag: str) -> list[File]:
    route, _ = FileRoute.objects.get_or_create(
        project=project, slug="imageUploader",
        defaults={"allowed_types": ["image/*"], "max_size": 1024},
    )
    return File.objects.bulk_create([
        File(project=project, route=route, key=f"uploads/{tag}-{i}/a.png", name="a.png", size=8,
             content_type="image/png", status=File.Status.UPLOADED)
        for i in range(count)
    ])


def messages_received(worker) -> int:
    return len(re.findall(rf"{re.escape(DELIVER)}\[[0-9a-f-]+\] received", worker.log()))


def test_batches_keep_each_project_apart_and_in_order(settings):
    settings.UPLOADKIT = {**TEST_UPLOADKIT, "WEBHOOK_BATCH_SIZE": 2}
    pairs = [(1, "a1"), (2, "b1"), (1, "a2"), (1, "a3"), (2, "b2")]
    assert webhook_delivery.batches(pairs) == [["a1", "a2"], ["b1", "b2"], ["a3"]]
    settings.UPLOADKIT = {**TEST_UPLOADKIT, "WEBHOOK_BATCH_SIZE": 1}
    assert webhook_delivery.batches(pairs) == [["a1"], ["b1"], ["a2"], ["a3"], ["b2"]]
    assert webhook_delivery.batches([]) == []


def test_events_recorded_together_go_out_in_batches_and_each_arrives_once(
    runner, settings, project, receiver
):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "WEBHOOK_BATCH_SIZE": 10}
    other = Project.objects.create(name="Other", slug="other")
    secrets = {
        p.pk: webhook_delivery.set_webhook_url(p, receiver.url) for p in (project, other)
    }
    files = uploaded_files(project, 23, "mine") + uploaded_files(other, 3, "theirs")
    with transaction.atomic():
        events = webhook_delivery.record_file_events(webhook_delivery.FILE_UPLOADED, files)
        rows = list(OutboxMessage.objects.filter(task=DELIVER).order_by("id"))
        # A message per 10 events of one project, in the order they were recorded.
        assert [len(row.args) for row in rows] == [10, 10, 3, 3]
        assert [pk for row in rows for pk in row.args] == [
            e.pk for e in events if e.project_id == project.pk
        ] + [e.pk for e in events if e.project_id == other.pk]

    hooks = receiver.wait_for(26)
    by_id = {e.pk: e for e in events}
    for hook in hooks:
        event = by_id[hook.headers["webhook-id"]]
        verify_webhook(secrets[event.project_id], hook.headers, hook.body)
    assert sorted(h.headers["webhook-id"] for h in hooks) == sorted(by_id)
    wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).count() == 26)
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    assert not OutboxMessage.objects.exists()
    assert len(receiver.received) == 26  # nothing sent twice


def test_a_failure_inside_a_batch_is_retried_alone(runner, settings, project, receiver):
    webhook_delivery.set_webhook_url(project, receiver.url)
    receiver.script(200, 500, 200, 200)  # the second event's first attempt fails
    files = uploaded_files(project, 4, "retry")
    with transaction.atomic():
        events = webhook_delivery.record_file_events(webhook_delivery.FILE_UPLOADED, files)
    assert OutboxMessage.objects.filter(task=DELIVER).count() == 0  # sent after the commit

    hooks = receiver.wait_for(5)
    ids = [h.headers["webhook-id"] for h in hooks]
    assert ids[:2] == [events[0].pk, events[1].pk]  # in turn
    assert sorted(ids) == sorted([e.pk for e in events] + [events[1].pk])
    if runner == "worker":  # the retry waits its delay; the rest of the batch does not wait
        assert ids[2:] == [events[2].pk, events[3].pk, events[1].pk]
    # (in-process, with no broker to hold a retry back, it is made at once, as it always was)
    wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).count() == 4)
    attempts = dict(WebhookEvent.objects.values_list("pk", "attempts"))
    assert attempts == {e.pk: (2 if e is events[1] else 1) for e in events}
    assert list(events[1].deliveries.order_by("attempt").values_list("status_code", flat=True)) == [
        500, 200
    ]


def test_a_batch_gives_back_what_it_has_not_reached_once_webhook_timeout_has_passed(
    settings, celery_worker, broker_app, use_app, project, receiver
):
    """A receiver slower than WEBHOOK_TIMEOUT: after the cut-off first attempt, the batch's
    other events go back to the queue as a message of their own (and the failed one as its
    retry) instead of holding one worker for a timeout per event."""
    settings.UPLOADKIT = TEST_UPLOADKIT
    use_app(broker_app)
    webhook_delivery.set_webhook_url(project, receiver.url)
    # The first request is held past the worker's WEBHOOK_TIMEOUT (5 s), then answers 200.
    receiver.gather(99, timeout=TEST_UPLOADKIT["WEBHOOK_TIMEOUT"] + 0.5)
    before = messages_received(celery_worker)
    with transaction.atomic():
        events = webhook_delivery.record_file_events(
            webhook_delivery.FILE_UPLOADED, uploaded_files(project, 3, "slow")
        )

    wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).count() == 3,
               timeout=30)
    first = WebhookEvent.objects.get(pk=events[0].pk)
    assert first.attempts == 2
    cut = first.deliveries.get(attempt=1)  # the read timeout or the deadline, both at 5 s
    assert not cut.succeeded and cut.status_code is None and cut.duration_ms >= 4900
    assert [WebhookEvent.objects.get(pk=e.pk).attempts for e in events[1:]] == [1, 1]
    # The batch, the rest given back, and the first event's retry: three messages.
    wait_until(lambda: messages_received(celery_worker) - before == 3)


def test_an_attempt_that_raises_hands_the_rest_of_its_batch_back(
    settings, celery_worker, broker_app, use_app, project, receiver, monkeypatch
):
    """A time limit striking mid-POST (or the database failing) ends the task with an error,
    and a failed task's message is acknowledged: the batch's other events go out as a message
    of their own, and the one that raised stays PENDING for rescue_stale."""
    import urllib3
    from celery.exceptions import SoftTimeLimitExceeded

    settings.UPLOADKIT = TEST_UPLOADKIT
    use_app(broker_app)
    webhook_delivery.set_webhook_url(project, receiver.url)
    events = [new_event(project) for _ in range(3)]  # this test hands them to deliver()

    # This test's process is not the worker's: only the attempt made here is struck.
    def strike(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", strike)
    with pytest.raises(SoftTimeLimitExceeded):
        webhook_delivery.deliver([e.pk for e in events])
    monkeypatch.undo()

    hooks = receiver.wait_for(2)  # the worker delivers the rest
    assert sorted(h.headers["webhook-id"] for h in hooks) == sorted(e.pk for e in events[1:])
    wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).count() == 2)
    first = WebhookEvent.objects.get(pk=events[0].pk)
    assert first.status == Status.PENDING and first.attempts == 0

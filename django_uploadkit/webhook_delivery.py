"""Webhooks on the server side: endpoint settings, events, delivery attempts and re-sends.

- ``record_file_events`` is called by the services inside the transaction that changes the
  file's state: it writes the ``WebhookEvent`` (body serialized once, so every attempt sends
  the same bytes) and an outbox row for its delivery, both committed with the state change.
- ``attempt_delivery`` makes one signed POST (``webhook_http``) and records it as a
  ``WebhookDelivery``; the Celery task ``deliver_webhook`` calls it through ``deliver``, for
  one event or for a batch of one project's events recorded together, and queues each failed
  one again on the documented schedule.
- ``resend`` starts a new run of attempts for an event (the admin's "re-send").
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta
from typing import Any, Iterable

from django.db import router, transaction
from django.db.models import Q
from django.utils import timezone

from . import outbox, queries, webhook_http
from .conf import uploadkit_settings
from .ids import new_file_id
from .models import File, Project, WebhookDelivery, WebhookEvent
from .webhooks import UnsafeWebhookUrl, check_webhook_url, generate_secret, sign_webhook

logger = logging.getLogger(__name__)

FILE_UPLOADED = "file.uploaded"
FILE_DELETED = "file.deleted"
EVENT_TYPES = (FILE_UPLOADED, FILE_DELETED)

DELIVER_TASK = "django_uploadkit.tasks.deliver_webhook"
EXCERPT_CHARS = 1000
USER_AGENT = "django-uploadkit-webhooks/1"

Status = WebhookEvent.Status

# -- endpoint and secret -----------------------------------------------------------------------


def set_webhook_url(project: Project, url: str) -> str | None:
    """Set (or clear, with "") the project's webhook URL after the SSRF guard.

    Returns the new signing secret when one had to be created (show it once), else None.
    Raises ``UnsafeWebhookUrl``.
    """
    if url:
        check_webhook_url(url)
    project.webhook_url = url
    new_secret = None
    if url and not project.webhook_secret:
        new_secret = project.webhook_secret = generate_secret()
    project.save(update_fields=["webhook_url", "webhook_secret"])
    return new_secret


def rotate_webhook_secret(project: Project) -> str:
    """A new secret (returned once); the old one still signs for the rotation grace period."""
    project.webhook_secret_previous = project.webhook_secret
    project.webhook_secret = generate_secret()
    project.webhook_secret_rotated_at = timezone.now()
    project.save(
        update_fields=["webhook_secret", "webhook_secret_previous", "webhook_secret_rotated_at"]
    )
    return project.webhook_secret


def signing_secrets(project: Project, now: Any = None) -> list[str]:
    now = now or timezone.now()
    found = [project.webhook_secret] if project.webhook_secret else []
    grace = timedelta(seconds=int(uploadkit_settings.WEBHOOK_SECRET_ROTATION_GRACE))
    if (
        project.webhook_secret_previous
        and project.webhook_secret_rotated_at
        and now - project.webhook_secret_rotated_at < grace
    ):
        found.append(project.webhook_secret_previous)
    return found


# -- events ------------------------------------------------------------------------------------


def new_event_id() -> str:
    return "msg_" + new_file_id()[len("file_"):]


def event_payload(event_type: str, file: File, now: Any = None) -> dict[str, Any]:
    """``{"type", "timestamp", "data"}``: data is the file as the API returns it + metadata."""
    from .services import file_to_dict  # services imports this module

    now = now or timezone.now()
    return {
        "type": event_type,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "data": {**file_to_dict(file), "metadata": file.metadata},
    }


def record_file_events(event_type: str, files: Iterable[File]) -> list[WebhookEvent]:
    """Write the events (and their outbox rows) in the caller's transaction.

    Files of projects without a webhook URL produce nothing.
    """
    assert event_type in EVENT_TYPES, event_type
    files = list(files)
    if not files:
        return []
    with_hooks = set(
        Project.objects.filter(pk__in={f.project_id for f in files})
        .exclude(webhook_url="")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    events = []
    for file in files:
        if file.project_id not in with_hooks:
            continue
        body = json.dumps(event_payload(event_type, file, now), separators=(",", ":"))
        events.append(
            WebhookEvent(
                id=new_event_id(),
                project_id=file.project_id,
                event_type=event_type,
                file_id=file.pk,
                body=body,
                next_attempt_at=now,
            )
        )
    WebhookEvent.objects.bulk_create(events, batch_size=500)
    outbox.enqueue_many(DELIVER_TASK, batches((e.project_id, e.pk) for e in events))
    return events


def batches(events: Iterable[tuple[int, str]]) -> list[list[str]]:
    """``(project id, event id)`` pairs as ``deliver_webhook`` arguments: a project's events in
    messages of up to ``WEBHOOK_BATCH_SIZE``, each message placed where its first event was.
    One project per message, so that a slow receiver delays only its own project's events."""
    size = max(1, int(uploadkit_settings.WEBHOOK_BATCH_SIZE))
    found: list[list[str]] = []
    filling: dict[int, list[str]] = {}
    for project_id, event_id in events:
        batch = filling.get(project_id)
        if batch is None or len(batch) >= size:
            batch = filling[project_id] = []
            found.append(batch)
        batch.append(event_id)
    return found


def resend(event: WebhookEvent) -> WebhookEvent:
    """Deliver this event again, with a fresh run of attempts and the same ``webhook-id``."""
    with transaction.atomic():
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), lease_until=None
        )
        outbox.enqueue(DELIVER_TASK, event.pk)
    event.refresh_from_db()
    return event


def rescue_stale(limit: int = 500) -> int:
    """Re-queue PENDING events whose next attempt is long overdue (their queued retry was
    lost, e.g. the broker restarted without persistence). Attempts stay idempotent."""
    late = timezone.now() - timedelta(seconds=int(uploadkit_settings.WEBHOOK_RESCUE_AFTER))
    found = list(
        WebhookEvent.objects.filter(status=Status.PENDING, next_attempt_at__lt=late)
        .order_by("next_attempt_at").values_list("project_id", "pk")[:limit]
    )
    with transaction.atomic():
        WebhookEvent.objects.filter(pk__in=[pk for _, pk in found]).update(
            next_attempt_at=timezone.now()
        )
        outbox.enqueue_many(DELIVER_TASK, batches(found))
    return len(found)


# -- delivery ----------------------------------------------------------------------------------


def retry_delays() -> list[float]:
    return [float(d) for d in uploadkit_settings.WEBHOOK_RETRY_DELAYS]


def max_attempts() -> int:
    return len(retry_delays()) + 1


def next_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``, with +/- jitter so retries do not stampede."""
    base = retry_delays()[attempt - 1]
    jitter = float(uploadkit_settings.WEBHOOK_RETRY_JITTER)
    return max(0.0, base * random.uniform(1 - jitter, 1 + jitter))


# The updates every attempt makes: SQL built once per connection (queries.py).
_CLAIM = queries.CompiledUpdate(
    WebhookEvent,
    lambda pk, now, lease: (
        WebhookEvent.objects.filter(pk=pk, status=Status.PENDING).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        ),
        {"lease_until": lease},
    ),
    pk="id", now="lease_until", lease="lease_until",
)
_FINISH = queries.CompiledUpdate(
    WebhookEvent,
    # Only under the lease this attempt claimed: an attempt that outlived it (or whose event
    # was resent meanwhile) must not overwrite what the event's new owner records.
    lambda pk, lease, attempts, status, last_attempt_at, delivered_at, next_attempt_at: (
        WebhookEvent.objects.filter(pk=pk, lease_until=lease),
        {
            "attempts": attempts,
            "last_attempt_at": last_attempt_at,
            "lease_until": None,
            "status": status,
            "delivered_at": delivered_at,
            "next_attempt_at": next_attempt_at,
        },
    ),
    pk="id", lease="lease_until", attempts="attempts", status="status",
    last_attempt_at="last_attempt_at",
    delivered_at="delivered_at", next_attempt_at="next_attempt_at",
)

# The event and its project, read on every attempt: SQL built once per connection (queries.py).
_EVENT_WITH_PROJECT = queries.CompiledSelect(
    lambda pk: WebhookEvent.objects.select_related("project").filter(pk=pk).order_by(), "pk"
)


def deliver(event_ids: list[str]) -> None:
    """One attempt for each event, in turn; one that fails is queued again on its own after its
    delay. Once ``WEBHOOK_TIMEOUT`` has passed (a slow receiver), the events not yet attempted
    are queued again as a message of their own: a batch takes about as long as one event at
    most, within the task's time limits, and leaves the worker to other projects' events."""
    give_back_at = time.monotonic() + float(uploadkit_settings.WEBHOOK_TIMEOUT)
    for i, event_id in enumerate(event_ids):
        if i and time.monotonic() > give_back_at:
            _queue(event_ids[i:])
            return
        try:
            delay = attempt_delivery(event_id)
        except BaseException:
            # The database failed, or a time limit struck: the message is acknowledged all the
            # same (a failed task is), so the events after this one go out as a message of
            # their own; this one stays PENDING for ``rescue_stale``.
            rest = event_ids[i + 1:]
            if rest:
                _queue(rest)
            raise
        if delay is not None:
            _queue([event_id], countdown=delay)


def _queue(event_ids: list[str], countdown: float | None = None) -> None:
    """Straight to the broker (a retry has no transaction to follow). If the broker refuses,
    the events stay PENDING and ``rescue_stale`` queues them again."""
    from .tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(args=event_ids, countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - the broker is down: rescue_stale has them
        logger.warning("Webhook events %s could not be queued again (rescued later): %s",
                       ", ".join(event_ids), exc)


def attempt_delivery(event_id: str) -> float | None:
    """Make one attempt. Returns None when the event needs nothing more (delivered, failed,
    gone), or the number of seconds after which the caller should try again."""
    now = timezone.now()
    # The claim, the read and the result all on the write database: a replica might not have
    # the claim yet.
    using = router.db_for_write(WebhookEvent)
    lease = now + timedelta(seconds=float(uploadkit_settings.WEBHOOK_TIMEOUT) + 30)
    # Claimed and read with its project in one round trip on PostgreSQL (queries.py).
    claimed = queries.update_then_select(
        _CLAIM, _EVENT_WITH_PROJECT, using,
        {"pk": event_id, "now": now, "lease": lease}, {"pk": event_id},
    )
    if not claimed:
        event = WebhookEvent.objects.filter(pk=event_id).first()
        if event is None or event.status != Status.PENDING:
            return None  # done already (or deleted): running twice is harmless
        # Another worker holds the lease (or died holding it): look again when it ends.
        return max(1.0, (event.lease_until - now).total_seconds() + 1) if event.lease_until else 1.0
    event = claimed[0]
    project = event.project
    attempt = event.attempts + 1
    delivery = WebhookDelivery(
        event=event, attempt=attempt, url=project.webhook_url, attempted_at=now
    )
    started = time.monotonic()
    try:
        _post(project, event, delivery)
    finally:
        delivery.duration_ms = int((time.monotonic() - started) * 1000)

    done = delivery.succeeded or attempt >= max_attempts() or not project.webhook_url
    delay = None if done else next_delay(attempt)
    finished = timezone.now()
    # The attempt's row and the event's new state together (one statement on PostgreSQL).
    owned = queries.insert_one_then_update(
        delivery, _FINISH, using,
        pk=event.pk,
        lease=lease,
        attempts=attempt,
        last_attempt_at=now,
        status=(
            Status.DELIVERED
            if delivery.succeeded
            else (Status.FAILED if done else Status.PENDING)
        ),
        delivered_at=finished if delivery.succeeded else None,
        next_attempt_at=None if done else finished + timedelta(seconds=delay or 0),
    )
    if not owned:
        # The attempt is on record; the event's state and its retries are its owner's now.
        logger.warning("Webhook %s attempt %d outlived its lease: its result was recorded, "
                       "the event left to the attempt that claimed it since", event.pk, attempt)
        return None
    if not delivery.succeeded:
        logger.warning(
            "Webhook %s attempt %d/%d to project %s failed: %s",
            event.pk, attempt, max_attempts(), project.slug,
            delivery.status_code or delivery.error,
        )
    return delay


def _post(project: Project, event: WebhookEvent, delivery: WebhookDelivery) -> None:
    """One signed POST; fills in ``delivery``. Never raises for the receiver's failures."""
    url = project.webhook_url
    if not url:
        delivery.error = "The project has no webhook URL any more."
        return
    if not project.webhook_secret:
        delivery.error = "The project has no webhook secret."
        return
    try:
        check_webhook_url(url)  # again at delivery: DNS may have changed since the save
    except UnsafeWebhookUrl as exc:
        delivery.error = exc.message
        return
    body = event.body.encode()
    timestamp = int(time.time())
    signatures = " ".join(
        sign_webhook(secret, event.pk, timestamp, body) for secret in signing_secrets(project)
    )
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.pk,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
    sent = webhook_http.post(url, body, headers, float(uploadkit_settings.WEBHOOK_TIMEOUT),
                             EXCERPT_CHARS)
    delivery.status_code, delivery.response_excerpt = sent.status, sent.excerpt
    delivery.succeeded = not sent.error and sent.status is not None and 200 <= sent.status < 300
    delivery.error = sent.error or ("" if delivery.succeeded else f"HTTP {sent.status}")

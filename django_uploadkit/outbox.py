"""A transactional outbox: queued work is never lost when the broker is down.

``enqueue`` writes an ``OutboxMessage`` row in the caller's transaction, next to the state
change it follows (a file marked UPLOADED or DELETED). Nothing is sent if that transaction
rolls back. After the commit the row is handed to the broker at once; if the broker is
unreachable the API call still succeeds, the row stays, and ``drain`` (a periodic task, and
the ``uploadkit_drain_outbox`` command) sends it once the broker is back.

Delivery is at least once: a crash between the broker accepting a message and the row's
deletion sends it again later. Every task behind the outbox is safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .conf import uploadkit_settings
from .models import OutboxMessage

logger = logging.getLogger(__name__)

#: A claim older than this is considered abandoned (the claiming process died).
CLAIM_TIMEOUT = timedelta(minutes=5)


def enqueue(task: str, *args: Any) -> OutboxMessage:
    """Record ``task(*args)`` in the current transaction; send it after the commit."""
    return enqueue_many(task, [list(args)])[0]


def enqueue_many(task: str, arg_lists: Iterable[list[Any]]) -> list[OutboxMessage]:
    rows = [OutboxMessage(task=task, args=list(args)) for args in arg_lists]
    if not rows:
        return rows
    if connection.features.can_return_rows_from_bulk_insert:
        OutboxMessage.objects.bulk_create(rows, batch_size=500)
    else:
        for row in rows:
            row.save(force_insert=True)
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: dispatch(ids), robust=True)
    return rows


def park(task: str, *args: Any, error: str = "") -> OutboxMessage:
    """Keep work for the drain only (no dispatch now): for a task that failed where it cannot
    wait for a retry, i.e. run in-process by the embedded default."""
    return OutboxMessage.objects.create(
        task=task, args=list(args), attempts=1, last_error=error[:2000]
    )


def _task(name: str) -> Any:
    from celery import current_app

    from . import tasks  # noqa: F401  (registers the shared tasks with the current app)

    return current_app.tasks[name]


def _claim(pk: int, now: Any) -> OutboxMessage | None:
    """Take the row for sending, unless another process holds a fresh claim on it."""
    claimed = (
        OutboxMessage.objects.filter(pk=pk)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .update(claimed_at=now)
    )
    return OutboxMessage.objects.filter(pk=pk).first() if claimed else None


def send(row: OutboxMessage) -> bool:
    """Hand one claimed row to the broker; delete it on success, release it on failure."""
    try:
        _task(row.task).apply_async(args=row.args)
    except Exception as exc:  # the broker is down, or refused: the drain retries later
        logger.warning("Outbox: could not send %s (row %s): %s", row.task, row.pk, exc)
        OutboxMessage.objects.filter(pk=row.pk).update(
            claimed_at=None, attempts=row.attempts + 1, last_error=str(exc)[:2000]
        )
        return False
    OutboxMessage.objects.filter(pk=row.pk).delete()
    return True


def dispatch(ids: list[int]) -> int:
    """Send these rows now (called right after the commit that wrote them)."""
    sent = 0
    for pk in ids:
        row = _claim(pk, timezone.now())
        if row is not None:
            if not send(row):
                break  # the broker is down: leave the rest to the drain
            sent += 1
    return sent


def drain(limit: int = 1000, min_age: float | None = None) -> int:
    """Send rows whose post-commit dispatch did not happen (broker down, process crash).

    Only rows older than ``min_age`` seconds (default ``OUTBOX_DRAIN_AFTER``) are taken, so
    the drain does not race the dispatch that follows each commit.
    """
    now = timezone.now()
    if min_age is None:
        min_age = float(uploadkit_settings.OUTBOX_DRAIN_AFTER)
    due = now - timedelta(seconds=min_age)
    ids = list(
        OutboxMessage.objects.filter(created_at__lte=due)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return dispatch(ids)


def pending_count() -> int:
    return OutboxMessage.objects.count()

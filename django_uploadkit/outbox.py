"""A transactional outbox: queued work is never lost when the broker is down.

``enqueue`` writes an ``OutboxMessage`` row in the caller's transaction, next to the state
change it follows (a file marked UPLOADED or DELETED). Nothing is sent if that transaction
rolls back. After the commit the row is handed to the broker at once; if the broker is
unreachable the API call still succeeds, the row stays, and ``drain`` (a periodic task, and
the ``uploadkit_drain_outbox`` command) sends it once the broker is back.

Delivery is at least once: a crash between the broker accepting a message and the row's
deletion sends it again later. Every task behind the outbox is safe to run twice.

Deletion rows (``tasks.delete_objects``) are not sent one by one: a row per deleted file would
be a storage call per file. They wait here and ``send_deletions`` merges them into messages of
up to the backend's ``delete_batch_size`` keys (the ``gather_deletions`` task, scheduled after
the commit): a full batch at once; one that is not full once deletions have stopped arriving
for ``DELETE_BATCH_QUIET`` seconds, or its oldest row has waited ``DELETE_BATCH_WINDOW``. So a
steady stream of deletions fills its batches whatever its rate (above one batch per window),
and the last, partial batch goes soon after the stream ends. A row is deleted only once the
broker has accepted the batch that carries it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Iterable

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .conf import uploadkit_settings
from .models import OutboxMessage
from .storage import get_backend

logger = logging.getLogger(__name__)

#: A claim older than this is considered abandoned (the claiming process died).
CLAIM_TIMEOUT = timedelta(minutes=5)

DELETE_TASK = "django_uploadkit.tasks.delete_objects"
GATHER_TASK = "django_uploadkit.tasks.gather_deletions"


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
    if task == DELETE_TASK:
        keys = sum(len(row.args[0]) if row.args else 0 for row in rows)
        transaction.on_commit(lambda: deletions_committed(ids, keys), robust=True)
    else:
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
    the drain does not race the dispatch that follows each commit; by default deletion rows
    only once older than ``DELETE_BATCH_WINDOW`` too, since their gathering may wait that long.
    If any deletion row is due, every deletion row waiting is sent, in batches, at once.
    """
    now = timezone.now()
    if min_age is None:
        min_age = float(uploadkit_settings.OUTBOX_DRAIN_AFTER)
        deletions_after = max(min_age, _window())
    else:
        deletions_after = min_age
    waiting = OutboxMessage.objects.filter(_unclaimed(now))
    ids = list(
        waiting.filter(created_at__lte=now - timedelta(seconds=min_age))
        .exclude(task=DELETE_TASK).order_by("id").values_list("id", flat=True)[:limit]
    )
    sent = dispatch(ids)
    if waiting.filter(
        task=DELETE_TASK, created_at__lte=now - timedelta(seconds=deletions_after)
    ).exists():
        sent += send_deletions(wait=False)
    return sent


# -- deletions: gathered into batches ------------------------------------------------------


def _unclaimed(now: Any) -> Q:
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)


def _pending_deletions(now: Any) -> Any:
    return OutboxMessage.objects.filter(_unclaimed(now), task=DELETE_TASK).order_by("id")


def _eager() -> bool:
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def _window() -> float:
    return max(0.0, float(uploadkit_settings.DELETE_BATCH_WINDOW))


def partial_batch_due(oldest: datetime, newest: datetime) -> datetime:
    """When a batch that is not full goes: once no deletion has arrived for the quiet period,
    or once its oldest row has waited the window, whichever comes first (so a quiet period
    longer than the window acts as the window)."""
    quiet = max(0.0, float(uploadkit_settings.DELETE_BATCH_QUIET))
    return min(oldest + timedelta(seconds=_window()), newest + timedelta(seconds=quiet))


def _schedule_gathering(countdown: float) -> None:
    _task(GATHER_TASK).apply_async(countdown=max(0.0, countdown))


def deletions_committed(ids: list[int], keys: int = 0) -> int:
    """After the commit that wrote deletion rows: make sure a gathering will send them.

    The oldest waiting row's writer schedules the gathering for when the quiet period after it
    ends (a gathering that finds newer rows schedules itself again, see ``send_deletions``);
    the writer of the row that fills a batch schedules one now. Others leave it to them (a row
    written while a gathering runs is seen by its next round). If scheduling fails (broker
    down), the rows stay for the drain.
    """
    if not ids:
        return 0
    if _eager():  # no broker, tasks run in-process: nothing to wait for
        return send_deletions(wait=False, ids=ids)
    now = timezone.now()
    pending = _pending_deletions(now)
    first = pending.values_list("pk", "created_at").first()
    if first is None:
        return 0  # already taken by a gathering
    window = _window()
    batch = max(1, int(get_backend().delete_batch_size))
    full = pending.values_list("pk", flat=True)[batch - 1 : batch]
    countdown = None
    if keys >= batch or any(pk in ids for pk in full):
        countdown = 0.0  # ours fill or complete a batch: send it now
    elif first[0] in ids or first[1] < now - timedelta(seconds=2 * window + 5):
        # Ours is the oldest waiting (or the oldest has waited far too long: its gathering was
        # lost): gather when the quiet period after it ends, or its window closes.
        countdown = (partial_batch_due(first[1], first[1]) - now).total_seconds()
    if countdown is None:
        return 0
    try:
        _schedule_gathering(countdown)
    except Exception as exc:  # the broker is down: the drain sends these rows later
        logger.warning("Outbox: could not schedule the deletion batch (rows %s): %s", ids, exc)
        OutboxMessage.objects.filter(pk__in=ids, claimed_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=str(exc)[:2000]
        )
    return 0


def send_deletions(
    *, wait: bool = True, ids: list[int] | None = None, rounds: int = 100
) -> int:
    """Send waiting deletion rows as ``delete_objects`` messages of up to ``delete_batch_size``
    keys each; returns the number of rows sent.

    With ``wait``, a batch that is not full goes only when ``partial_batch_due`` says (no new
    row for ``DELETE_BATCH_QUIET`` seconds, or the oldest row ``DELETE_BATCH_WINDOW`` old);
    until then a gathering is scheduled for that moment. A batch is full when it holds
    ``delete_batch_size`` keys or the next row's keys do not fit in it. Rows are claimed
    (``SELECT ... FOR UPDATE`` where the database has it, then ``claimed_at``) so two
    gatherings never send the same row. Not ``SKIP LOCKED``: two gatherings running at once
    would each take part of the same rows and send two partial batches; the second instead
    waits for the first's claim to commit (milliseconds: nothing is sent inside that
    transaction) and takes what is left. A row is deleted once the broker accepted its batch,
    and released if the broker refused. Without ``wait`` (the drain, the in-process default)
    only rows that exist when it starts are taken (or only ``ids``): a deletion that fails
    in-process is kept in a new row for the next drain, not retried in a loop.
    """
    backend = get_backend()
    scope = OutboxMessage.objects.filter(task=DELETE_TASK).order_by("id")
    if ids is not None:
        scope = scope.filter(pk__in=ids)
    elif not wait:
        last = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
        scope = scope.filter(pk__lte=last or 0)
    batch = max(1, int(backend.delete_batch_size))
    sent = 0
    for _ in range(rounds):
        now = timezone.now()
        later = None
        with transaction.atomic():
            candidates = list(
                scope.filter(_unclaimed(now))
                .select_for_update()
                .only("id", "args", "created_at", "attempts")[:batch]
            )
            if not candidates:
                return sent
            rows, keys = [], []
            for row in candidates:
                row_keys = list(row.args[0]) if row.args else []
                if rows and len(keys) + len(row_keys) > batch:
                    break
                rows.append(row)
                keys.extend(row_keys)
            # Full: no room left, or the next row did not fit (this batch cannot grow).
            full = len(keys) >= batch or len(rows) < len(candidates)
            if wait and not full:
                # Not full: every waiting row is among the candidates, the newest included.
                due = partial_batch_due(candidates[0].created_at,
                                        max(row.created_at for row in candidates))
                if due > now:
                    later = (due - now).total_seconds()
            if later is None:
                OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(claimed_at=now)
        if later is not None:
            _schedule_gathering(later)
            return sent
        try:
            _task(DELETE_TASK).apply_async(args=[keys])
        except Exception as exc:  # the broker is down or refused: the drain retries later
            logger.warning("Outbox: could not send a batch of %d deletion(s): %s", len(keys), exc)
            OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
                claimed_at=None, attempts=F("attempts") + 1, last_error=str(exc)[:2000]
            )
            return sent
        OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).delete()
        sent += len(rows)
    # Bounded work per call; more is waiting: carry on in a fresh task.
    if wait:
        _schedule_gathering(0)
    return sent


def pending_count() -> int:
    return OutboxMessage.objects.count()

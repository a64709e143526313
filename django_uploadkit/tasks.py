"""Celery tasks. The project owns the Celery app; this library only declares shared tasks.

Every task takes ids or keys (never model instances) and is safe to run twice: the broker
delivers at least once (``acks_late``), and the outbox may send a message again after a crash.
Retry schedules come from ``UPLOADKIT`` settings (docs/celery.md).
"""

from __future__ import annotations

import logging
import random
from typing import Any, NoReturn

from celery import shared_task
from celery.exceptions import Ignore

from .conf import uploadkit_settings
from .exceptions import StorageError, StorageUnavailable
from .storage import get_backend

logger = logging.getLogger(__name__)


def delete_backoff(retries: int) -> float:
    """Exponential backoff with full jitter: up to BACKOFF * 2**retries, capped at MAX."""
    factor = float(uploadkit_settings.DELETE_RETRY_BACKOFF)
    ceiling = min(float(uploadkit_settings.DELETE_RETRY_BACKOFF_MAX), factor * 2**retries)
    return random.uniform(ceiling / 2, ceiling)


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=300, time_limit=360)
def delete_objects(self, keys: list[str]) -> int:
    """Remove objects (one batch, at most the backend's ``delete_batch_size`` keys).

    Keys already gone count as deleted. While storage is unreachable or refuses, retry the
    keys still there with backoff, for as long as it takes.
    """
    try:
        result = get_backend().delete_many(keys)
    except (StorageUnavailable, StorageError) as exc:
        _retry_deletion(self, list(keys), exc)
    if result.errors:
        _retry_deletion(
            self,
            list(result.errors),
            StorageError(f"Storage refused {len(result.errors)} deletion(s)."),
        )
    return len(result.deleted)


def _retry_deletion(task: Any, keys: list[str], exc: Exception) -> NoReturn:
    if task.request.is_eager:
        # In-process (the embedded default, no broker) a retry cannot wait: it would spin, and
        # block the request, while storage is down. Keep the keys in the outbox instead; the
        # drain (beat, or ``manage.py uploadkit_drain_outbox``) sends them again.
        from .outbox import park

        logger.warning("Storage failed for %d deletion(s); kept for the outbox drain: %s",
                       len(keys), exc)
        park(task.name, keys, error=str(exc))
        raise Ignore()
    countdown = delete_backoff(task.request.retries)
    logger.warning("Storage failed for %d deletion(s), retrying in %.1fs: %s",
                   len(keys), countdown, exc)
    raise task.retry(args=[keys], countdown=countdown, exc=exc)


@shared_task(bind=True, acks_late=True, soft_time_limit=120, time_limit=150)
def gather_deletions(self) -> int:
    """Merge the deletion rows waiting in the outbox into ``delete_objects`` batches (full ones
    at once; a partial one once deletions stop for ``DELETE_BATCH_QUIET`` or its oldest row has
    waited ``DELETE_BATCH_WINDOW``)."""
    from .outbox import send_deletions

    return send_deletions(wait=not self.request.is_eager)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def deliver_webhook(event_id: str, *more: str) -> None:
    """One attempt for each event given, in turn (a project's events recorded together share a
    message); one that fails is queued again on its own, after the documented delay."""
    from .webhook_delivery import deliver

    deliver([event_id, *more])


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def expire_uploads() -> int:
    """The expiry sweep (beat schedule in the example project; also ``uploadkit_expire``)."""
    from .services import expire_stale_uploads

    return expire_stale_uploads()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def drain_outbox() -> int:
    """Send outbox rows the post-commit dispatch missed, and rescue lost webhook retries."""
    from .outbox import drain
    from .webhook_delivery import rescue_stale

    rescued = rescue_stale()
    return drain() + rescued

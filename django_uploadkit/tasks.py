"""Celery tasks. The project owns the Celery app; this library only declares shared tasks."""

from __future__ import annotations

import logging

from celery import shared_task

from .exceptions import StorageUnavailable, StorageError
from .storage import get_backend

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(StorageUnavailable, StorageError),
    retry_backoff=5,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=None,
)
def delete_objects(self, keys: list[str]) -> int:
    """Remove objects; keys storage refused are retried, keys already gone count as done."""
    result = get_backend().delete_many(keys)
    if result.errors:
        logger.warning("Storage refused to delete %d object(s); retrying", len(result.errors))
        raise self.retry(args=[list(result.errors)], exc=StorageError(
            f"Storage refused {len(result.errors)} deletion(s)."))
    return len(result.deleted)


def enqueue_delete_objects(keys: list[str]) -> None:
    delete_objects.delay(list(keys))

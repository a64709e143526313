"""The deployment settings the example project ships, and the ones the docs promise."""

from __future__ import annotations

from django.conf import settings

from django_uploadkit import tasks
from django_uploadkit.conf import DEFAULTS
from example_project.celery import app


def test_acks_late_and_reject_on_worker_lost():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    for task in (tasks.delete_objects, tasks.deliver_webhook, tasks.expire_uploads,
                 tasks.drain_outbox):
        assert task.acks_late is True


def test_visibility_timeout_exceeds_the_longest_countdown():
    longest_webhook = max(DEFAULTS["WEBHOOK_RETRY_DELAYS"]) * (1 + DEFAULTS["WEBHOOK_RETRY_JITTER"])
    longest_delete = DEFAULTS["DELETE_RETRY_BACKOFF_MAX"]
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > longest_webhook and timeout > longest_delete


def test_every_task_has_time_limits():
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    for task in (tasks.delete_objects, tasks.deliver_webhook, tasks.expire_uploads,
                 tasks.drain_outbox):
        assert 0 < task.soft_time_limit < task.time_limit
    assert tasks.deliver_webhook.soft_time_limit > DEFAULTS["WEBHOOK_TIMEOUT"] * 2


def test_workers_keep_their_database_connection_between_tasks():
    # Celery's Django fix-up reads this name; without it every task reconnects.
    from celery.fixups.django import DjangoWorkerFixup

    assert settings.CELERY_DB_REUSE_MAX >= 100
    assert DjangoWorkerFixup(app).db_reuse_max == settings.CELERY_DB_REUSE_MAX


def test_the_beat_schedule_runs_the_sweep_and_the_drain():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {tasks.expire_uploads.name, tasks.drain_outbox.name}
    assert scheduled <= set(app.tasks)


def test_at_least_six_webhook_attempts_over_hours():
    delays = DEFAULTS["WEBHOOK_RETRY_DELAYS"]
    assert len(delays) + 1 >= 6
    assert sum(delays) > 3 * 3600
    assert all(a < b for a, b in zip(delays, delays[1:]))  # growing: exponential backoff

"""Deleting many files: DeleteObjects, 1,000 keys a call, refusals reported per key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from django_uploadkit import services
from django_uploadkit.models import File
from django_uploadkit.storage import get_backend

from .conftest import s3_options

pytestmark = pytest.mark.usefixtures("s3_storage")


def count_delete_objects_calls(backend: Any) -> list[int]:
    """Each DeleteObjects HTTP request the backend's boto3 client sends: its number of keys."""
    calls: list[int] = []

    def before_send(request: Any, **kwargs: Any) -> None:
        calls.append(bytes(request.body).count(b"<Key>"))

    backend.batch_client.meta.events.register("before-send.s3.DeleteObjects", before_send)
    return calls


def test_deleting_2500_files_removes_every_object_in_3_delete_objects_calls(
    s3_storage, s3_server, s3_client, project, route, django_capture_on_commit_callbacks
):
    keys = [f"uploads/bulk{i:04d}/f.jpg" for i in range(2500)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3_client.put_object(Bucket=s3_server.bucket, Key=k, Body=b"x"), keys))
    files = File.objects.bulk_create(
        File(project=project, route=route, key=k, name="f.jpg", size=1, content_type="image/jpeg",
             status=File.Status.UPLOADED)
        for k in keys
    )
    calls = count_delete_objects_calls(s3_storage)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_files(files) == 2500

    assert calls == [1000, 1000, 500]
    assert s3_client.list_objects_v2(Bucket=s3_server.bucket, Prefix="uploads/bulk").get("KeyCount") == 0
    assert File.objects.filter(status=File.Status.DELETED).count() == 2500


def test_delete_many_counts_its_calls_and_missing_keys_as_deleted(s3_storage):
    result = s3_storage.delete_many([f"uploads/never/{i}" for i in range(1001)])
    assert (len(result.deleted), result.errors, result.calls) == (1001, {}, 2)


def test_a_refused_deletion_is_reported_for_each_key(settings, s3_server):
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE_OPTIONS": s3_options(s3_server, bucket_name="no-such-bucket"),
    }
    result = get_backend().delete_many(["uploads/a/1.jpg", "uploads/b/2.jpg"])
    assert result.deleted == []
    assert set(result.errors) == {"uploads/a/1.jpg", "uploads/b/2.jpg"}
    assert "NoSuchBucket" in result.errors["uploads/a/1.jpg"]


def test_delete_objects_waits_longer_for_its_answer_than_other_calls(settings, s3_server):
    """A 1,000-key batch may be slow to answer; a retry after a read timeout would send it all
    again. A longer timeout that the settings give is kept."""
    from botocore.config import Config

    from django_uploadkit.storage.s3 import BATCH_READ_TIMEOUT

    backend = get_backend()
    assert backend.client.meta.config.read_timeout == 30
    assert backend.batch_client.meta.config.read_timeout == BATCH_READ_TIMEOUT == 120
    assert backend.batch_client.meta.config.connect_timeout == backend.client.meta.config.connect_timeout
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE_OPTIONS": s3_options(s3_server, client_config=Config(read_timeout=300)),
    }
    assert get_backend().batch_client.meta.config.read_timeout == 300

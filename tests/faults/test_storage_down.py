"""Storage unreachable during ``complete``, with the local backend (the S3 equivalent, with
the S3 server really stopped, is tests/storage/test_s3_outage.py): 503 in the error shape,
nothing changes, and a later ``complete`` succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from django_uploadkit.models import File, OutboxMessage, WebhookEvent

from tests.celery.backends import DOWN_MARKER
from tests.conftest import assert_error
from tests.helpers import JPEG, put_object, request_upload


@pytest.fixture
def flaky_root(settings, tmp_path: Path) -> Path:
    root = tmp_path / "flaky-storage"
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE": "tests.celery.backends.FlakyLocalBackend",
        "STORAGE_OPTIONS": {"ROOT": str(root)},
    }
    return root


def test_complete_while_local_storage_is_down_is_503_then_succeeds(flaky_root, api):
    ticket = request_upload(api).json()
    assert put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg").status_code == 200
    complete = {"fileId": ticket["fileId"]}

    (flaky_root / DOWN_MARKER).touch()
    response = api.post("/api/v1/upload/complete", complete, format="json")
    assert_error(response, 503, "STORAGE_UNAVAILABLE")
    assert str(flaky_root) not in response.json()["error"]
    assert File.objects.get(pk=ticket["fileId"]).status == "PENDING"
    assert not OutboxMessage.objects.exists() and not WebhookEvent.objects.exists()
    # Asking again while it is still down changes nothing either.
    assert_error(api.post("/api/v1/upload/complete", complete, format="json"), 503,
                 "STORAGE_UNAVAILABLE")
    assert File.objects.get(pk=ticket["fileId"]).status == "PENDING"

    (flaky_root / DOWN_MARKER).unlink()
    response = api.post("/api/v1/upload/complete", complete, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "UPLOADED"
    assert File.objects.get(pk=ticket["fileId"]).status == "UPLOADED"

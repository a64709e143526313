"""The S3 backend's fixtures: one real, signature-checking S3 server for the whole session.

Not autouse: ``test_local.py`` in this folder runs on the local backend. S3 tests say
``pytestmark = pytest.mark.usefixtures("s3_storage")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.config import Config

from django_uploadkit.storage import get_backend
from django_uploadkit.storage.s3 import S3Backend

from ..servers.s3 import S3Server

# Not the server's defaults, so a test passing with S3RVER/S3RVER would prove nothing.
ACCESS_KEY = "uploadkit-test-access"
SECRET_KEY = "uploadkit-test-secret"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with S3Server(access_key=ACCESS_KEY, secret_key=SECRET_KEY) as server:
        yield server


def s3_options(server: S3Server, **extra: Any) -> dict[str, Any]:
    """STORAGE_OPTIONS in django-storages' names, pointing at the test server."""
    return {
        "bucket_name": server.bucket,
        "endpoint_url": server.endpoint_url,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "region_name": server.region,
        "addressing_style": "path",
        **extra,
    }


@pytest.fixture
def s3_storage(settings: Any, s3_server: S3Server) -> Iterator[S3Backend]:
    """UPLOADKIT switched to the s3 backend on the test server (running again if a test stopped it)."""
    s3_server.start()
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE": "s3",
        "STORAGE_OPTIONS": s3_options(s3_server),
    }
    backend = get_backend()
    assert isinstance(backend, S3Backend)
    yield backend
    s3_server.start()


@pytest.fixture
def s3_client(s3_server: S3Server) -> Any:
    """Our own boto3 client on the bucket: to look at (and tamper with) storage behind the app."""
    return boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=s3_server.region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": "path"}, max_pool_connections=16
        ),
    )


class Api:
    """The reference text's ``requests`` calls, against the live server."""

    def __init__(self, base: str, api_key: str) -> None:
        self.base = base
        self.headers = {"x-api-key": api_key, "Content-Type": "application/json"}

    def request(self, size: int, content_type: str = "image/jpeg", name: str = "profile.jpg"):
        return requests.post(
            f"{self.base}/api/v1/upload/request",
            headers=self.headers,
            json={"fileName": name, "fileSize": size, "contentType": content_type,
                  "routeSlug": "imageUploader"},
        )

    def complete(self, file_id: str):
        return requests.post(
            f"{self.base}/api/v1/upload/complete", headers=self.headers, json={"fileId": file_id}
        )

    def files(self):
        return requests.get(f"{self.base}/api/v1/files", headers=self.headers, params={"limit": 20})

    def delete(self, key: str):
        return requests.delete(f"{self.base}/api/v1/files/{quote(key, safe='')}", headers=self.headers)


@pytest.fixture
def api_http(live_server: Any, transactional_db: None, api_key: str, s3_storage: S3Backend) -> Api:
    """The API on a live server (real HTTP, real commits) with the s3 backend."""
    return Api(live_server.url, api_key)


def object_exists(client: Any, server: S3Server, key: str) -> bool:
    response = client.list_objects_v2(Bucket=server.bucket, Prefix=key)
    return any(item["Key"] == key for item in response.get("Contents", []))

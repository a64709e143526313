"""Storage down: presigning still works, complete answers 503 and changes nothing; storage
back: complete succeeds. Storage refusing: a clear 500, never a boto3 traceback."""

from __future__ import annotations

import pytest
import requests

from django_uploadkit.models import File

from ..conftest import assert_error
from .conftest import s3_options

pytestmark = pytest.mark.usefixtures("s3_storage")

BODY = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def test_storage_stopped_mid_flow_then_back(api_http, s3_server):
    ticket = api_http.request(len(BODY)).json()
    put = requests.put(ticket["uploadUrl"], headers={"Content-Type": "image/jpeg"}, data=BODY)
    assert put.status_code == 200, put.text

    s3_server.stop()
    # Presigning is local computation: a new upload can still be requested.
    other = api_http.request(len(BODY))
    assert other.status_code == 200, other.json()
    assert other.json()["uploadUrl"].startswith(s3_server.endpoint_url)
    # Verifying needs storage: 503 in the error shape, and the file is left as it was.
    response = api_http.complete(ticket["fileId"])
    assert_error(response, 503, "STORAGE_UNAVAILABLE")
    assert File.objects.get(pk=ticket["fileId"]).status == "PENDING"

    s3_server.start()
    response = api_http.complete(ticket["fileId"])
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "UPLOADED"


@pytest.mark.parametrize("wrong", [{"secret_key": "not-the-secret"}, {"access_key": "nobody"}])
def test_wrong_credentials_are_a_clear_500(api_http, settings, s3_server, wrong):
    ticket = api_http.request(len(BODY)).json()
    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE_OPTIONS": s3_options(s3_server, **wrong)}
    response = api_http.complete(ticket["fileId"])
    assert_error(response, 500, "STORAGE_ERROR")
    assert "access denied" in response.json()["error"]
    assert File.objects.get(pk=ticket["fileId"]).status == "PENDING"


def test_a_missing_bucket_is_a_clear_500(api_http, settings, s3_server):
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE_OPTIONS": s3_options(s3_server, bucket_name="no-such-bucket"),
    }
    ticket = api_http.request(len(BODY)).json()
    put = requests.put(ticket["uploadUrl"], headers={"Content-Type": "image/jpeg"}, data=BODY)
    assert put.status_code == 404 and "NoSuchBucket" in put.text
    # HEAD has no body, so a missing bucket looks like a missing object: not uploaded yet.
    assert_error(api_http.complete(ticket["fileId"]), 409, "UPLOAD_INCOMPLETE")


def test_no_credentials_at_all_is_a_clear_500_at_request(api_http, settings, s3_server, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    options = s3_options(s3_server)
    del options["access_key"], options["secret_key"]
    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE_OPTIONS": options}
    response = api_http.request(len(BODY))
    assert_error(response, 500, "STORAGE_ERROR")
    assert "credentials" in response.json()["error"]

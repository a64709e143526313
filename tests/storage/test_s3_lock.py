"""The presigned PUT is a lock: storage itself refuses anything but the signed upload, and
``complete`` trusts only what storage says about the object."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from django_uploadkit.models import File

from ..conftest import assert_error
from .conftest import object_exists

pytestmark = pytest.mark.usefixtures("s3_storage")

BODY = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def tamper(url: str) -> str:
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    return url.replace(signature, flipped)


def refused_then_never_uploaded(api_http, s3_client, s3_server, response, ticket) -> None:
    """Storage answered 403, nothing was stored, and complete keeps the file PENDING."""
    assert response.status_code == 403, response.text
    assert not object_exists(s3_client, s3_server, ticket["key"])
    assert_error(api_http.complete(ticket["fileId"]), 409, "UPLOAD_INCOMPLETE")
    assert File.objects.get(pk=ticket["fileId"]).status == "PENDING"


def test_another_content_type_is_refused(api_http, s3_client, s3_server):
    ticket = api_http.request(len(BODY)).json()
    put = requests.put(ticket["uploadUrl"], headers={"Content-Type": "image/png"}, data=BODY)
    assert "SignatureDoesNotMatch" in put.text
    refused_then_never_uploaded(api_http, s3_client, s3_server, put, ticket)


@pytest.mark.parametrize("delta", [1, -1])
def test_another_length_is_refused(api_http, s3_client, s3_server, delta):
    ticket = api_http.request(len(BODY)).json()
    body = BODY + b"x" if delta > 0 else BODY[:-1]
    put = requests.put(ticket["uploadUrl"], headers={"Content-Type": "image/jpeg"}, data=body)
    assert "SignatureDoesNotMatch" in put.text
    refused_then_never_uploaded(api_http, s3_client, s3_server, put, ticket)


def test_a_tampered_signature_is_refused(api_http, s3_client, s3_server):
    ticket = api_http.request(len(BODY)).json()
    put = requests.put(tamper(ticket["uploadUrl"]), headers={"Content-Type": "image/jpeg"}, data=BODY)
    assert "SignatureDoesNotMatch" in put.text
    refused_then_never_uploaded(api_http, s3_client, s3_server, put, ticket)


def test_an_expired_url_is_refused(api_http, s3_client, s3_server, settings):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "UPLOAD_URL_EXPIRES": 1}
    ticket = api_http.request(len(BODY)).json()
    assert parse_qs(urlsplit(ticket["uploadUrl"]).query)["X-Amz-Expires"] == ["1"]
    time.sleep(2.1)
    put = requests.put(ticket["uploadUrl"], headers={"Content-Type": "image/jpeg"}, data=BODY)
    assert "AccessDenied" in put.text
    refused_then_never_uploaded(api_http, s3_client, s3_server, put, ticket)


def test_an_object_replaced_after_the_upload_is_caught_by_complete(api_http, s3_client, s3_server):
    ticket = api_http.request(len(BODY)).json()
    put = requests.put(ticket["uploadUrl"], headers={"Content-Type": "image/jpeg"}, data=BODY)
    assert put.status_code == 200, put.text
    # Someone with bucket access overwrites it with something else before complete.
    s3_client.put_object(
        Bucket=s3_server.bucket, Key=ticket["key"], Body=BODY * 2, ContentType="image/jpeg"
    )

    assert_error(api_http.complete(ticket["fileId"]), 409, "UPLOAD_MISMATCH")
    assert File.objects.get(pk=ticket["fileId"]).status == "FAILED"
    assert not object_exists(s3_client, s3_server, ticket["key"])
    assert_error(api_http.complete(ticket["fileId"]), 409, "UPLOAD_MISMATCH")


def test_an_object_of_another_type_put_by_other_means_is_caught(api_http, s3_client, s3_server):
    ticket = api_http.request(len(BODY)).json()
    s3_client.put_object(
        Bucket=s3_server.bucket, Key=ticket["key"], Body=BODY, ContentType="text/html"
    )
    assert_error(api_http.complete(ticket["fileId"]), 409, "UPLOAD_MISMATCH")
    assert File.objects.get(pk=ticket["fileId"]).status == "FAILED"
    assert not object_exists(s3_client, s3_server, ticket["key"])

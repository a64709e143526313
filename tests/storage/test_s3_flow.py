"""The reference text's flow through the s3 backend, on a real signature-checking S3 server."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from django_uploadkit.models import File
from django_uploadkit.storage import get_backend

from .conftest import object_exists, s3_options

pytestmark = pytest.mark.usefixtures("s3_storage")

BODY = b"\xff\xd8\xff\xe0" + os.urandom(204_800)


def test_request_put_complete_list_read_delete(api_http, s3_server, s3_client):
    # Request: the upload URL is the bucket's, SigV4, with type and length signed in.
    ticket = api_http.request(len(BODY)).json()
    assert set(ticket) == {"fileId", "uploadUrl", "cdnUrl", "key"}
    url = urlsplit(ticket["uploadUrl"])
    assert url.path == f"/{s3_server.bucket}/{ticket['key']}"
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert query["X-Amz-Expires"] == ["900"]

    # PUT straight to storage, exactly as the reference text's Python example does.
    put = requests.put(ticket["uploadUrl"], headers={"Content-Type": "image/jpeg"}, data=BODY)
    assert put.status_code == 200, put.text

    # Complete: verified by HEAD against storage.
    complete = api_http.complete(ticket["fileId"])
    assert complete.status_code == 200, complete.json()
    file = complete.json()
    assert (file["id"], file["key"], file["status"]) == (ticket["fileId"], ticket["key"], "UPLOADED")
    assert (file["size"], file["type"]) == (len(BODY), "image/jpeg")
    again = api_http.complete(ticket["fileId"]).json()  # completing twice is harmless
    assert {**again, "url": None} == {**file, "url": None}

    # List.
    listed = api_http.files().json()
    assert [f["key"] for f in listed["files"]] == [ticket["key"]]

    # Read it back: the default (django-storages' querystring_auth) is a presigned GET.
    read = requests.get(file["url"])
    assert read.status_code == 200 and read.content == BODY
    assert read.headers["Content-Type"] == "image/jpeg"

    # Delete: gone from the API at once, and from the bucket (the task runs after commit).
    deleted = api_http.delete(ticket["key"])
    assert deleted.status_code == 200, deleted.json()
    assert File.objects.get(pk=ticket["fileId"]).status == "DELETED"
    assert api_http.files().json() == {"files": [], "nextCursor": None}
    assert not object_exists(s3_client, s3_server, ticket["key"])
    assert requests.get(file["url"]).status_code == 404


def test_public_bucket_urls_are_plain_bucket_urls(settings, s3_server, s3_client):
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE_OPTIONS": s3_options(s3_server, querystring_auth=False),
    }
    url = get_backend().url("uploads/abc123/profile.jpg")
    assert url == f"{s3_server.endpoint_url}/{s3_server.bucket}/uploads/abc123/profile.jpg"
    s3_client.put_object(
        Bucket=s3_server.bucket, Key="uploads/abc123/profile.jpg", Body=BODY, ContentType="image/jpeg"
    )
    assert requests.get(url).content == BODY


def test_custom_domain_gives_the_cdn_url(settings, s3_server):
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE_OPTIONS": s3_options(s3_server, custom_domain="cdn.example.test"),
    }
    assert get_backend().url("uploads/abc123/profile.jpg") == (
        "https://cdn.example.test/uploads/abc123/profile.jpg"
    )


def test_private_bucket_urls_are_presigned_gets_with_the_configured_lifetime(settings, s3_server):
    settings.UPLOADKIT = {
        **settings.UPLOADKIT,
        "STORAGE_OPTIONS": s3_options(s3_server, querystring_auth=True, querystring_expire=600),
    }
    query = parse_qs(urlsplit(get_backend().url("uploads/abc123/profile.jpg")).query)
    assert query["X-Amz-Expires"] == ["600"] and "X-Amz-Signature" in query


def test_read_prefix_reads_only_the_first_bytes(s3_storage, s3_server, s3_client):
    s3_client.put_object(Bucket=s3_server.bucket, Key="uploads/p/x.jpg", Body=BODY)
    assert s3_storage.read_prefix("uploads/p/x.jpg", 4) == b"\xff\xd8\xff\xe0"

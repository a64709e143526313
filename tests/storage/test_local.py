"""The local backend's upload target enforces what S3 enforces for a presigned PUT."""

import io
import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from rest_framework.test import APIClient

from django_uploadkit.models import File
from django_uploadkit.storage import get_backend

from ..conftest import assert_error
from ..helpers import JPEG, put_object, request_upload


@pytest.fixture
def ticket(api):
    return request_upload(api).json()


def complete(api, file_id):
    return api.post("/api/v1/upload/complete", {"fileId": file_id}, format="json")


def with_query(url, **changes):
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


def test_a_put_with_the_signed_type_and_size_is_stored(ticket, local_storage_root):
    assert put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg").status_code == 200
    assert (Path(local_storage_root) / ticket["key"]).read_bytes() == JPEG
    info = get_backend().head(ticket["key"])
    assert (info.size, info.content_type) == (len(JPEG), "image/jpeg")


def test_a_put_with_another_content_type_is_refused_and_complete_fails(api, ticket):
    response = put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/png")
    assert_error(response, 403, "CONTENT_TYPE_MISMATCH")
    assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_INCOMPLETE")
    assert File.objects.get(pk=ticket["fileId"]).status == "PENDING"


def test_a_body_larger_than_requested_is_refused(api, ticket, local_storage_root):
    response = put_object(APIClient(), ticket["uploadUrl"], JPEG + b"x", "image/jpeg")
    assert_error(response, 403, "FILE_TOO_LARGE")
    assert not (Path(local_storage_root) / ticket["key"]).exists()
    assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_INCOMPLETE")


def test_a_body_smaller_than_requested_is_refused(api, ticket):
    response = put_object(APIClient(), ticket["uploadUrl"], JPEG[:-1], "image/jpeg")
    assert_error(response, 400, "CONTENT_LENGTH_MISMATCH")
    assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_INCOMPLETE")


@pytest.mark.parametrize("change", [
    {"signature": "0" * 64},
    {"size": "99999"},
    {"type": "image/png"},
    {"expires": str(int(time.time()) + 10**6)},
])
def test_a_tampered_url_is_refused(api, ticket, change):
    url = with_query(ticket["uploadUrl"], **change)
    content_type = change.get("type", "image/jpeg")
    assert_error(put_object(APIClient(), url, JPEG, content_type), 403, "INVALID_SIGNATURE")
    assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_INCOMPLETE")


def test_a_url_for_another_key_is_refused(api, ticket):
    other = request_upload(api).json()
    url = other["uploadUrl"].replace(other["key"], ticket["key"])
    assert_error(put_object(APIClient(), url, JPEG, "image/jpeg"), 403, "INVALID_SIGNATURE")


def test_an_expired_url_is_refused(api, settings):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "UPLOAD_URL_EXPIRES": 1}
    ticket = request_upload(api).json()
    time.sleep(2.1)
    response = put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg")
    assert_error(response, 403, "UPLOAD_URL_EXPIRED")
    assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_INCOMPLETE")


def test_a_put_without_signed_parameters_is_refused(ticket):
    url = urlsplit(ticket["uploadUrl"]).path
    assert_error(put_object(APIClient(), url, JPEG, "image/jpeg"), 403, "INVALID_SIGNATURE")


def test_reading_a_missing_object_is_404_in_the_error_shape(db):
    assert_error(APIClient().get("/uploadkit/objects/uploads/nope/x.jpg"), 404, "FILE_NOT_FOUND")


def test_sidecar_metadata_is_never_served(api, ticket):
    put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg")
    response = APIClient().get(f"/uploadkit/objects/.uploadkit-meta/{ticket['key']}.json")
    assert_error(response, 404, "FILE_NOT_FOUND")


def test_delete_many_removes_objects_and_tolerates_missing_ones(ticket):
    backend = get_backend()
    put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg")
    result = backend.delete_many([ticket["key"], "uploads/never/there.jpg"])
    assert sorted(result.deleted) == sorted([ticket["key"], "uploads/never/there.jpg"])
    assert result.errors == {}
    assert backend.head(ticket["key"]) is None


def test_an_unknown_option_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": "/tmp", "BUKET": "x"}}
    with pytest.raises(ImproperlyConfigured, match="BUKET"):
        get_backend()


def test_a_body_larger_than_the_write_behind_window_is_stored_byte_for_byte(db, local_storage_root):
    from django_uploadkit.storage.local import WRITE_BEHIND

    data = os.urandom(2 * WRITE_BEHIND + 12345)
    get_backend().save_stream("big/blob.bin", io.BytesIO(data), len(data), "application/octet-stream")
    assert (Path(local_storage_root) / "big" / "blob.bin").read_bytes() == data
    assert get_backend().head("big/blob.bin").size == len(data)


def test_a_large_body_cut_short_leaves_no_object_and_no_temporary_file(db, local_storage_root):
    from django_uploadkit.exceptions import ContentLengthMismatch
    from django_uploadkit.storage.local import WRITE_BEHIND

    data = os.urandom(WRITE_BEHIND + 1000)
    with pytest.raises(ContentLengthMismatch):
        get_backend().save_stream("cut/blob.bin", io.BytesIO(data[:-1]), len(data), "application/octet-stream")
    assert get_backend().head("cut/blob.bin") is None
    assert list((Path(local_storage_root) / "cut").iterdir()) == []


def test_the_sidecar_is_written_whole_and_no_temporary_file_is_left(db, local_storage_root):
    data = b"%PDF-1.4 a document"
    get_backend().save_stream("docs/a/report.pdf", io.BytesIO(data), len(data), "application/pdf")
    assert get_backend().head("docs/a/report.pdf").content_type == "application/pdf"
    leftovers = [p.name for p in Path(local_storage_root).rglob(".*") if p.is_file()]
    assert [n for n in leftovers if n.startswith((".upload-", ".meta-"))] == []


@pytest.mark.parametrize("key", [
    "uploads/abc/photo.jpg",
    "uploads/abc/a b%20c#?.jpg",
    "uploads/abc/été 日本.png",
    "uploads/abc/semi;colon=eq&amp+plus~tilde:colon@at",
])
@pytest.mark.parametrize("script_prefix", ["/", "/under/here/"])
def test_object_urls_are_what_reverse_gives(db, key, script_prefix):
    from django.urls import reverse, set_script_prefix

    backend = get_backend()
    try:
        set_script_prefix(script_prefix)
        assert backend.url(key) == reverse("uploadkit:local-object", kwargs={"key": key})
        assert backend.url(key).startswith(script_prefix)
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/vnd.api+json", "text/plain; charset=utf-8"])
def test_an_upload_url_is_signed_as_urls_already_issued_were(settings, content_type):
    # Outstanding upload URLs must keep working across an upgrade: the same query, the same
    # HMAC-SHA256 under the key derived from the secret.
    import hashlib
    import hmac

    settings.UPLOADKIT = {"SECRET": "a-fixed-secret", "STORAGE": "local"}
    before = int(time.time())
    url = get_backend().presigned_put_url("uploads/x/a b.jpg", content_type=content_type, size=42, expires_in=600)
    path, query = url.split("?", 1)
    expires = int(parse_qs(query)["expires"][0])
    assert before + 600 <= expires <= int(time.time()) + 600
    derived = hmac.new(b"a-fixed-secret", b"uploadkit.local-upload", hashlib.sha256).digest()
    message = f"PUT\nuploads/x/a b.jpg\n{content_type}\n42\n{expires}".encode()
    signature = hmac.new(derived, message, hashlib.sha256).hexdigest()
    assert query == urlencode({"type": content_type, "size": 42, "expires": expires, "signature": signature})
    assert path.endswith("/uploads/x/a%20b.jpg")

"""Presigned URLs: exactly the URLs boto3's client makes, and accepted by a SigV4-checking server."""

from __future__ import annotations

import dataclasses
import datetime as dt

import botocore.auth
import pytest
import requests

from django_uploadkit.storage.s3 import UrlSigner

from .conftest import s3_options

pytestmark = pytest.mark.usefixtures("s3_storage")

KEYS = [
    "uploads/abc/photo.jpg",
    "uploads/abc/été 日本 (1).png",
    "uploads/abc/a+b=c&d;e%20f~g'h.bin",
]


@pytest.fixture
def pinned_clock(monkeypatch):
    """botocore's clock, fixed: two URLs signed at the same instant must match byte for byte."""
    now = dt.datetime(2026, 12, 1, 12, 30, 5)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now)


@pytest.mark.parametrize("key", KEYS)
def test_upload_urls_are_the_clients_own(s3_storage, pinned_clock, key):
    ours = s3_storage.presigned_put_url(key, content_type="image/png", size=123, expires_in=900)
    theirs = s3_storage.client.generate_presigned_url(
        "put_object",
        Params={"Bucket": s3_storage.bucket_name, "Key": key, "ContentType": "image/png",
                "ContentLength": 123},
        ExpiresIn=900,
        HttpMethod="PUT",
    )
    assert ours == theirs
    s3_storage.url(key)
    assert_signed_here(s3_storage)


@pytest.mark.parametrize("key", KEYS)
def test_file_urls_are_django_storages_own(s3_storage, pinned_clock, key):
    assert s3_storage.url(key) == s3_storage.storage.url(key)


def test_a_location_prefix_is_kept(settings, s3_server, pinned_clock):
    from django_uploadkit.storage import get_backend

    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE": "s3",
                          "STORAGE_OPTIONS": s3_options(s3_server, location="tenant-a")}
    backend = get_backend()
    assert "/tenant-a/uploads/abc/photo.jpg?" in backend.url("uploads/abc/photo.jpg")
    assert backend.url("uploads/abc/photo.jpg") == backend.storage.url("uploads/abc/photo.jpg")


@pytest.mark.parametrize("key", KEYS)
def test_the_server_accepts_the_signed_put_and_get(s3_storage, key):
    body = b"\x89PNG\r\n\x1a\n" + b"x" * 100
    put = s3_storage.presigned_put_url(key, content_type="image/png", size=len(body), expires_in=60)
    assert requests.put(put, data=body, headers={"Content-Type": "image/png"}).status_code == 200
    got = requests.get(s3_storage.url(key))
    assert got.status_code == 200 and got.content == body


def test_the_signed_type_and_length_are_enforced_by_the_server(s3_storage):
    put = s3_storage.presigned_put_url("uploads/t/x.png", content_type="image/png", size=4, expires_in=60)
    assert requests.put(put, data=b"abcd", headers={"Content-Type": "image/gif"}).status_code == 403
    assert requests.put(put, data=b"abcde", headers={"Content-Type": "image/png"}).status_code == 403


class _DriftingSigner(UrlSigner):
    """A signer whose own URLs differ from the client's: it must not use them."""

    def _own_url(self, head, *args, **kwargs):
        drifted = dataclasses.replace(head, extra=[*head.extra, ("x-drift", "1")])
        return super()._own_url(drifted, *args, **kwargs)


def test_when_its_url_differs_from_the_clients_the_client_signs_every_url(s3_storage, pinned_clock):
    signer = _DriftingSigner(s3_storage.client, s3_storage.session, s3_storage.bucket_name)
    url = signer.sign("GET", "uploads/abc/photo.jpg", {}, 60)
    assert "x-drift" not in url
    assert url == s3_storage.client.generate_presigned_url(
        "get_object", Params={"Bucket": s3_storage.bucket_name, "Key": "uploads/abc/photo.jpg"},
        ExpiresIn=60, HttpMethod="GET",
    )


@pytest.mark.parametrize("options", [
    {"security_token": "FwoGZXIvYXdzE+token/with=odd&chars"},  # temporary credentials
    {"addressing_style": "virtual", "endpoint_url": "https://s3.example.com:443"},
    {"addressing_style": "virtual", "endpoint_url": "http://[::1]:9000"},
    {"region_name": "eu-west-3", "endpoint_url": None, "addressing_style": "virtual"},
])
def test_other_configurations_get_the_clients_own_urls_too(settings, s3_server, pinned_clock, options):
    from django_uploadkit.storage import get_backend

    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE": "s3",
                          "STORAGE_OPTIONS": {**s3_options(s3_server), **options}}
    backend = get_backend()
    for key in KEYS:
        ours = backend.presigned_put_url(key, content_type="image/png", size=9, expires_in=900)
        theirs = backend.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": backend.bucket_name, "Key": key, "ContentType": "image/png",
                    "ContentLength": 9},
            ExpiresIn=900, HttpMethod="PUT",
        )
        assert ours == theirs
        assert backend.url(key) == backend.storage.url(key)
    assert_signed_here(backend)


def assert_signed_here(backend):
    """The URLs above came from the signer itself, not from its fallback to the client."""
    heads = backend.signer._heads
    assert len(heads) == 2 and None not in heads.values(), heads

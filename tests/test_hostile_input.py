"""Hostile input: names, types, content, metadata and bodies that try to break or confuse us."""

import json
import unicodedata

import pytest
from rest_framework.test import APIClient

from django_uploadkit.models import File
from django_uploadkit.projects import ensure_route

from .conftest import assert_error
from .helpers import JPEG, put_object, request_upload


def complete(api, file_id):
    return api.post("/api/v1/upload/complete", {"fileId": file_id}, format="json")


@pytest.mark.parametrize("name", [
    "../../../etc/passwd",
    "..\\..\\windows\\system32\\evil.dll",
    "a\x00b.jpg",
    "\u202egnp.exe",  # right-to-left override
    "CON", "nul.txt", "aux",
    "x" * 255,
    "   ",
    "/",
    "....",
    "\u0000\u0001\u0002photo.jpg",
    "ｆｕｌｌｗｉｄｔｈ．ｊｐｇ",
])
def test_no_file_name_escapes_or_confuses_the_key(api, name):
    response = request_upload(api, fileName=name)
    if response.status_code == 400:  # nothing printable left
        assert_error(response, 400, "INVALID_REQUEST")
        return
    key = response.json()["key"]
    prefix, random_id, safe = key.split("/")
    assert prefix == "uploads" and random_id.isalnum()
    assert safe and safe.isascii() and safe not in (".", "..") and not safe.startswith(".")
    assert not any(c in safe for c in "\\\x00/\u202e") and len(safe) <= 120
    assert safe.split(".")[0].upper() not in {"CON", "NUL", "AUX", "PRN", "COM1", "LPT1"}


def test_the_display_name_is_normalised_without_control_characters(api):
    file_id = request_upload(api, fileName="cafe\u0301\u202e\x07.jpg").json()["fileId"]
    name = File.objects.get(pk=file_id).name
    assert name == unicodedata.normalize("NFC", "café.jpg")


def test_a_download_names_the_safe_file(api):
    ticket = request_upload(api, fileName='evil"; filename="x.html').json()
    put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg")
    response = APIClient().get(ticket["cdnUrl"].replace("http://testserver", ""))
    response.close()
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline; filename=") and '"x.html' not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"


def test_image_wildcard_does_not_admit_svg(api):
    assert_error(request_upload(api, contentType="image/svg+xml"), 403, "FILE_TYPE_NOT_ALLOWED")


def test_a_route_that_names_svg_admits_it(api, project):
    ensure_route(project, "vectors", allowed_types=["image/*", "image/svg+xml"], max_size=1000)
    assert request_upload(api, routeSlug="vectors", contentType="image/svg+xml",
                          fileSize=100).status_code == 200


def test_a_route_without_patterns_admits_any_type_but_html_and_svg(api, project):
    ensure_route(project, "anything", allowed_types=[], max_size=1000)
    assert request_upload(api, routeSlug="anything", contentType="video/mp4",
                          fileSize=10).status_code == 200
    for scriptable in ["text/html", "image/svg+xml"]:
        response = request_upload(api, routeSlug="anything", contentType=scriptable, fileSize=10)
        assert_error(response, 403, "FILE_TYPE_NOT_ALLOWED")


def test_content_that_contradicts_its_declared_type_is_refused_and_removed(
    api, local_storage_root, django_capture_on_commit_callbacks
):
    html = b"<html><script>alert(document.cookie)</script></html>" + b" " * 12
    ticket = request_upload(api, fileSize=len(html)).json()
    assert put_object(APIClient(), ticket["uploadUrl"], html, "image/jpeg").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_MISMATCH")
    assert File.objects.get(pk=ticket["fileId"]).status == "FAILED"
    assert not (local_storage_root / ticket["key"]).exists()


def test_metadata_must_be_bounded_in_depth_and_size(api):
    deep = {}
    node = deep
    for _ in range(6):
        node["a"] = {}
        node = node["a"]
    assert_error(request_upload(api, metadata=deep), 400, "INVALID_REQUEST")
    assert_error(request_upload(api, metadata={"blob": "x" * 9000}), 400, "INVALID_REQUEST")
    assert request_upload(api, metadata={"a": {"b": {"c": [1, 2]}}, "s": "x" * 1000}).status_code == 200
    assert File.objects.count() == 1


def test_a_huge_body_is_413_in_the_error_shape(api):
    body = json.dumps({"fileName": "a.jpg", "fileSize": 1, "contentType": "image/jpeg",
                       "routeSlug": "imageUploader", "pad": "x" * 200_000})
    response = api.generic("POST", "/api/v1/upload/request", body, content_type="application/json")
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_deeply_nested_body_is_400_not_a_crash(api):
    body = "[" * 50_000 + "]" * 50_000
    response = api.generic("POST", "/api/v1/upload/request", body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert set(response.json()) == {"error", "code"}
    nested = '{"metadata":' + '{"a":' * 3000 + "1" + "}" * 3000 + "}"
    response = api.generic("POST", "/api/v1/upload/request", nested, content_type="application/json")
    assert_error(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("body", ["NaN", '{"fileSize": Infinity}', "\xff\xfe", ""])
def test_non_json_bodies_are_invalid_request(api, body):
    response = api.generic("POST", "/api/v1/upload/request", body.encode("latin-1"),
                           content_type="application/json")
    assert_error(response, 400, "INVALID_REQUEST")
    assert File.objects.count() == 0

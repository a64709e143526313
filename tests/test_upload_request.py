"""POST /api/v1/upload/request: validates against the route, records a PENDING file."""

import re

import pytest
from django.test import override_settings

from django_uploadkit.models import File

from .conftest import MB, assert_error
from .helpers import request_upload


def test_request_answers_the_reference_shape_and_records_a_pending_file(api, project):
    response = request_upload(api, fileSize=204800, metadata={"userId": "u_1"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"fileId", "uploadUrl", "cdnUrl", "key"}
    assert re.fullmatch(r"file_[0-9A-HJKMNP-TV-Z]{26}", body["fileId"])
    assert re.fullmatch(r"uploads/[0-9a-z]{20}/profile\.jpg", body["key"])
    assert body["uploadUrl"].startswith("http://testserver/")
    assert body["cdnUrl"].endswith(body["key"])
    file = File.objects.get(pk=body["fileId"])
    assert (file.project, file.status, file.size, file.content_type, file.key) == (
        project, "PENDING", 204800, "image/jpeg", body["key"])
    assert file.metadata == {"userId": "u_1"}


def test_the_key_is_chosen_by_the_server_whatever_the_file_name(api):
    for name in ["../../etc/passwd", "a/b\\c.jpg", ".hidden", "\u202egpj.exe", "con", "x" * 255]:
        key = request_upload(api, fileName=name).json()["key"]
        prefix, random_id, safe = key.split("/")
        assert prefix == "uploads" and len(random_id) == 20
        assert ".." not in key and "\\" not in key and not safe.startswith(".")
        assert len(safe) <= 120 and safe.isascii()


def test_each_request_gets_a_distinct_key(api):
    keys = {request_upload(api).json()["key"] for _ in range(5)}
    assert len(keys) == 5


def test_content_type_is_normalised(api):
    file_id = request_upload(api, contentType="Image/JPEG; charset=binary").json()["fileId"]
    assert File.objects.get(pk=file_id).content_type == "image/jpeg"


def test_an_unknown_route_is_route_not_found(api):
    assert_error(request_upload(api, routeSlug="nope"), 404, "ROUTE_NOT_FOUND")


def test_a_type_outside_the_route_is_file_type_not_allowed(api):
    assert_error(request_upload(api, contentType="application/pdf"), 403, "FILE_TYPE_NOT_ALLOWED")


def test_a_file_over_the_route_limit_is_file_too_large_with_the_reference_message(api):
    response = request_upload(api, fileSize=4 * MB + 1)
    assert_error(response, 403, "FILE_TOO_LARGE")
    assert response.json()["error"] == "File size exceeds the 4 MB limit for route imageUploader"


def test_exactly_the_route_limit_is_accepted(api):
    assert request_upload(api, fileSize=4 * MB).status_code == 200


@pytest.mark.parametrize("overrides", [
    {"fileName": ""},
    {"fileName": "x" * 256},
    {"fileName": 42},
    {"fileSize": 0},
    {"fileSize": -1},
    {"fileSize": "204800"},
    {"fileSize": 1.5},
    {"fileSize": True},
    {"contentType": "jpeg"},
    {"contentType": ""},
    {"routeSlug": ""},
    {"routeSlug": "r" * 101},
    {"metadata": ["not", "an", "object"]},
    {"metadata": "string"},
])
def test_invalid_fields_are_invalid_request_and_record_nothing(api, overrides):
    assert_error(request_upload(api, **overrides), 400, "INVALID_REQUEST")
    assert File.objects.count() == 0


@pytest.mark.parametrize("missing", ["fileName", "fileSize", "contentType", "routeSlug"])
def test_a_missing_field_is_named_in_the_error(api, missing):
    body = {"fileName": "a.jpg", "fileSize": 10, "contentType": "image/jpeg",
            "routeSlug": "imageUploader"}
    del body[missing]
    response = api.post("/api/v1/upload/request", body, format="json")
    assert_error(response, 400, "INVALID_REQUEST")
    assert missing in response.json()["error"]


def test_malformed_json_is_invalid_request(api):
    response = api.generic("POST", "/api/v1/upload/request", "{not json",
                           content_type="application/json")
    assert_error(response, 400, "INVALID_REQUEST")


def test_a_json_array_body_is_invalid_request(api):
    response = api.generic("POST", "/api/v1/upload/request", "[1, 2]",
                           content_type="application/json")
    assert_error(response, 400, "INVALID_REQUEST")


def test_a_route_of_another_project_is_not_found(api, other_project_api):
    # Both projects have "imageUploader"; each key reaches its own only.
    from django_uploadkit.models import FileRoute
    FileRoute.objects.filter(project__slug="other").update(slug="otherOnly")
    assert_error(request_upload(api, routeSlug="otherOnly"), 404, "ROUTE_NOT_FOUND")


def test_each_validation_gets_its_own_fields_and_the_declared_ones_stay_unbound():
    from django_uploadkit.serializers import UploadRequestSerializer

    a = UploadRequestSerializer(data={})
    b = UploadRequestSerializer(data={"fileName": "x"})
    assert not a.is_valid() and not b.is_valid()
    assert set(a.errors) == {"fileName", "fileSize", "contentType", "routeSlug"}
    assert set(b.errors) == {"fileSize", "contentType", "routeSlug"}
    for name, field in a.fields.items():
        assert field is not b.fields[name] and field.parent is a and b.fields[name].parent is b
        assert UploadRequestSerializer._declared_fields[name].field_name is None


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9000/b/uploads/x/a.jpg?X-Amz-Signature=ab%2F&X-Amz-Date=1",
    "https://cdn.example.com/uploads/a(1)~b;c=d/e@f!g*h'i+j,k$l.jpg#frag",
    "/uploadkit/objects/uploads/x/a.jpg?type=image%2Fjpeg",
    "https://cdn.example.com/uploads/été.jpg",
    "https://cdn.example.com/uploads/a b<c>{d}|e^f`g\\h.jpg",
    "ftp://example.com/x",
    "/",
    "/uploadkit/objects/uploads/x/été.jpg",
    "/uploadkit/objects/uploads/x/a b.jpg",
    "/uploadkit/objects/./uploads/x/a.jpg",
    "/uploadkit/objects/uploads/../x/a.jpg",
    "//evil.example/x",
    "relative/x.jpg",
])
@pytest.mark.parametrize("secure, host", [(False, "testserver"), (True, "uploads.example.com:8443")])
def test_absolute_urls_are_what_build_absolute_uri_gives(url, secure, host):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from django_uploadkit.views import absolute_url

    request = Request(APIRequestFactory().get("/api/v1/files/", secure=secure, HTTP_HOST=host))
    with override_settings(ALLOWED_HOSTS=["testserver", "uploads.example.com"]):
        # Twice: the second time the request's scheme and host come from the first.
        for path in (url, "/uploadkit/objects/uploads/y/b.jpg", url):
            assert absolute_url(request, path) == request.build_absolute_uri(path)

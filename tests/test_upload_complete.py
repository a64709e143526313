"""POST /api/v1/upload/complete: trusts only what storage says about the object."""

from pathlib import Path

from rest_framework.test import APIClient

from django_uploadkit.models import File

from .conftest import assert_error
from .helpers import JPEG, put_object, request_upload, upload


def complete(api, file_id):
    return api.post("/api/v1/upload/complete", {"fileId": file_id}, format="json")


def test_complete_marks_the_file_uploaded_in_the_reference_shape(api):
    body = upload(api)
    assert set(body) == {"id", "key", "name", "size", "type", "url", "status", "createdAt"}
    assert body["status"] == "UPLOADED"
    assert (body["name"], body["size"], body["type"]) == ("profile.jpg", len(JPEG), "image/jpeg")
    assert body["url"].startswith("http://testserver/") and body["url"].endswith(body["key"])
    assert body["createdAt"].endswith("Z")
    file = File.objects.get(pk=body["id"])
    assert file.status == "UPLOADED" and file.uploaded_at is not None


def test_the_file_url_serves_the_bytes_back(api):
    body = upload(api)
    response = APIClient().get(body["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg"


def test_completing_twice_returns_the_same_file(api):
    first = upload(api)
    again = complete(api, first["id"])
    assert again.status_code == 200 and again.json() == first


def test_complete_before_the_put_is_upload_incomplete_and_the_file_stays_pending(api):
    file_id = request_upload(api).json()["fileId"]
    assert_error(complete(api, file_id), 409, "UPLOAD_INCOMPLETE")
    assert File.objects.get(pk=file_id).status == "PENDING"


def test_an_object_of_another_size_is_upload_mismatch_failed_and_removed(
    api, local_storage_root, django_capture_on_commit_callbacks
):
    ticket = request_upload(api).json()
    # Something other than the signed URL wrote a different object at the key.
    path = Path(local_storage_root) / ticket["key"]
    path.parent.mkdir(parents=True)
    path.write_bytes(JPEG + b"extra")
    with django_capture_on_commit_callbacks(execute=True):
        assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_MISMATCH")
    assert File.objects.get(pk=ticket["fileId"]).status == "FAILED"
    assert not path.exists()
    assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_MISMATCH")


def test_an_object_larger_than_the_route_allows_is_upload_mismatch(api, route, local_storage_root):
    ticket = request_upload(api).json()
    upload_ok = put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg")
    assert upload_ok.status_code == 200
    route.max_size = len(JPEG) - 1  # the route tightened after the URL was issued
    route.save()
    assert_error(complete(api, ticket["fileId"]), 409, "UPLOAD_MISMATCH")
    assert File.objects.get(pk=ticket["fileId"]).status == "FAILED"


def test_an_unknown_file_id_is_file_not_found(api):
    assert_error(complete(api, "file_01J9KXYZ0000000000000000"), 404, "FILE_NOT_FOUND")


def test_a_missing_file_id_is_invalid_request(api):
    assert_error(api.post("/api/v1/upload/complete", {}, format="json"), 400, "INVALID_REQUEST")


def test_another_projects_file_cannot_be_completed(api, other_project_api):
    ticket = request_upload(api).json()
    put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg")
    assert_error(complete(other_project_api, ticket["fileId"]), 404, "FILE_NOT_FOUND")
    assert File.objects.get(pk=ticket["fileId"]).status == "PENDING"


def test_completing_costs_a_fixed_number_of_queries(api, route, django_assert_num_queries):
    request_upload(api)  # the key's first use also writes last_used_at
    ticket = request_upload(api).json()
    assert put_object(APIClient(), ticket["uploadUrl"], JPEG, "image/jpeg").status_code == 200
    # The key; the file; then in one transaction (BEGIN/COMMIT, savepoints in a test): the file
    # locked, its status set, and whether the project has a webhook to record an event for.
    with django_assert_num_queries(7):
        response = api.post("/api/v1/upload/complete", {"fileId": ticket["fileId"]}, format="json")
    assert response.status_code == 200

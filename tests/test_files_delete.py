"""DELETE /api/v1/files/<key>: the row is marked deleted, the object leaves storage."""

from pathlib import Path
from urllib.parse import quote

from django_uploadkit.models import File

from .conftest import assert_error
from .helpers import upload


def delete(api, key):
    return api.delete(f"/api/v1/files/{quote(key, safe='')}")


def test_delete_with_an_encoded_key_marks_deleted_and_removes_the_object(
    api, local_storage_root, django_capture_on_commit_callbacks
):
    uploaded = upload(api)
    path = Path(local_storage_root) / uploaded["key"]
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = delete(api, uploaded["key"])
    assert len(callbacks) == 1  # the object's removal is queued after the commit
    assert response.status_code == 200
    assert response.json()["status"] == "DELETED" and response.json()["key"] == uploaded["key"]
    file = File.objects.get(pk=uploaded["id"])
    assert file.status == "DELETED" and file.deleted_at is not None
    assert not path.exists()


def test_the_deleted_file_disappears_from_lookups(api):
    uploaded = upload(api)
    delete(api, uploaded["key"])
    assert api.get("/api/v1/files").json()["files"] == []
    assert_error(delete(api, uploaded["key"]), 404, "FILE_NOT_FOUND")
    response = api.post("/api/v1/upload/complete", {"fileId": uploaded["id"]}, format="json")
    assert_error(response, 404, "FILE_NOT_FOUND")


def test_an_unencoded_key_works_too(api):
    uploaded = upload(api)
    assert api.delete(f"/api/v1/files/{uploaded['key']}").status_code == 200


def test_an_unknown_key_is_file_not_found(api):
    assert_error(delete(api, "uploads/nope/x.jpg"), 404, "FILE_NOT_FOUND")


def test_another_project_cannot_delete(api, other_project_api, local_storage_root):
    uploaded = upload(api)
    assert_error(delete(other_project_api, uploaded["key"]), 404, "FILE_NOT_FOUND")
    assert File.objects.get(pk=uploaded["id"]).status == "UPLOADED"
    assert (Path(local_storage_root) / uploaded["key"]).exists()


def test_deleting_costs_a_fixed_number_of_queries(api, route, django_assert_num_queries):
    key = upload(api)["key"]
    # The key; then in one transaction: the file locked, marked DELETED, the webhook check, and
    # the outbox row that will remove the object.
    with django_assert_num_queries(7):
        response = api.delete(f"/api/v1/files/{key}")
    assert response.status_code == 200

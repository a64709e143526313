"""upload/request recalls a key this process authenticated lately and lets its INSERT check it:
whatever another process did to the key since (revoked, expired, deleted) is in force on the
very next request, and nothing is written for a key that is no longer usable."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from django_uploadkit import keys
from django_uploadkit.models import ApiKey, File

from .conftest import assert_error
from .helpers import request_upload


@pytest.fixture
def recalled(api, issued_key, django_assert_num_queries):
    """The key has authenticated once here: the next upload/request recalls it (one query)."""
    assert request_upload(api).status_code == 200
    with django_assert_num_queries(1):  # the INSERT, which checks the key
        assert request_upload(api).status_code == 200
    return issued_key.api_key


def files():
    return File.objects.count()


def test_a_key_revoked_elsewhere_is_refused_at_once_and_nothing_is_written(api, recalled):
    before = files()
    ApiKey.objects.filter(pk=recalled.pk).update(revoked_at=timezone.now())  # another process
    assert_error(request_upload(api), 401, "INVALID_API_KEY")
    assert "revoked" in request_upload(api).json()["error"]
    assert files() == before


def test_a_key_that_expired_since_is_refused_at_once(api, recalled):
    before = files()
    ApiKey.objects.filter(pk=recalled.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(request_upload(api), 401, "INVALID_API_KEY")
    assert files() == before


def test_a_key_deleted_elsewhere_is_refused_at_once(api, recalled):
    ApiKey.objects.filter(pk=recalled.pk).delete()
    before = files()
    assert_error(request_upload(api), 401, "INVALID_API_KEY")
    assert files() == before


def test_a_key_revoked_elsewhere_gets_401_not_the_error_its_request_would_get(api, recalled):
    ApiKey.objects.filter(pk=recalled.pk).update(revoked_at=timezone.now())
    assert_error(request_upload(api, contentType="application/pdf"), 401, "INVALID_API_KEY")
    assert_error(request_upload(api, fileName=""), 401, "INVALID_API_KEY")


def test_a_key_revoked_elsewhere_gets_401_not_429(api, recalled, settings):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "RATE_LIMIT_PER_KEY": "1/minute",
                          "RATE_LIMIT_KEY_PREFIX": f"uploadkit:test:{uuid.uuid4().hex}:"}
    ApiKey.objects.filter(pk=recalled.pk).update(revoked_at=timezone.now())
    for _ in range(3):
        assert_error(request_upload(api), 401, "INVALID_API_KEY")


def test_errors_of_a_usable_recalled_key_are_the_usual_ones(api, recalled):
    assert_error(request_upload(api, contentType="application/pdf"), 403, "FILE_TYPE_NOT_ALLOWED")
    assert_error(request_upload(api, routeSlug="nope"), 404, "ROUTE_NOT_FOUND")
    assert request_upload(api).status_code == 200


def test_last_use_is_still_recorded_once_per_interval(api, issued_key, settings):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "KEY_LAST_USED_INTERVAL": 0}
    stamps = []
    for _ in range(3):
        assert request_upload(api).status_code == 200
        stamps.append(ApiKey.objects.get(pk=issued_key.api_key.pk).last_used_at)
    assert stamps[0] < stamps[1] < stamps[2]  # nothing recalled: each request looked the key up


def test_each_request_gets_its_own_copy_of_the_recalled_key(api, issued_key):
    assert request_upload(api).status_code == 200
    a, b = keys.recall_key(issued_key.plaintext), keys.recall_key(issued_key.plaintext)
    assert a.pk == b.pk == issued_key.api_key.pk and a is not b and a.project is not b.project
    a.project.name = "changed"
    assert keys.recall_key(issued_key.plaintext).project.name != "changed"


def test_revoking_here_forgets_the_key(api, issued_key):
    assert request_upload(api).status_code == 200
    assert keys.recall_key(issued_key.plaintext) is not None
    keys.revoke_api_key(ApiKey.objects.get(pk=issued_key.api_key.pk))
    assert keys.recall_key(issued_key.plaintext) is None


def test_the_memory_is_bounded(api, issued_key, monkeypatch):
    monkeypatch.setattr(keys, "MAX_REMEMBERED", 1)
    assert request_upload(api).status_code == 200
    other = keys.create_api_key(issued_key.api_key.project, name="other")
    keys.remember_key(keys.authenticate_key(other.plaintext))
    assert len(keys._remembered) == 1


def test_a_malformed_body_on_a_recalled_key_gets_the_parse_error(api, recalled):
    response = api.post("/api/v1/upload/request", "{not json", content_type="application/json")
    assert_error(response, 400, "INVALID_REQUEST")
    assert "JSON" in response.json()["error"]


def test_a_refused_request_on_a_recalled_key_spends_one_route_token(api, recalled, settings):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "RATE_LIMIT_ROUTES": {"imageUploader": "3/minute"},
                          "RATE_LIMIT_KEY_PREFIX": f"uploadkit:test:{uuid.uuid4().hex}:"}
    for _ in range(3):
        assert_error(request_upload(api, fileSize=5 * 1024 * 1024), 403, "FILE_TOO_LARGE")
    assert_error(request_upload(api), 429, "RATE_LIMITED")


def test_a_route_changed_elsewhere_is_applied_to_a_recalled_key(api, recalled, route):
    from django_uploadkit.models import FileRoute
    from django_uploadkit.routes import routes_changed

    FileRoute.objects.filter(pk=route.pk).update(max_size=10)  # another process's save
    routes_changed(route.project_id)
    before = files()
    assert_error(request_upload(api), 403, "FILE_TOO_LARGE")
    assert files() == before


def test_a_name_longer_than_its_column_once_normalised_is_refused(api, recalled):
    before = files()
    # Each of these becomes two characters under NFC: 255 sent, 510 to store.
    assert_error(request_upload(api, fileName="\u0958" * 255), 400, "INVALID_REQUEST")
    keys._remembered.clear()
    assert_error(request_upload(api, fileName="\u0958" * 255), 400, "INVALID_REQUEST")
    assert files() == before

"""Rate limits: per key, per project, per route, and failed authentication per address."""

import uuid

import pytest
from rest_framework.test import APIClient

from django_uploadkit.keys import create_api_key

from .conftest import assert_error
from .helpers import request_upload

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True, params=["memory", "redis"])
def limiter_backend(request, settings):
    """Every behaviour holds with the in-process limiter and with the shared Redis one."""
    options = {"RATE_LIMIT_KEY_PREFIX": f"uploadkit:test:{uuid.uuid4().hex}:"}
    if request.param == "redis":
        options["RATE_LIMIT_REDIS_URL"] = REDIS_URL
    settings.UPLOADKIT = {**settings.UPLOADKIT, **options}
    return request.param


def limits(settings, **values):
    settings.UPLOADKIT = {**settings.UPLOADKIT, **values}


def test_every_response_carries_the_rate_limit_headers(api, settings):
    limits(settings, RATE_LIMIT_PER_KEY="5/minute", RATE_LIMIT_PER_PROJECT=None)
    response = api.get("/api/v1/files")
    assert response["X-RateLimit-Limit"] == "5"
    assert response["X-RateLimit-Remaining"] == "4"
    assert 1 <= int(response["X-RateLimit-Reset"]) <= 60


def test_over_the_key_limit_is_429_with_retry_after(api, settings):
    limits(settings, RATE_LIMIT_PER_KEY="3/minute", RATE_LIMIT_PER_PROJECT=None)
    remaining = [api.get("/api/v1/files")["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    response = api.get("/api/v1/files")
    assert_error(response, 429, "RATE_LIMITED")
    assert 1 <= int(response["Retry-After"]) <= 20
    assert response["X-RateLimit-Remaining"] == "0"


def test_the_project_limit_covers_all_its_keys(api, project, settings):
    limits(settings, RATE_LIMIT_PER_KEY="100/minute", RATE_LIMIT_PER_PROJECT="4/minute")
    second = APIClient()
    second.credentials(HTTP_X_API_KEY=create_api_key(project).plaintext)
    statuses = [c.get("/api/v1/files").status_code for c in [api, second, api, second, second]]
    assert statuses == [200, 200, 200, 200, 429]


def test_another_projects_traffic_does_not_count(api, other_project_api, settings):
    limits(settings, RATE_LIMIT_PER_KEY="2/minute")
    for _ in range(2):
        assert other_project_api.get("/api/v1/files").status_code == 200
    assert other_project_api.get("/api/v1/files").status_code == 429
    assert api.get("/api/v1/files").status_code == 200


def test_a_route_limit_applies_to_upload_requests_on_that_route(api, settings):
    limits(settings, RATE_LIMIT_ROUTES={"imageUploader": "2/minute"})
    assert [request_upload(api).status_code for _ in range(2)] == [200, 200]
    assert_error(request_upload(api), 429, "RATE_LIMITED")
    assert api.get("/api/v1/files").status_code == 200  # other endpoints unaffected


def test_failed_authentication_is_limited_per_client_address(api_key, settings):
    limits(settings, RATE_LIMIT_AUTH_FAILURES="3/minute")
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    guesser.credentials(HTTP_X_API_KEY="uk_live_" + "g" * 40)
    for _ in range(3):
        assert_error(guesser.get("/api/v1/files"), 401, "INVALID_API_KEY")
    assert_error(guesser.get("/api/v1/files"), 429, "RATE_LIMITED")
    # Even the right key is refused from that address until the bucket refills...
    guesser.credentials(HTTP_X_API_KEY=api_key)
    assert_error(guesser.get("/api/v1/files"), 429, "RATE_LIMITED")
    # ...while other addresses are unaffected.
    other = APIClient(REMOTE_ADDR="198.51.100.9")
    other.credentials(HTTP_X_API_KEY=api_key)
    assert other.get("/api/v1/files").status_code == 200


def test_successful_requests_do_not_use_up_the_failure_budget(api, settings):
    limits(settings, RATE_LIMIT_AUTH_FAILURES="2/minute")
    assert all(api.get("/api/v1/files").status_code == 200 for _ in range(5))


def test_an_unreachable_redis_does_not_fail_requests(api, settings):
    limits(settings, RATE_LIMIT_REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMIT_PER_KEY="2/minute")
    assert [api.get("/api/v1/files").status_code for _ in range(3)] == [200, 200, 429]

"""The x-api-key header: missing, wrong, revoked and expired keys get 401 in the error shape."""

from datetime import timedelta

from django.utils import timezone

from django_uploadkit.keys import create_api_key, revoke_api_key

from .conftest import assert_error

ENDPOINTS = [
    ("post", "/api/v1/upload/request"),
    ("post", "/api/v1/upload/complete"),
    ("get", "/api/v1/files"),
    ("delete", "/api/v1/files/uploads%2Fabc%2Fa.jpg"),
]


def test_every_endpoint_without_a_key_answers_missing_api_key(anonymous, db):
    for method, url in ENDPOINTS:
        response = getattr(anonymous, method)(url, {}, format="json")
        assert_error(response, 401, "MISSING_API_KEY")


def test_every_endpoint_with_an_unknown_key_answers_invalid_api_key(anonymous, db):
    anonymous.credentials(HTTP_X_API_KEY="uk_live_" + "x" * 40)
    for method, url in ENDPOINTS:
        response = getattr(anonymous, method)(url, {}, format="json")
        assert_error(response, 401, "INVALID_API_KEY")


def test_a_revoked_key_gets_401(anonymous, project):
    issued = create_api_key(project)
    anonymous.credentials(HTTP_X_API_KEY=issued.plaintext)
    assert anonymous.get("/api/v1/files").status_code == 200
    revoke_api_key(issued.api_key)
    assert_error(anonymous.get("/api/v1/files"), 401, "INVALID_API_KEY")


def test_an_expired_key_gets_401(anonymous, project):
    issued = create_api_key(project, expires_at=timezone.now() - timedelta(minutes=1))
    anonymous.credentials(HTTP_X_API_KEY=issued.plaintext)
    assert_error(anonymous.get("/api/v1/files"), 401, "INVALID_API_KEY")


def test_the_error_body_never_echoes_the_presented_key(anonymous, db):
    key = "uk_live_" + "y" * 40
    anonymous.credentials(HTTP_X_API_KEY=key)
    response = anonymous.get("/api/v1/files")
    assert key not in response.content.decode()

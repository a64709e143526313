"""One error shape everywhere under /api/v1/, whatever raised it, never a traceback."""

import pytest
from rest_framework.test import APIClient

from .conftest import assert_error


def test_an_unknown_api_url_is_404_json(api):
    response = api.get("/api/v1/nothing-here")
    assert_error(response, 404, "NOT_FOUND")
    assert response["Content-Type"].startswith("application/json")


def test_a_wrong_method_is_405_in_the_error_shape(api):
    assert_error(api.get("/api/v1/upload/request"), 405, "METHOD_NOT_ALLOWED")
    assert_error(api.put("/api/v1/files", {}, format="json"), 405, "METHOD_NOT_ALLOWED")


def test_a_form_encoded_body_is_415_in_the_error_shape(api):
    response = api.post("/api/v1/upload/request", {"fileName": "a"})  # multipart
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.urls("tests.urls_with_faults")
@pytest.mark.parametrize("url", ["/api/v1/test/boom", "/api/v1/test/plain-boom"])
def test_an_unexpected_exception_is_500_without_internals(db, url, caplog):
    client = APIClient(raise_request_exception=False)
    response = client.get(url)
    assert_error(response, 500, "INTERNAL_ERROR")
    text = response.content.decode()
    assert "Traceback" not in text and "hunter2" not in text and "internal detail" not in text
    assert any("Unhandled error" in r.getMessage() for r in caplog.records)  # logged for operators


def test_pages_outside_the_api_keep_djangos_own_errors(db):
    response = APIClient().get("/not-api/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.urls("tests.urls_with_faults")
@pytest.mark.django_db(transaction=True)
def test_a_database_connection_lost_mid_request_is_503_and_the_next_request_works(
    live_server, api_key
):
    import requests

    headers = {"x-api-key": api_key}
    assert requests.get(f"{live_server.url}/api/v1/files", headers=headers).status_code == 200
    response = requests.get(f"{live_server.url}/api/v1/test/db-drop", headers=headers)
    assert response.status_code == 503
    assert response.json()["code"] == "DATABASE_UNAVAILABLE"
    assert set(response.json()) == {"error", "code"} and "Traceback" not in response.text
    assert response.headers["Retry-After"] == "1"
    after = requests.get(f"{live_server.url}/api/v1/files", headers=headers)
    assert after.status_code == 200 and after.json()["files"] == []

"""Shared fixtures: a project with a route and a live key, and API clients that use it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from django_uploadkit.keys import IssuedKey, create_api_key
from django_uploadkit.models import FileRoute, Project
from django_uploadkit.projects import ensure_project, ensure_route

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def local_storage_root(settings, tmp_path: Path) -> Path:
    """Every test gets its own local-disk storage root (the embedded default)."""
    root = tmp_path / "storage"
    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(root)}}
    return root


@pytest.fixture
def project(db) -> Project:
    return ensure_project("acme", name="Acme")[0]


@pytest.fixture
def route(project: Project) -> FileRoute:
    return ensure_route(project, "imageUploader", allowed_types=["image/*"], max_size=4 * MB)[0]


@pytest.fixture
def issued_key(project: Project, route: FileRoute) -> IssuedKey:
    return create_api_key(project, name="tests")


@pytest.fixture
def api_key(issued_key: IssuedKey) -> str:
    return issued_key.plaintext


@pytest.fixture
def api(api_key: str) -> APIClient:
    """A client whose every request carries the project's key, as the reference text's do."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def other_project_api(db) -> APIClient:
    other = ensure_project("other", name="Other")[0]
    ensure_route(other, "imageUploader", allowed_types=["image/*"], max_size=4 * MB)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=create_api_key(other).plaintext)
    return client


def assert_error(response, status: int, code: str) -> None:
    """The one error shape: exactly ``error`` (a sentence) and ``code``, with this status."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error", "code"}, body
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"], body
    assert "Traceback" not in body["error"]

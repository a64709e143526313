"""A key sees only its own project: every endpoint, tried with another project's key."""

from urllib.parse import quote

import pytest
from django.urls import get_resolver

from django_uploadkit.models import File

from .helpers import upload

# Every /api/v1/ route and how to aim it at project A's file. The schema and docs pages
# describe the API, not a project, so they hold no project data.
ATTEMPTS = {
    "upload-request": lambda f: ("post", "/api/v1/upload/request", {
        "fileName": "x.jpg", "fileSize": 10, "contentType": "image/jpeg", "routeSlug": "aOnly"}),
    "upload-complete": lambda f: ("post", "/api/v1/upload/complete", {"fileId": f["id"]}),
    "file-list": lambda f: ("get", "/api/v1/files", None),
    "file-detail": lambda f: ("delete", f"/api/v1/files/{quote(f['key'], safe='')}", None),
}
PROJECT_FREE = {"schema", "docs", "redoc"}


def api_route_names():
    names = set()
    for pattern in get_resolver("django_uploadkit.urls").url_patterns:
        if str(pattern.pattern).startswith("api/v1/"):
            names.add(pattern.name)
    return names


def test_the_table_covers_every_api_route():
    assert api_route_names() == set(ATTEMPTS) | (api_route_names() & PROJECT_FREE)
    assert set(ATTEMPTS) <= api_route_names()


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_another_projects_key_gets_nothing_of_project_a(name, api, project, other_project_api):
    from django_uploadkit.projects import ensure_route

    ensure_route(project, "aOnly", allowed_types=["image/*"], max_size=100)
    mine = upload(api)
    method, url, body = ATTEMPTS[name](mine)
    response = getattr(other_project_api, method)(url, body, format="json")
    text = response.content.decode()
    if name == "file-list":
        assert response.status_code == 200 and response.json()["files"] == []
    else:
        assert response.status_code in (401, 404), text
    # Indistinguishable from aiming at a file that never existed: existence is not revealed.
    ghost = {"id": "file_01J9KXYZ0000000000000000", "key": "uploads/ghost000000000000000/p.jpg"}
    method, url, body = ATTEMPTS[name](ghost)
    answer = getattr(other_project_api, method)(url, body, format="json")
    assert answer.status_code == response.status_code
    assert answer.content.decode().replace(ghost["id"], mine["id"]).replace(
        ghost["key"], mine["key"]) == text
    assert File.objects.get(pk=mine["id"]).status == "UPLOADED"
    assert File.objects.filter(project=project).count() == 1

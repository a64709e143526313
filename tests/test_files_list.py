"""GET /api/v1/files: newest first, opaque cursor pages, only the key's project."""

from datetime import timedelta

from django.utils import timezone

from django_uploadkit.models import File

from .conftest import assert_error
from .helpers import upload


def make_files(project, route, count, ties_every=3):
    """``count`` files whose creation times repeat in groups, to exercise ties."""
    base = timezone.now()
    files = [
        File(project=project, route=route, key=f"uploads/k{i:05d}/f.jpg", name=f"f{i}.jpg",
             size=10, content_type="image/jpeg", status="UPLOADED",
             created_at=base - timedelta(seconds=i // ties_every))
        for i in range(count)
    ]
    File.objects.bulk_create(files)
    return files


def walk(api, limit):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = api.get("/api/v1/files", params)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert set(body) == {"files", "nextCursor"}
        seen += body["files"]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            return seen, pages


def test_the_listing_has_the_reference_shape_and_the_complete_file_shape(api):
    uploaded = upload(api)
    body = api.get("/api/v1/files").json()
    assert body == {"files": [uploaded], "nextCursor": None}


def test_pages_over_hundreds_of_files_with_ties_return_each_once_newest_first(api, project, route):
    make_files(project, route, 350)
    seen, pages = walk(api, limit=40)
    ids = [f["id"] for f in seen]
    assert len(ids) == 350 and len(set(ids)) == 350
    assert pages == 9
    rows = {f.id: f for f in File.objects.all()}
    order = [(rows[i].created_at, i) for i in ids]
    assert order == sorted(order, reverse=True)


def test_default_page_is_50(api, project, route):
    make_files(project, route, 60)
    body = api.get("/api/v1/files").json()
    assert len(body["files"]) == 50 and body["nextCursor"]


def test_the_last_full_page_has_no_next_cursor(api, project, route):
    make_files(project, route, 20)
    assert api.get("/api/v1/files", {"limit": 20}).json()["nextCursor"] is None


def test_deleted_files_are_not_listed(api, project, route):
    make_files(project, route, 3)
    File.objects.filter(key="uploads/k00000/f.jpg").update(status="DELETED")
    keys = [f["key"] for f in api.get("/api/v1/files").json()["files"]]
    assert "uploads/k00000/f.jpg" not in keys and len(keys) == 2


def test_another_projects_files_are_invisible(api, other_project_api):
    upload(api)
    assert other_project_api.get("/api/v1/files").json() == {"files": [], "nextCursor": None}


def test_a_garbage_cursor_is_invalid_request(api):
    for cursor in ["garbage", "eyJ4IjoxfQ", "W10", "!!!"]:
        assert_error(api.get("/api/v1/files", {"cursor": cursor}), 400, "INVALID_REQUEST")


def test_limit_outside_1_to_100_is_invalid_request(api):
    for limit in [0, 101, -5, "ten"]:
        assert_error(api.get("/api/v1/files", {"limit": limit}), 400, "INVALID_REQUEST")
    assert api.get("/api/v1/files", {"limit": 100}).status_code == 200


def test_a_listing_costs_a_fixed_number_of_queries(api, project, route, django_assert_num_queries):
    make_files(project, route, 120)
    api.get("/api/v1/files")  # warm last_used_at
    with django_assert_num_queries(2):  # key lookup + one page query, no COUNT(*)
        api.get("/api/v1/files", {"limit": 100})

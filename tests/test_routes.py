"""Routes are read once per process and cached by the project's routes_version: any change made
through the model reaches the very next request, and a cached route costs no query."""

import pytest

from django_uploadkit import keys, routes
from django_uploadkit.models import FileRoute, Project
from django_uploadkit.projects import ensure_route

from .conftest import assert_error
from .helpers import JPEG, request_upload

FIVE_MB = 5 * 1024 * 1024


def test_upload_request_reads_the_route_once_then_costs_one_query(
    api, project, route, django_assert_num_queries
):
    assert request_upload(api).status_code == 200  # first use: also writes last_used_at
    routes._cache.clear()
    keys._remembered.clear()
    with django_assert_num_queries(3):  # key, route, INSERT
        assert request_upload(api).status_code == 200
    routes._cache.clear()
    with django_assert_num_queries(2):  # route, INSERT: the key is recalled, the INSERT checks it
        assert request_upload(api).status_code == 200
    with django_assert_num_queries(1):  # INSERT: the route comes from the cache
        assert request_upload(api).status_code == 200


def test_a_route_saved_with_a_larger_limit_applies_to_the_next_request(api, route):
    assert_error(request_upload(api, fileSize=FIVE_MB), 403, "FILE_TOO_LARGE")
    route.max_size = 8 * 1024 * 1024
    route.save()
    assert request_upload(api, fileSize=FIVE_MB).status_code == 200


def test_a_route_changed_by_ensure_route_applies_to_the_next_request(api, project, route):
    assert request_upload(api).status_code == 200
    ensure_route(project, "imageUploader", allowed_types=["application/pdf"], max_size=1024)
    assert_error(request_upload(api), 403, "FILE_TYPE_NOT_ALLOWED")


def test_a_deleted_route_is_not_found_on_the_next_request(api, route):
    assert request_upload(api).status_code == 200
    route.files.all().delete()
    route.delete()
    assert_error(request_upload(api), 404, "ROUTE_NOT_FOUND")


def test_a_route_created_after_a_miss_is_found(api, project, route):
    assert_error(request_upload(api, routeSlug="documents"), 404, "ROUTE_NOT_FOUND")
    FileRoute.objects.create(project=project, slug="documents", allowed_types=[], max_size=len(JPEG))
    assert request_upload(api, routeSlug="documents").status_code == 200


def test_a_change_without_signals_is_seen_once_routes_changed_is_called(api, project, route):
    """What another process's save does to this one: a new version in the database."""
    assert request_upload(api).status_code == 200
    FileRoute.objects.filter(pk=route.pk).update(max_size=1)  # no signal: the cache still holds
    assert request_upload(api).status_code == 200
    routes.routes_changed(project.pk)
    assert_error(request_upload(api), 403, "FILE_TOO_LARGE")


def test_a_project_saved_from_an_older_copy_keeps_the_newer_routes_version(project, route):
    stale = Project.objects.get(pk=project.pk)
    route.max_size = 1
    route.save()
    current = Project.objects.get(pk=project.pk).routes_version
    assert current != stale.routes_version
    stale.name = "Renamed"
    stale.save()
    saved = Project.objects.get(pk=project.pk)
    assert (saved.name, saved.routes_version) == ("Renamed", current)


def test_each_call_gets_its_own_route_instance(project, route):
    first = routes.get_route(project, "imageUploader")
    first.max_size = 1
    second = routes.get_route(project, "imageUploader")
    assert second is not first
    assert second.max_size == route.max_size
    assert second.project is project


@pytest.mark.django_db
def test_a_project_that_reuses_a_deleted_ones_id_does_not_see_its_cached_routes():
    old = Project.objects.create(slug="old", name="old")
    FileRoute.objects.create(project=old, slug="r", allowed_types=[], max_size=10)
    assert routes.get_route(old, "r").max_size == 10
    pk = old.pk
    old.delete()
    new = Project.objects.create(pk=pk, slug="new", name="new")
    assert routes.get_route(new, "r") is None
    FileRoute.objects.create(project=new, slug="r", allowed_types=[], max_size=20)
    new.refresh_from_db()
    assert routes.get_route(new, "r").max_size == 20


def test_a_route_moved_to_another_project_is_gone_from_the_first_on_the_next_request(
    api, project, route
):
    assert request_upload(api).status_code == 200
    other = Project.objects.create(slug="other", name="Other")
    route.project = other
    route.save()
    assert_error(request_upload(api), 404, "ROUTE_NOT_FOUND")
    assert routes.get_route(Project.objects.get(pk=other.pk), "imageUploader").pk == route.pk


def test_a_copied_project_is_saved_as_a_new_row(project):
    copy = Project.objects.get(pk=project.pk)
    copy.pk, copy.slug = None, "copy"
    copy.save()
    assert Project.objects.filter(slug__in=["copy", project.slug]).count() == 2


def test_each_call_gets_its_own_list_of_patterns(project, route):
    routes.get_route(project, "imageUploader").allowed_types.append("text/html")
    assert routes.get_route(project, "imageUploader").allowed_types == route.allowed_types

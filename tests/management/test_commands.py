"""Management commands: the shell way to set up projects, routes and keys."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_uploadkit.keys import authenticate_key
from django_uploadkit.models import ApiKey, FileRoute, Project


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_uploadkit_demo_prints_a_working_live_key_alone_on_the_last_line(db):
    out = run("uploadkit_demo")
    key = out.rstrip("\n").splitlines()[-1]
    assert key.startswith("uk_live_") and " " not in key
    assert authenticate_key(key).project.slug == "demo"
    route = FileRoute.objects.get(project__slug="demo", slug="imageUploader")
    assert (route.allowed_types, route.max_size) == (["image/*"], 4 * 1024 * 1024)


def test_uploadkit_demo_is_idempotent_and_issues_a_new_key_each_time(db):
    first = run("uploadkit_demo", "--project", "shop").splitlines()[-1]
    second = run("uploadkit_demo", "--project", "shop").splitlines()[-1]
    assert first != second
    assert Project.objects.filter(slug="shop").count() == 1
    assert FileRoute.objects.filter(project__slug="shop").count() == 1
    assert ApiKey.objects.filter(project__slug="shop").count() == 2


def test_projects_routes_and_keys_from_the_shell(db):
    run("uploadkit_create_project", "docs", "--name", "Docs")
    run("uploadkit_create_route", "docs", "pdfs", "--types", "application/pdf", "--max-size", "1000")
    key = run("uploadkit_create_key", "docs", "--test", "--name", "ci").splitlines()[-1]
    assert key.startswith("uk_test_")
    assert authenticate_key(key).project.slug == "docs"
    route = FileRoute.objects.get(project__slug="docs", slug="pdfs")
    assert route.allowed_types == ["application/pdf"] and route.max_size == 1000
    prefix = ApiKey.objects.get(project__slug="docs").prefix
    run("uploadkit_revoke_key", prefix)
    assert ApiKey.objects.get(prefix=prefix).revoked_at is not None


@pytest.mark.parametrize("args", [
    ("uploadkit_create_route", "missing", "r", "--max-size", "1"),
    ("uploadkit_create_key", "missing"),
    ("uploadkit_revoke_key", "uk_live_nope"),
])
def test_unknown_names_are_command_errors(db, args):
    with pytest.raises(CommandError):
        run(*args)


def test_a_bad_route_pattern_is_refused_and_nothing_is_saved(db):
    run("uploadkit_create_project", "p")
    with pytest.raises(CommandError, match="MIME pattern"):
        run("uploadkit_create_route", "p", "r", "--types", "image", "--max-size", "10")
    assert not FileRoute.objects.exists()

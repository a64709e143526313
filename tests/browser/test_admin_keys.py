"""Log into the admin, create a project with a route and a key: the key is shown once and
works against the API; revoked in the admin, it gets 401."""

from __future__ import annotations

import requests

from django_uploadkit.models import ApiKey, FileRoute, Project

from .conftest import login, screenshot


def test_create_project_route_and_key_then_revoke(page, live_server, admin_user):
    login(page)
    page.goto("/admin/django_uploadkit/project/add/")
    page.fill("#id_name", "Browser Co")
    page.locator("#id_name").dispatch_event("change")
    assert page.input_value("#id_slug") == "browser-co"  # prepopulated from the name
    page.click("text=Add another File route")
    page.fill("input[name='routes-0-slug']", "avatars")
    page.fill("input[name='routes-0-allowed_types']", "image/*")
    page.fill("input[name='routes-0-max_size']", "1048576")
    page.click("text=Add another API key")
    page.fill("input[name='api_keys-0-name']", "from the browser")
    page.click("input[name='_continue']")

    shown = page.locator("code.uploadkit-new-key")
    plaintext = shown.inner_text()
    assert plaintext.startswith("uk_live_") and len(plaintext) == len("uk_live_") + 40
    screenshot(page, "admin-key-created")
    project = Project.objects.get(slug="browser-co")
    assert FileRoute.objects.get(project=project).allowed_types == ["image/*"]
    key = ApiKey.objects.get(project=project)
    assert plaintext not in key.hashed_key

    # The key works against the API...
    api = requests.Session()
    api.headers["x-api-key"] = plaintext
    response = api.post(
        f"{live_server.url}/api/v1/upload/request",
        json={"fileName": "a.png", "fileSize": 10, "contentType": "image/png", "routeSlug": "avatars"},
    )
    assert response.status_code == 200, response.text
    assert api.get(f"{live_server.url}/api/v1/files").status_code == 200

    # ...and is never shown again.
    page.reload()
    assert page.locator("code.uploadkit-new-key").count() == 0
    assert plaintext not in page.content()

    # Revoke it from the key list.
    page.goto("/admin/django_uploadkit/apikey/")
    row = page.locator("#result_list tbody tr", has_text=key.prefix)
    assert row.locator("td.field-status").inner_text() == "active"
    row.locator("input.action-select").check()
    page.select_option("select[name='action']", "revoke_keys")
    page.click("button[name='index']")
    page.wait_for_selector("text=Revoked 1 key(s).")
    row = page.locator("#result_list tbody tr", has_text=key.prefix)
    assert row.locator("td.field-status").inner_text() == "revoked"
    for column in ("Prefix", "Name", "Environment", "Created at", "Last used at", "Status"):
        assert page.locator("#result_list thead", has_text=column).count() == 1
    assert plaintext not in page.content()
    screenshot(page, "admin-keys")

    response = api.get(f"{live_server.url}/api/v1/files")
    assert response.status_code == 401
    assert response.json() == {"error": "This API key has been revoked.", "code": "INVALID_API_KEY"}

"""The browsable API renders the file list for a staff user (no key pasted anywhere), and the
OpenAPI docs render from local static files."""

from __future__ import annotations

from urllib.parse import urlparse

from django_uploadkit.models import File, FileRoute, Project

from .conftest import login, screenshot


def test_the_browsable_api_lists_files_for_a_staff_user(page, live_server, admin_user):
    project = Project.objects.create(slug="acme", name="Acme")
    Project.objects.create(slug="other", name="Other")
    route = FileRoute.objects.create(project=project, slug="imageUploader", max_size=10**6)
    File.objects.create(project=project, route=route, key="uploads/abc/profile.jpg", name="profile.jpg",
                        size=204800, content_type="image/jpeg", status=File.Status.UPLOADED)

    # Not logged in: the browsable API shows the error shape, nothing else.
    page.goto("/api/v1/files?project=acme")
    assert "MISSING_API_KEY" in page.content() and "profile.jpg" not in page.content()

    login(page)
    page.goto("/api/v1/files?project=acme")
    page.wait_for_selector(".response-info")
    info = page.locator(".response-info").inner_text()
    assert "HTTP 200 OK" in info
    assert "uploads/abc/profile.jpg" in info and '"nextCursor": null' in info
    assert page.locator("h1", has_text="File List").count() == 1
    screenshot(page, "browsable-api")

    # The project is remembered for the session; another project shows its own (empty) list.
    page.goto("/api/v1/files")
    assert "uploads/abc/profile.jpg" in page.locator(".response-info").inner_text()
    page.goto("/api/v1/files?project=other")
    assert '"files": []' in page.locator(".response-info").inner_text()


def test_the_swagger_ui_renders_the_schema_offline(page, live_server, transactional_db):
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    page.goto("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() == 4
    assert page.locator(".swagger-ui", has_text="/api/v1/upload/request").count() >= 1
    assert hosts <= {urlparse(live_server.url).netloc}, hosts  # no CDN
    screenshot(page, "api-docs")

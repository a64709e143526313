"""The example front page uploads an image (progress to 100%), lists it with its thumbnail,
and the admin lists it too; deleting it in the admin takes it out of the API listing and
its object out of storage."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from django_uploadkit.keys import create_api_key
from django_uploadkit.models import File
from django_uploadkit.projects import ensure_project, ensure_route

from .conftest import login, make_png, screenshot

MB = 1024 * 1024


@pytest.fixture
def demo(transactional_db):
    project = ensure_project("demo", name="Demo")[0]
    ensure_route(project, "imageUploader", allowed_types=["image/*"], max_size=4 * MB)
    return project


def image_loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_upload_from_the_front_page_then_delete_in_the_admin(
    page, live_server, demo, admin_user, local_storage_root
):
    png = make_png(160, 120)
    page.goto("/")
    # The page never holds a key: nothing like one in its HTML or script.
    assert "uk_live_" not in page.content() and "x-api-key" not in page.content()
    percents: list[str] = []
    page.expose_function("recordPercent", lambda value: percents.append(value))
    page.evaluate(
        """() => new MutationObserver(() => window.recordPercent(document.getElementById('percent').textContent))
                .observe(document.getElementById('percent'), {childList: true, characterData: true, subtree: true})"""
    )
    page.set_input_files("#file", files=[{"name": "gradient.png", "mimeType": "image/png", "buffer": png}])
    page.click("#upload-button")
    page.wait_for_selector("#status[data-state='done']")
    assert page.locator("#progress").evaluate("p => p.value") == 100
    assert page.locator("#percent").inner_text() == "100%"
    assert "100%" in percents

    item = page.locator("#files li", has_text="gradient.png")
    thumb = item.locator("img.thumb")
    thumb.wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('#files img')].every(i => i.complete)")
    assert image_loaded(thumb)
    screenshot(page, "front-page")

    file = File.objects.get(name="gradient.png")
    assert file.status == File.Status.UPLOADED and file.size == len(png)
    stored = Path(local_storage_root) / file.key
    assert stored.read_bytes() == png

    # The admin file list shows it, with its thumbnail.
    login(page)
    page.goto("/admin/django_uploadkit/file/")
    row = page.locator("#result_list tbody tr", has_text="gradient.png")
    assert "Uploaded" in row.inner_text() and "imageUploader" in row.inner_text()
    assert "image/png" in row.inner_text()
    admin_thumb = row.locator("img.uploadkit-thumb")
    page.wait_for_function("() => [...document.querySelectorAll('img.uploadkit-thumb')].every(i => i.complete)")
    assert image_loaded(admin_thumb)
    screenshot(page, "admin-files")

    # Delete it from the admin: it leaves the API listing and storage.
    key = create_api_key(demo).plaintext
    listing = lambda: requests.get(f"{live_server.url}/api/v1/files", headers={"x-api-key": key}).json()
    assert [f["id"] for f in listing()["files"]] == [file.id]
    row.locator("a", has_text="gradient.png").click()
    page.click("a.deletelink")
    page.wait_for_url("**/delete/")
    page.click("#content form input[type=submit]")  # "Yes, I'm sure"
    page.wait_for_selector("text=was deleted successfully")
    assert listing()["files"] == []
    assert wait_until(lambda: not stored.exists()), "the object is still in storage"
    file.refresh_from_db()
    assert file.status == File.Status.DELETED

"""The admin: keys shown once and revocable, files listed readably and deleted through the
service, changelists in a fixed number of queries, and staff sessions on the browsable API."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from django_uploadkit.keys import create_api_key, hash_key
from django_uploadkit.models import ApiKey, File, FileRoute, Project

from .conftest import assert_error
from .helpers import upload

NEW_KEY = re.compile(r'<code class="uploadkit-new-key">(uk_(?:live|test)_[A-Za-z0-9]{40})</code>')


def make_files(route: FileRoute, count: int, **fields) -> list[File]:
    now = timezone.now()
    files = [
        File(
            project=route.project,
            route=route,
            key=f"uploads/bulk{i:06d}/f{i}.png",
            name=f"f{i}.png",
            size=1000 + i,
            content_type="image/png",
            status=File.Status.UPLOADED,
            uploaded_at=now,
            metadata={"n": i},
            **fields,
        )
        for i in range(count)
    ]
    return File.objects.bulk_create(files)


# -- keys ------------------------------------------------------------------------------------


def test_adding_a_key_shows_the_full_key_once_and_it_works(admin_client, project, route):
    response = admin_client.post(
        "/admin/django_uploadkit/apikey/add/",
        {"project": project.pk, "name": "ci", "environment": "live", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    plaintext = NEW_KEY.search(response.content.decode()).group(1)
    key = ApiKey.objects.get(name="ci")
    assert key.hashed_key == hash_key(plaintext) and plaintext not in key.hashed_key
    assert plaintext.startswith(key.prefix)
    # Never again: not on the list, not on the key's page.
    assert plaintext not in admin_client.get("/admin/django_uploadkit/apikey/").content.decode()
    page = admin_client.get(f"/admin/django_uploadkit/apikey/{key.pk}/change/").content.decode()
    assert plaintext not in page and key.prefix in page

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plaintext)
    assert client.get("/api/v1/files").status_code == 200


def test_a_key_added_inline_on_the_project_page_is_issued_by_the_key_service(admin_client, project):
    data = {
        "name": project.name,
        "slug": project.slug,
        "webhook_url": "",
        "routes-TOTAL_FORMS": "1",
        "routes-INITIAL_FORMS": "0",
        "routes-0-slug": "docs",
        "routes-0-allowed_types": "application/pdf, image/*",
        "routes-0-max_size": "1048576",
        "api_keys-TOTAL_FORMS": "1",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-0-name": "inline",
        "api_keys-0-environment": "test",
        "api_keys-0-expires_at_0": "",
        "api_keys-0-expires_at_1": "",
    }
    response = admin_client.post(f"/admin/django_uploadkit/project/{project.pk}/change/", data, follow=True)
    assert response.status_code == 200, response.content
    plaintext = NEW_KEY.search(response.content.decode()).group(1)
    assert plaintext.startswith("uk_test_")
    key = ApiKey.objects.get(name="inline")
    assert key.hashed_key == hash_key(plaintext)
    assert FileRoute.objects.get(project=project, slug="docs").allowed_types == [
        "application/pdf",
        "image/*",
    ]


def test_the_key_list_shows_prefix_name_environment_dates_and_status(admin_client, project):
    active = create_api_key(project, name="active-key").api_key
    revoked = create_api_key(project, name="revoked-key").api_key
    revoked.revoked_at = timezone.now()
    revoked.save()
    create_api_key(project, name="old-key", expires_at=timezone.now() - timedelta(days=1))
    page = admin_client.get("/admin/django_uploadkit/apikey/").content.decode()
    for header in ("Prefix", "Name", "Environment", "Created at", "Last used at", "Status"):
        assert header in page
    assert active.prefix in page
    assert ">active<" in page and ">revoked<" in page and ">expired<" in page


@pytest.mark.parametrize("action", ["revoke_keys", "expire_keys"])
def test_revoke_and_expire_actions_make_the_key_401(admin_client, project, route, action):
    issued = create_api_key(project, name="doomed")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.plaintext)
    assert client.get("/api/v1/files").status_code == 200
    response = admin_client.post(
        "/admin/django_uploadkit/apikey/",
        {"action": action, "_selected_action": [issued.api_key.pk]},
    )
    assert response.status_code == 302
    assert_error(client.get("/api/v1/files"), 401, "INVALID_API_KEY")


def test_the_key_changelist_is_a_fixed_number_of_queries(
    admin_client, project, django_assert_max_num_queries
):
    for i in range(3):
        create_api_key(project, name=f"k{i}")
    with django_assert_max_num_queries(8) as small:
        admin_client.get("/admin/django_uploadkit/apikey/")
    for i in range(40):
        create_api_key(project, name=f"more{i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        admin_client.get("/admin/django_uploadkit/apikey/")


# -- files -----------------------------------------------------------------------------------


def test_the_file_list_shows_status_route_project_size_type_and_a_thumbnail(admin_client, api):
    uploaded = upload(api)
    page = admin_client.get("/admin/django_uploadkit/file/").content.decode()
    assert "profile.jpg" in page and "UPLOADED" in page and "imageUploader" in page
    assert "acme" in page and "image/jpeg" in page and "64 bytes" in page
    assert f'src="/uploadkit/objects/{uploaded["key"]}"' in page
    assert 'class="uploadkit-thumb"' in page


def test_file_filters_and_search(admin_client, route):
    make_files(route, 3)
    other_route = FileRoute.objects.create(project=route.project, slug="docs", max_size=10**6)
    File.objects.create(
        project=route.project, route=other_route, key="uploads/zz/report.pdf", name="report.pdf",
        size=5, content_type="application/pdf", status=File.Status.FAILED,
    )
    url = "/admin/django_uploadkit/file/"

    def names(query: str) -> set[str]:
        response = admin_client.get(url + query)
        assert response.status_code == 200
        return {f.name for f in response.context["cl"].result_list}

    assert names("?status__exact=FAILED") == {"report.pdf"}
    assert names(f"?route__id__exact={other_route.pk}") == {"report.pdf"}
    assert names(f"?project__id__exact={route.project.pk}") == {"report.pdf", "f0.png", "f1.png", "f2.png"}
    assert names("?type=application") == {"report.pdf"}
    assert names("?type=image") == {"f0.png", "f1.png", "f2.png"}
    since = urlencode({"created_at__gte": str(timezone.now() - timedelta(days=1))})
    assert len(names("?" + since)) == 4
    until = urlencode({"created_at__lt": str(timezone.now() - timedelta(days=1))})
    assert names("?" + until) == set()
    assert names("?q=report") == {"report.pdf"}
    assert names("?q=uploads/bulk000001") == {"f1.png"}
    file_id = File.objects.get(name="f2.png").pk
    assert names(f"?q={file_id}") == {"f2.png"}


def test_the_file_page_shows_metadata_readably_and_links_the_file(admin_client, api):
    uploaded = upload(api, metadata={"userId": "42", "album": {"name": "Été"}})
    page = admin_client.get(f"/admin/django_uploadkit/file/{uploaded['id']}/change/").content.decode()
    assert "<pre" in page and "&quot;userId&quot;: &quot;42&quot;" in page and "Été" in page
    assert f'href="/uploadkit/objects/{uploaded["key"]}"' in page


def test_the_file_changelist_is_a_fixed_number_of_queries(
    admin_client, route, django_assert_max_num_queries
):
    make_files(route, 5)
    with django_assert_max_num_queries(12) as small:
        admin_client.get("/admin/django_uploadkit/file/")
    make_files(route, 0)
    File.objects.bulk_create(
        File(project=route.project, route=route, key=f"uploads/m{i}/x.png", name="x.png", size=1,
             content_type="image/png", status=File.Status.UPLOADED)
        for i in range(120)
    )
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = admin_client.get("/admin/django_uploadkit/file/")
    assert len(response.context["cl"].result_list) == 50


def test_deleting_a_file_in_the_admin_goes_through_the_service(
    admin_client, api, local_storage_root, django_capture_on_commit_callbacks
):
    uploaded = upload(api)
    path = Path(local_storage_root) / uploaded["key"]
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/django_uploadkit/file/{uploaded['id']}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    file = File.objects.get(pk=uploaded["id"])  # the row stays, marked deleted
    assert file.status == File.Status.DELETED and file.deleted_at is not None
    assert not path.exists()
    assert api.get("/api/v1/files").json()["files"] == []


def test_bulk_deletion_action_goes_through_the_service(
    admin_client, api, local_storage_root, django_capture_on_commit_callbacks
):
    first, second, kept = upload(api), upload(api), upload(api)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/django_uploadkit/file/",
            {"action": "delete_selected", "_selected_action": [first["id"], second["id"]], "post": "yes"},
        )
    assert response.status_code == 302
    statuses = dict(File.objects.values_list("id", "status"))
    assert statuses[first["id"]] == statuses[second["id"]] == "DELETED"
    assert statuses[kept["id"]] == "UPLOADED"
    assert not (Path(local_storage_root) / first["key"]).exists()
    assert (Path(local_storage_root) / kept["key"]).exists()
    assert [f["id"] for f in api.get("/api/v1/files").json()["files"]] == [kept["id"]]


# -- the browsable API for staff -------------------------------------------------------------


@pytest.fixture
def staff_client(db, django_user_model) -> APIClient:
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_staff_session_browses_the_api_against_a_chosen_project(staff_client, api):
    uploaded = upload(api)
    Project.objects.create(slug="second", name="Second")
    response = staff_client.get("/api/v1/files?project=acme", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert uploaded["key"] in response.content.decode()
    # The choice is remembered in the session.
    assert staff_client.get("/api/v1/files", format="json").json()["files"][0]["id"] == uploaded["id"]
    assert staff_client.get("/api/v1/files?project=second").json()["files"] == []


def test_a_staff_session_without_a_chosen_project_is_told_to_choose(staff_client, project):
    Project.objects.create(slug="second", name="Second")
    assert_error(staff_client.get("/api/v1/files"), 400, "INVALID_REQUEST")
    assert_error(staff_client.get("/api/v1/files?project=nope"), 400, "INVALID_REQUEST")


def test_staff_session_writes_need_the_csrf_token(staff_client, route):
    response = staff_client.post(
        "/api/v1/upload/request?project=acme",
        {"fileName": "a.jpg", "fileSize": 10, "contentType": "image/jpeg", "routeSlug": "imageUploader"},
        format="json",
    )
    assert_error(response, 403, "FORBIDDEN")


def test_a_non_staff_session_gets_nothing(db, django_user_model, project):
    user = django_user_model.objects.create_user("plain", password="pw")
    client = APIClient()
    client.force_login(user)
    assert_error(client.get("/api/v1/files?project=acme"), 401, "MISSING_API_KEY")


def test_an_api_key_wins_over_a_staff_session(staff_client, api_key, other_project_api):
    # The key's project is what the request sees, whatever the session chose.
    staff_client.get("/api/v1/files?project=other")
    staff_client.credentials(HTTP_X_API_KEY=api_key)
    upload_response = staff_client.get("/api/v1/files?project=other")
    assert upload_response.status_code == 200
    staff_client.credentials(HTTP_X_API_KEY="uk_live_" + "z" * 40)
    assert_error(staff_client.get("/api/v1/files?project=other"), 401, "INVALID_API_KEY")


# -- dashboard links -------------------------------------------------------------------------


def test_the_dashboard_is_linked_from_the_admin_index_and_the_project_page(admin_client, project):
    dashboard = f"/admin/django_uploadkit/project/{project.pk}/dashboard/"
    index = admin_client.get("/admin/").content.decode()
    assert "/admin/django_uploadkit/project/dashboards/" in index
    listing = admin_client.get("/admin/django_uploadkit/project/dashboards/").content.decode()
    assert dashboard in listing
    change = admin_client.get(f"/admin/django_uploadkit/project/{project.pk}/change/").content.decode()
    assert dashboard in change
    assert admin_client.get(dashboard).status_code == 200


def test_non_staff_users_cannot_see_the_dashboard(client, django_user_model, project):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw"))
    response = client.get(f"/admin/django_uploadkit/project/{project.pk}/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# -- webhooks --------------------------------------------------------------------------------


def make_event(project: Project, status: str, attempts: list[tuple[int | None, str]]):
    from django_uploadkit.models import WebhookDelivery, WebhookEvent
    from django_uploadkit.webhook_delivery import new_event_id

    event = WebhookEvent.objects.create(
        id=new_event_id(), project=project, event_type="file.uploaded", body="{}", status=status,
        attempts=len(attempts),
    )
    for n, (code, error) in enumerate(attempts, start=1):
        WebhookDelivery.objects.create(
            event=event, attempt=n, url="https://hooks.example.com/x", status_code=code,
            error=error, duration_ms=12 * n, succeeded=code is not None and 200 <= code < 300,
        )
    return event


def test_webhook_deliveries_list_every_attempt_and_send_again(admin_client, project, monkeypatch):
    from django_uploadkit import webhook_delivery

    event = make_event(project, "FAILED", [(500, ""), (None, "Connection refused"), (503, "")])
    page = admin_client.get("/admin/django_uploadkit/webhookdelivery/").content.decode()
    for header in ("Status code", "Duration ms", "Error", "Attempt"):
        assert header in page
    assert "Connection refused" in page and ">503<" in page and ">36<" in page
    detail = admin_client.get(f"/admin/django_uploadkit/webhookevent/{event.pk}/change/").content.decode()
    assert "Connection refused" in detail and ">500<" in detail and ">503<" in detail

    resent = []
    monkeypatch.setattr(webhook_delivery, "resend", lambda e: resent.append(e.pk) or e)
    ids = list(event.deliveries.values_list("pk", flat=True))
    response = admin_client.post(
        "/admin/django_uploadkit/webhookdelivery/",
        {"action": "send_again", "_selected_action": ids},
    )
    assert response.status_code == 302
    assert resent == [event.pk]  # one event, however many of its attempts were selected
    admin_client.post(
        "/admin/django_uploadkit/webhookevent/", {"action": "send_again", "_selected_action": [event.pk]}
    )
    assert resent == [event.pk, event.pk]


def test_the_dashboard_shows_the_webhook_success_rate(admin_client, project):
    make_event(project, "DELIVERED", [(200, "")])
    make_event(project, "DELIVERED", [(500, ""), (200, "")])
    make_event(project, "DELIVERED", [(204, "")])
    make_event(project, "FAILED", [(500, "")])
    make_event(project, "PENDING", [(500, "")])  # still trying: not counted
    page = admin_client.get(f"/admin/django_uploadkit/project/{project.pk}/dashboard/").content.decode()
    assert 'data-metric="webhooks"><span class="uk-value">75%<' in page
    assert "3/4 events delivered" in page


def test_the_delivery_changelist_is_a_fixed_number_of_queries(
    admin_client, project, django_assert_max_num_queries
):
    make_event(project, "FAILED", [(500, "")])
    with django_assert_max_num_queries(10) as few:
        admin_client.get("/admin/django_uploadkit/webhookdelivery/")
    for _ in range(20):
        make_event(project, "DELIVERED", [(500, ""), (200, "")])
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get("/admin/django_uploadkit/webhookdelivery/")

"""The example front page: the recommended browser flow, with the key kept on the server.

The browser never sees an API key. It asks this backend for an upload URL; the backend, which
holds the project's credentials, asks UploadKit (here in-process, through the same services
the API calls; a separate backend would POST /api/v1/upload/request with its x-api-key); the
browser PUTs the file straight to storage with that URL, then asks this backend to complete.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from django_uploadkit import services
from django_uploadkit.exceptions import UploadKitError
from django_uploadkit.models import Project

PROJECT_SLUG = getattr(settings, "EXAMPLE_PROJECT_SLUG", "demo")
ROUTE_SLUG = getattr(settings, "EXAMPLE_ROUTE_SLUG", "imageUploader")


def _project() -> Project | None:
    return Project.objects.filter(slug=PROJECT_SLUG).first()


def _error(message: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message, "code": code}, status=status)


def _file(request: HttpRequest, file: Any) -> dict[str, Any]:
    body = services.file_to_dict(file)
    body["url"] = request.build_absolute_uri(body["url"])
    return body


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "example/index.html",
        {"project": _project(), "project_slug": PROJECT_SLUG, "route_slug": ROUTE_SLUG},
    )


@require_POST
def upload_url(request: HttpRequest) -> JsonResponse:
    project = _project()
    if project is None:
        return _error(f"Run `manage.py uploadkit_demo` to create project {PROJECT_SLUG!r}.", "NOT_FOUND", 404)
    try:
        data = json.loads(request.body)
        ticket = services.request_upload(
            project,
            file_name=str(data["fileName"]),
            file_size=int(data["fileSize"]),
            content_type=str(data["contentType"]),
            route_slug=ROUTE_SLUG,
            metadata={"uploadedFrom": "example front page"},
        )
    except (ValueError, KeyError, TypeError):
        return _error("Send fileName, fileSize and contentType.", "INVALID_REQUEST", 400)
    except UploadKitError as exc:
        return _error(exc.message, exc.code, exc.status_code)
    return JsonResponse(
        {
            "fileId": ticket.file.id,
            "uploadUrl": request.build_absolute_uri(ticket.upload_url),
            "key": ticket.file.key,
        }
    )


@require_POST
def complete(request: HttpRequest) -> JsonResponse:
    project = _project()
    try:
        file = services.complete_upload(project, str(json.loads(request.body)["fileId"]))
    except (ValueError, KeyError, TypeError):
        return _error("Send fileId.", "INVALID_REQUEST", 400)
    except UploadKitError as exc:
        return _error(exc.message, exc.code, exc.status_code)
    return JsonResponse(_file(request, file))


@require_GET
def files(request: HttpRequest) -> JsonResponse:
    project = _project()
    page = services.list_files(project, limit=24) if project else None
    return JsonResponse({"files": [_file(request, f) for f in page.files] if page else []})

"""Small test helpers that drive the API the way a client does."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60


def request_upload(api: APIClient, **overrides: Any) -> Any:
    body = {
        "fileName": "profile.jpg",
        "fileSize": len(JPEG),
        "contentType": "image/jpeg",
        "routeSlug": "imageUploader",
    }
    body.update(overrides)
    return api.post("/api/v1/upload/request", body, format="json")


def put_object(client: APIClient, upload_url: str, body: bytes, content_type: str) -> Any:
    """PUT to the local backend's signed URL through the Django test client."""
    return client.generic("PUT", upload_url, data=body, content_type=content_type)


def upload(api: APIClient, body: bytes = JPEG, **overrides: Any) -> dict[str, Any]:
    """Request, PUT and complete one file; the complete response."""
    ticket = request_upload(api, fileSize=len(body), **overrides).json()
    content_type = overrides.get("contentType", "image/jpeg")
    assert put_object(APIClient(), ticket["uploadUrl"], body, content_type).status_code == 200
    response = api.post("/api/v1/upload/complete", {"fileId": ticket["fileId"]}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()

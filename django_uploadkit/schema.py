"""The OpenAPI description of the v1 API (drf-spectacular).

The views stay free of documentation: each is swapped, for schema generation only, for an
annotated subclass (``OpenApiViewExtension``). Importing this module registers the
extensions; ``urls.py`` does so when it routes the schema and docs pages.

Shapes follow the reference text: request bodies, the four success shapes, the error shape
``{"error", "code"}`` with its codes, and the ``x-api-key`` header.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers

from .errors import exception_handler
from .serializers import (
    FileListQuerySerializer,
    FileSerializer,
    UploadCompleteSerializer,
    UploadRequestSerializer,
)

EXAMPLE_FILE_ID = "file_01J9KXYZ8Q4V6T2M3N5P7R9S1W"
EXAMPLE_KEY = "uploads/abc123/profile.jpg"

#: Every code an API endpoint can answer with, by status (the documented, stable list).
ERROR_CODES: dict[int, list[tuple[str, str]]] = {
    400: [("INVALID_REQUEST", "fileSize: A valid integer is required.")],
    401: [
        ("MISSING_API_KEY", "Missing API key: pass it in the x-api-key header."),
        ("INVALID_API_KEY", "This API key has been revoked."),
    ],
    403: [
        ("FILE_TOO_LARGE", "File size exceeds the 4 MB limit for route imageUploader"),
        (
            "FILE_TYPE_NOT_ALLOWED",
            "File type application/pdf is not allowed for route imageUploader (allowed: image/*)",
        ),
    ],
    404: [
        ("ROUTE_NOT_FOUND", "Route 'avatars' does not exist in this project."),
        ("FILE_NOT_FOUND", f"File {EXAMPLE_FILE_ID!r} not found."),
    ],
    409: [
        (
            "UPLOAD_INCOMPLETE",
            "The file has not been uploaded yet: PUT it to the uploadUrl, then complete.",
        ),
        ("UPLOAD_MISMATCH", "Stored object is 1024 bytes; 204800 were requested."),
    ],
    429: [("RATE_LIMITED", "Rate limit exceeded.")],
    500: [("INTERNAL_ERROR", "Internal server error.")],
}
ALL_CODES = [code for codes in ERROR_CODES.values() for code, _ in codes] + [
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "FORBIDDEN",
    "UNSUPPORTED_MEDIA_TYPE",
    "NOT_ACCEPTABLE",
    "PAYLOAD_TOO_LARGE",
    "STORAGE_UNAVAILABLE",
    "STORAGE_ERROR",
]


class ErrorSerializer(serializers.Serializer):
    """Every error, from every endpoint."""

    error = serializers.CharField(help_text="A human sentence; never a traceback.")
    code = serializers.ChoiceField(choices=ALL_CODES, help_text="A stable machine-readable code.")


class UploadTicketSerializer(serializers.Serializer):
    fileId = serializers.CharField(help_text="`file_` followed by a ULID.")
    uploadUrl = serializers.URLField(
        help_text="Presigned PUT URL; send the exact Content-Type that was requested."
    )
    cdnUrl = serializers.URLField(help_text="Where the file will be readable once uploaded.")
    key = serializers.CharField(help_text="The object key, chosen by the server.")


class FileListSerializer(serializers.Serializer):
    files = FileSerializer(many=True)
    nextCursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last page."
    )


FILE_EXAMPLE = {
    "id": EXAMPLE_FILE_ID,
    "key": EXAMPLE_KEY,
    "name": "profile.jpg",
    "size": 204800,
    "type": "image/jpeg",
    "url": f"https://cdn.uploadkit.dev/{EXAMPLE_KEY}",
    "status": "UPLOADED",
    "createdAt": "2026-04-07T11:59:30Z",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error shape for these statuses, with one example per code."""
    responses = {}
    for status in statuses:
        examples = [
            OpenApiExample(code, value={"error": message, "code": code}, response_only=True)
            for code, message in ERROR_CODES[status]
        ]
        responses[status] = OpenApiResponse(
            ErrorSerializer,
            description=", ".join(code for code, _ in ERROR_CODES[status]),
            examples=examples,
        )
    return responses


COMMON_ERRORS = (400, 401, 429, 500)


def _annotated(view: type, **schema: Any) -> type:
    """A subclass of ``view`` carrying spectacular's AutoSchema and these annotations."""
    method = next(m for m in ("post", "get", "delete") if hasattr(view, m))
    replacement = type(view.__name__, (view,), {"schema": AutoSchema(), "__doc__": view.__doc__})
    setattr(replacement, method, extend_schema(**schema)(getattr(view, method)))
    return replacement


class UploadRequestDocs(OpenApiViewExtension):
    target_class = "django_uploadkit.views.UploadRequestView"

    def view_replacement(self) -> type:
        return _annotated(
            self.target_class,
            operation_id="upload_request",
            summary="Request a presigned upload URL",
            description=(
                "Validates the route's type and size rules and answers with a short-lived PUT "
                "URL. PUT the file to `uploadUrl` with the same Content-Type, then call "
                "`/api/v1/upload/complete`."
            ),
            tags=["uploads"],
            request=UploadRequestSerializer,
            responses={200: UploadTicketSerializer, **error_responses(*COMMON_ERRORS, 403, 404)},
            examples=[
                OpenApiExample(
                    "Request",
                    request_only=True,
                    value={
                        "fileName": "profile.jpg",
                        "fileSize": 204800,
                        "contentType": "image/jpeg",
                        "routeSlug": "imageUploader",
                        "metadata": {"userId": "42"},
                    },
                ),
                OpenApiExample(
                    "Response",
                    response_only=True,
                    value={
                        "fileId": EXAMPLE_FILE_ID,
                        "uploadUrl": "https://pub-xxx.r2.dev/uploads/abc123?X-Amz-Signature=...",
                        "cdnUrl": f"https://cdn.uploadkit.dev/{EXAMPLE_KEY}",
                        "key": EXAMPLE_KEY,
                    },
                ),
            ],
        )


class UploadCompleteDocs(OpenApiViewExtension):
    target_class = "django_uploadkit.views.UploadCompleteView"

    def view_replacement(self) -> type:
        return _annotated(
            self.target_class,
            operation_id="upload_complete",
            summary="Confirm an upload",
            description=(
                "Checks the stored object's real size and type against the request and the "
                "route, then marks the file UPLOADED. Completing twice returns the same file."
            ),
            tags=["uploads"],
            request=UploadCompleteSerializer,
            responses={200: FileSerializer, **error_responses(*COMMON_ERRORS, 404, 409)},
            examples=[
                OpenApiExample("Request", request_only=True, value={"fileId": EXAMPLE_FILE_ID}),
                OpenApiExample("Response", response_only=True, value=FILE_EXAMPLE),
            ],
        )


class FileListDocs(OpenApiViewExtension):
    target_class = "django_uploadkit.views.FileListView"

    def view_replacement(self) -> type:
        return _annotated(
            self.target_class,
            operation_id="files_list",
            summary="List files",
            description="The project's files, newest first, with keyset pagination.",
            tags=["files"],
            parameters=[FileListQuerySerializer],
            responses={200: FileListSerializer, **error_responses(*COMMON_ERRORS)},
            examples=[
                OpenApiExample(
                    "Response",
                    response_only=True,
                    value={"files": [FILE_EXAMPLE], "nextCursor": None},
                )
            ],
        )


class FileDetailDocs(OpenApiViewExtension):
    target_class = "django_uploadkit.views.FileDetailView"

    def view_replacement(self) -> type:
        return _annotated(
            self.target_class,
            operation_id="files_delete",
            summary="Delete a file",
            description=(
                "Marks the file deleted at once (it leaves listings) and removes the object "
                "from storage in the background. The key is URL-encoded "
                "(`uploads%2Fabc123%2Fprofile.jpg`)."
            ),
            tags=["files"],
            parameters=[
                OpenApiParameter(
                    "key",
                    str,
                    OpenApiParameter.PATH,
                    description="The file's key, URL-encoded.",
                    examples=[OpenApiExample("key", value=EXAMPLE_KEY)],
                )
            ],
            responses={
                200: OpenApiResponse(FileSerializer, description="The deleted file."),
                **error_responses(*COMMON_ERRORS, 404),
            },
            examples=[
                OpenApiExample(
                    "Response", response_only=True, value={**FILE_EXAMPLE, "status": "DELETED"}
                )
            ],
        )


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "django_uploadkit.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "A project API key: `uk_live_...` or `uk_test_...`.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "django_uploadkit.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": (
                "A staff user's admin session (browsable API only); the project is chosen "
                "with `?project=<slug>`."
            ),
        }


# The schema and docs pages answer errors in the API's shape too: they live under /api/v1/.
class SchemaView(SpectacularAPIView):
    def get_exception_handler(self):  # type: ignore[override]
        return exception_handler


class SwaggerView(SpectacularSwaggerView):
    def get_exception_handler(self):  # type: ignore[override]
        return exception_handler


class RedocView(SpectacularRedocView):
    def get_exception_handler(self):  # type: ignore[override]
        return exception_handler


__all__ = ["ErrorSerializer", "SchemaView", "SwaggerView", "RedocView", "inline_serializer"]

"""HTTP views: parse, call a service, render. The lifecycle itself lives in ``services``."""

from __future__ import annotations

import re
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .authentication import (
    ApiKeyAuthentication,
    HasProject,
    StaffSessionAuthentication,
    authenticate_again,
    is_recalled,
    project_of,
)
from .errors import error_response, exception_handler
from .exceptions import (
    FileNotFound,
    FileTooLarge,
    FileTypeNotAllowed,
    InvalidApiKey,
    KeyNotCurrent,
    NotFound,
    RouteNotFound,
    UploadKitError,
)
from .models import File
from .negotiation import JsonFirstNegotiation
from .parsers import BoundedJSONParser
from .serializers import (
    FileListQuerySerializer,
    UploadCompleteSerializer,
    UploadRequestSerializer,
)
from .storage import get_backend
from .throttling import ApiKeyThrottle, add_headers, check_route_rate
from .storage.local import LocalBackend


def absolute_url(request: Request, url: str) -> str:
    """``request.build_absolute_uri(url)`` without parsing the URL again: that returns an ASCII
    URL with a scheme unchanged (S3's, percent-encoded) and puts the request's scheme and host
    before a plain absolute path (the local backend's). About 20 us for a presigned URL
    (BENCHMARKS.md, item 2); the host is validated once per request, not once per URL."""
    if _PLAIN_ABSOLUTE_URL.match(url):
        return url
    if _PLAIN_PATH.match(url) and "/./" not in url and "/../" not in url:
        origin = vars(request).get("_uploadkit_origin")
        if origin is None:
            origin = request._uploadkit_origin = request.build_absolute_uri("/")[:-1]
        return origin + url
    return request.build_absolute_uri(url)


# Only characters iri_to_uri() leaves as they are: a URL with a scheme, or a path from the root.
_SAFE = r"[A-Za-z0-9_.~/#%\[\]=:;$&()+,!?*@'-]*"
_PLAIN_ABSOLUTE_URL = re.compile(rf"https?://{_SAFE}\Z")
_PLAIN_PATH = re.compile(rf"/(?!/){_SAFE}\Z")


class UploadKitAPIView(APIView):
    """Base of every v1 endpoint: API-key auth, JSON in and out, the one error shape.

    A staff user's admin session also works (the browsable API), but only without a key.
    """

    authentication_classes = [ApiKeyAuthentication, StaffSessionAuthentication]
    permission_classes = [HasProject]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer]
    throttle_classes = [ApiKeyThrottle]
    content_negotiation_class = JsonFirstNegotiation

    def get_exception_handler(self):  # type: ignore[override]
        return exception_handler

    def handle_exception(self, exc: Exception) -> Response:
        # A key recalled from memory gets no answer the database would not give it: a key
        # revoked since is told so (401), not throttled or refused for another reason.
        if is_recalled(self.request) and not isinstance(exc, InvalidApiKey):
            try:
                authenticate_again(self.request)
            except UploadKitError as auth_exc:
                exc = auth_exc
            except Exception:  # noqa: BLE001 - the lookup failed too (database down): the first error stands
                pass
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_headers(request, response)
        return response

    def file_body(self, request: Request, file: File) -> dict[str, Any]:
        body = services.file_to_dict(file)
        body["url"] = absolute_url(request, body["url"])
        return body


# What a request on a recalled key may have got wrong from remembered data alone: the guard
# refused the INSERT, or a route error came from a route cached under an older routes_version.
_DECIDED_FROM_MEMORY = (KeyNotCurrent, RouteNotFound, FileTypeNotAllowed, FileTooLarge)


class UploadRequestView(UploadKitAPIView):
    # The key may come from this process's memory; the file's INSERT checks it (keys.py).
    recall_keys = True

    def post(self, request: Request) -> Response:
        data = UploadRequestSerializer.validated_from(request.data)
        check_route_rate(request, project_of(request).pk, data["routeSlug"])
        try:
            ticket = self.request_upload(request, data)
        except _DECIDED_FROM_MEMORY:
            if not is_recalled(request):
                raise
            # Decide again on the database's data: 401 if the key is no longer usable.
            authenticate_again(request)
            ticket = self.request_upload(request, data)
        return Response(
            {
                "fileId": ticket.file.id,
                "uploadUrl": absolute_url(request, ticket.upload_url),
                "cdnUrl": absolute_url(request, services.file_url(ticket.file)),
                "key": ticket.file.key,
            }
        )

    @staticmethod
    def request_upload(request: Request, data: dict[str, Any]) -> services.UploadTicket:
        return services.request_upload(
            project_of(request),
            file_name=data["fileName"],
            file_size=data["fileSize"],
            content_type=data["contentType"],
            route_slug=data["routeSlug"],
            metadata=data["metadata"],
            recalled_key=request.auth if is_recalled(request) else None,
        )


class UploadCompleteView(UploadKitAPIView):
    def post(self, request: Request) -> Response:
        data = UploadCompleteSerializer.validated_from(request.data)
        file = services.complete_upload(project_of(request), data["fileId"])
        return Response(self.file_body(request, file))


class FileListView(UploadKitAPIView):
    def get(self, request: Request) -> Response:
        params = FileListQuerySerializer.validated_from(request.query_params)
        page = services.list_files(
            project_of(request), limit=params.get("limit"), cursor=params.get("cursor")
        )
        return Response(
            {
                "files": [self.file_body(request, f) for f in page.files],
                "nextCursor": page.next_cursor,
            }
        )


class FileDetailView(UploadKitAPIView):
    def delete(self, request: Request, key: str) -> Response:
        file = services.delete_file(project_of(request), key)
        return Response(self.file_body(request, file))


@method_decorator(csrf_exempt, name="dispatch")
class LocalObjectView(View):
    """The local backend's object URL: PUT with a signed URL to upload, GET to read back.

    A plain Django view, so the body is streamed from the socket to disk, never parsed.
    """

    http_method_names = ["get", "head", "put", "options"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        backend = get_backend()
        if not isinstance(backend, LocalBackend):
            return error_response(NotFound("Uploads go straight to the configured storage."))
        self.backend = backend
        try:
            return super().dispatch(request, *args, **kwargs)
        except UploadKitError as exc:
            return error_response(exc)

    def put(self, request: HttpRequest, key: str) -> HttpResponse:
        size = self.backend.check_put(
            key,
            request.GET.dict(),
            request.META.get("CONTENT_TYPE"),
            request.META.get("CONTENT_LENGTH"),
        )
        self.backend.save_stream(key, request, size, request.GET["type"])
        return HttpResponse(status=200)

    def get(self, request: HttpRequest, key: str) -> HttpResponse:
        hidden = any(part.startswith(".") for part in key.split("/"))
        info = None if hidden else self.backend.head(key)
        if info is None:
            raise FileNotFound("No such object.")
        # The key's last segment is the safe name (ASCII, no separators): never the client's.
        response = FileResponse(
            self.backend.open(key),
            content_type=info.content_type,
            filename=key.rsplit("/", 1)[-1],
        )
        response["Content-Length"] = str(info.size)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def head(self, request: HttpRequest, key: str) -> HttpResponse:
        return self.get(request, key)

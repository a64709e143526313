"""One error shape everywhere under the API: ``{"error": "<sentence>", "code": "<CODE>"}``.

``exception_handler`` is DRF's EXCEPTION_HANDLER for the v1 views; ``ApiErrorMiddleware``
covers what never reaches a DRF view (unknown URLs, unexpected exceptions).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .conf import uploadkit_settings
from .exceptions import UploadKitError

logger = logging.getLogger("django_uploadkit")

_DRF_CODES: dict[type[drf.APIException], tuple[str, str]] = {
    drf.ParseError: ("INVALID_REQUEST", "Malformed request body: send valid JSON."),
    drf.ValidationError: ("INVALID_REQUEST", "Invalid request."),
    drf.NotAuthenticated: ("MISSING_API_KEY", "Missing API key: pass it in the x-api-key header."),
    drf.AuthenticationFailed: ("INVALID_API_KEY", "Invalid API key."),
    drf.PermissionDenied: ("FORBIDDEN", "You do not have permission to do this."),
    drf.NotFound: ("NOT_FOUND", "Not found."),
    drf.MethodNotAllowed: ("METHOD_NOT_ALLOWED", "Method not allowed."),
    drf.NotAcceptable: ("NOT_ACCEPTABLE", "Cannot satisfy the Accept header."),
    drf.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json."),
    drf.Throttled: ("RATE_LIMITED", "Rate limit exceeded."),
}


def error_body(message: str, code: str) -> dict[str, str]:
    return {"error": message, "code": code}


def _first_message(detail: Any, path: str = "") -> str:
    """The first validation message, prefixed with the field it concerns."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            name = f"{path}.{field}" if path else str(field)
            if field == "non_field_errors":
                name = path
            return _first_message(value, name)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], path)
    message = str(detail)
    return f"{path}: {message}" if path else message


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, UploadKitError):
        status, code, message = exc.status_code, exc.code, exc.message
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        code, default = next(
            (v for cls, v in _DRF_CODES.items() if isinstance(exc, cls)),
            ("INVALID_REQUEST" if status < 500 else "INTERNAL_ERROR", "Request failed."),
        )
        if isinstance(exc, drf.ValidationError):
            message = _first_message(exc.detail) or default
        elif isinstance(exc, drf.ParseError):
            message = default
        else:
            message = str(exc.detail) if exc.detail else default
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait + 0.999))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    elif isinstance(exc, Http404):
        status, code, message = 404, "NOT_FOUND", "Not found."
    elif isinstance(exc, PermissionDenied):
        status, code, message = 403, "FORBIDDEN", "You do not have permission to do this."
    elif isinstance(exc, RequestDataTooBig):
        status, code, message = 413, "PAYLOAD_TOO_LARGE", "Request body is too large."
    else:
        return None  # unexpected: ApiErrorMiddleware logs it and answers 500
    if status >= 500:
        logger.error("API error %s: %s", code, message)
    return Response(error_body(message, code), status=status, headers=headers)


def error_response(exc: UploadKitError) -> JsonResponse:
    """An UploadKitError rendered outside DRF (middleware, the local upload target)."""
    return JsonResponse(error_body(exc.message, exc.code), status=exc.status_code)


def is_api_path(path: str) -> bool:
    return path.startswith(uploadkit_settings.API_PREFIX)


class ApiErrorMiddleware:
    """Unknown URLs and unexpected exceptions under the API prefix answer in the error shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            is_api_path(request.path)
            and response.status_code in (404, 405, 500)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 500: "INTERNAL_ERROR"}[
                response.status_code
            ]
            message = {
                404: f"No API endpoint at {request.method} {request.path}.",
                405: "Method not allowed.",
                500: "Internal server error.",
            }[response.status_code]
            return JsonResponse(error_body(message, code), status=response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        if isinstance(exception, UploadKitError):
            return error_response(exception)
        if isinstance(exception, Http404):
            return JsonResponse(error_body("Not found.", "NOT_FOUND"), status=404)
        if isinstance(exception, (OperationalError, InterfaceError)):
            # The connection dropped or the server is unreachable: Django discards the broken
            # connection when the request ends, so a retry gets a fresh one.
            logger.error("Database unavailable in %s %s: %s", request.method, request.path,
                         exception)
            response = JsonResponse(
                error_body("The database is unavailable; try again shortly.",
                           "DATABASE_UNAVAILABLE"),
                status=503,
            )
            response["Retry-After"] = "1"
            return response
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        return JsonResponse(error_body("Internal server error.", "INTERNAL_ERROR"), status=500)

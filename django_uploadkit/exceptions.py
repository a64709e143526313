"""Every error the service can answer with: a status, a stable code and a human sentence.

These do not depend on DRF, so services and storage backends raise them directly; the API's
exception handler (``errors.py``) renders them as ``{"error": ..., "code": ...}``.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class UploadKitError(Exception):
    status_code = 500
    code = "INTERNAL_ERROR"
    default_message = "Internal server error."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidRequest(UploadKitError):
    status_code = 400
    code = "INVALID_REQUEST"
    default_message = "Invalid request."


class MissingApiKey(UploadKitError):
    status_code = 401
    code = "MISSING_API_KEY"
    default_message = "Missing API key: pass it in the x-api-key header."


class InvalidApiKey(UploadKitError):
    status_code = 401
    code = "INVALID_API_KEY"
    default_message = "Invalid API key."


class FileTooLarge(UploadKitError):
    status_code = 403
    code = "FILE_TOO_LARGE"
    default_message = "File is too large."


class FileTypeNotAllowed(UploadKitError):
    status_code = 403
    code = "FILE_TYPE_NOT_ALLOWED"
    default_message = "File type is not allowed."


class RouteNotFound(UploadKitError):
    status_code = 404
    code = "ROUTE_NOT_FOUND"
    default_message = "Route not found."


class FileNotFound(UploadKitError):
    status_code = 404
    code = "FILE_NOT_FOUND"
    default_message = "File not found."


class NotFound(UploadKitError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found."


class MethodNotAllowed(UploadKitError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    default_message = "Method not allowed."


class UploadIncomplete(UploadKitError):
    status_code = 409
    code = "UPLOAD_INCOMPLETE"
    default_message = "The file has not been uploaded to storage yet."


class UploadMismatch(UploadKitError):
    status_code = 409
    code = "UPLOAD_MISMATCH"
    default_message = "The stored object differs from what was requested."


class PayloadTooLarge(UploadKitError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body is too large."


class RateLimited(UploadKitError):
    status_code = 429
    code = "RATE_LIMITED"
    default_message = "Rate limit exceeded."

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageUnavailable(UploadKitError):
    status_code = 503
    code = "STORAGE_UNAVAILABLE"
    default_message = "Storage is unavailable; try again shortly."


class StorageError(UploadKitError):
    status_code = 500
    code = "STORAGE_ERROR"
    default_message = "Storage refused the operation."


# Errors of the app-served upload target (local backend), in the same shape.
class UploadUrlInvalid(UploadKitError):
    status_code = 403
    code = "INVALID_SIGNATURE"
    default_message = "The upload URL's signature is invalid."


class UploadUrlExpired(UploadKitError):
    status_code = 403
    code = "UPLOAD_URL_EXPIRED"
    default_message = "The upload URL has expired."


class ContentTypeMismatch(UploadKitError):
    status_code = 403
    code = "CONTENT_TYPE_MISMATCH"
    default_message = "Content-Type differs from the one signed into the upload URL."


class ContentLengthRequired(UploadKitError):
    status_code = 411
    code = "CONTENT_LENGTH_REQUIRED"
    default_message = "A Content-Length header is required."


class ContentLengthMismatch(UploadKitError):
    status_code = 400
    code = "CONTENT_LENGTH_MISMATCH"
    default_message = "The body's length differs from the size signed into the upload URL."


class ConfigurationError(UploadKitError, ImproperlyConfigured):
    """A setting is wrong; also an ImproperlyConfigured so Django reports it as such."""


class KeyNotCurrent(Exception):
    """A key recalled from this process's memory is no longer usable as recalled (revoked,
    expired, deleted, or its project's routes changed): decide the request again on a fresh
    lookup. Never reaches a client."""

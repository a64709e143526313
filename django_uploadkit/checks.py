"""System checks: configuration mistakes reported at startup, with namespaced ids."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from .storage import get_backend, reset_backend

    errors: list[Error] = []
    try:
        reset_backend()
        get_backend()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="uploadkit.E001"))
    return errors


@register()
def check_s3_storage(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With the s3 backend, a missing bucket name or missing credentials fail at startup."""
    from .storage import get_backend
    from .storage.s3 import S3Backend

    try:
        backend = get_backend()
    except ImproperlyConfigured:
        return []  # already reported as uploadkit.E001
    if not isinstance(backend, S3Backend):
        return []
    errors: list[CheckMessage] = []
    if not backend.bucket_name:
        errors.append(Error(
            "The s3 storage backend has no bucket.",
            hint="Set UPLOADKIT['STORAGE_OPTIONS']['bucket_name'] or AWS_STORAGE_BUCKET_NAME.",
            id="uploadkit.E002",
        ))
    if not backend.has_credentials():
        errors.append(Error(
            "The s3 storage backend found no credentials.",
            hint="Set access_key and secret_key in UPLOADKIT['STORAGE_OPTIONS'], or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (settings or environment).",
            id="uploadkit.E003",
        ))
    return errors


@register(deploy=True)
def check_s3_bucket(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy`` asks storage itself (a network call, so not on every startup)."""
    from .exceptions import StorageError, StorageUnavailable
    from .storage import get_backend
    from .storage.s3 import S3Backend

    try:
        backend = get_backend()
    except ImproperlyConfigured:
        return []
    if not isinstance(backend, S3Backend) or not backend.bucket_name:
        return []
    try:
        backend.check_bucket()
    except StorageUnavailable as exc:
        return [Warning(exc.message, id="uploadkit.W001")]
    except StorageError as exc:
        return [Error(exc.message, id="uploadkit.E004")]
    return []

"""Storage backends, chosen by ``UPLOADKIT["STORAGE"]``."""

from __future__ import annotations

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from ..conf import uploadkit_settings
from ..exceptions import ConfigurationError
from .base import DeleteResult, ObjectInfo, StorageBackend

__all__ = ["DeleteResult", "ObjectInfo", "StorageBackend", "get_backend", "reset_backend"]

BACKENDS = {
    "local": "django_uploadkit.storage.local.LocalBackend",
    "s3": "django_uploadkit.storage.s3.S3Backend",
}

_backend: StorageBackend | None = None


def get_backend() -> StorageBackend:
    """The configured backend, built once (boto3 clients are costly) until settings change."""
    global _backend
    if _backend is None:
        name = uploadkit_settings.STORAGE
        path = BACKENDS.get(name, name)
        try:
            cls = import_string(path)
        except ImportError as exc:
            raise ConfigurationError(f"Unknown UPLOADKIT STORAGE {name!r}: {exc}") from exc
        _backend = cls(**(uploadkit_settings.STORAGE_OPTIONS or {}))
    return _backend


def reset_backend(**kwargs: object) -> None:
    global _backend
    _backend = None


setting_changed.connect(reset_backend)

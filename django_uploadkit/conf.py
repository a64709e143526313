"""The app's settings: one ``UPLOADKIT`` dict in Django settings, read through one object.

Every attribute reads ``django.conf.settings`` at access time (as django-cors-headers does),
so ``override_settings`` just works and nothing is cached across tests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # "local" (embedded default), "s3", or a dotted path to a StorageBackend subclass.
    "STORAGE": "local",
    # Options passed to the chosen backend (local: ROOT; s3: django-storages names).
    "STORAGE_OPTIONS": {},
    # Lifetime of a presigned upload URL, in seconds.
    "UPLOAD_URL_EXPIRES": 15 * 60,
    # Extra time a PENDING file is kept past its URL's expiry before the sweep expires it.
    "EXPIRY_GRACE": 15 * 60,
    # Prefix of every object key the server chooses.
    "KEY_PREFIX": "uploads",
    # Secret for hashing API keys and signing local upload URLs; None means SECRET_KEY.
    "SECRET": None,
    # last_used_at is written at most once per this many seconds per key.
    "KEY_LAST_USED_INTERVAL": 300,
    # Listing page size.
    "DEFAULT_PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 100,
    # Absolute base URL (scheme://host) for URLs built outside a request (webhooks, admin).
    "PUBLIC_BASE_URL": None,
    # URL prefix that the error contract covers.
    "API_PREFIX": "/api/v1/",
}


class UploadKitSettings:
    """Typed access to ``settings.UPLOADKIT`` with defaults; unknown names are an error."""

    def _user(self) -> dict[str, Any]:
        value = getattr(settings, "UPLOADKIT", {}) or {}
        unknown = set(value) - set(DEFAULTS)
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown UPLOADKIT setting(s): {', '.join(sorted(unknown))}"
            )
        return value

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid UPLOADKIT setting: {name!r}")
        return self._user().get(name, DEFAULTS[name])

    @property
    def secret(self) -> str:
        return self._user().get("SECRET") or settings.SECRET_KEY


uploadkit_settings = UploadKitSettings()

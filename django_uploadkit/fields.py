"""Model fields: secrets that must be readable by the app (webhook signing) but not by
whoever reads the database or a backup.

``EncryptedSecretField`` stores Fernet tokens (AES-128-CBC + HMAC-SHA256), keyed from
``UPLOADKIT["SECRET"]`` (or ``SECRET_KEY``). Rows written before encryption was turned on, or
under an old key listed in ``SECRET_KEY_FALLBACKS``, are still read.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

from .conf import uploadkit_settings

PREFIX = "fernet:"


def _fernet_for(secret: str) -> Fernet:
    digest = hashlib.sha256(b"uploadkit.encrypted-secret\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _key_material() -> tuple[str, tuple[str, ...]]:
    fallbacks = () if uploadkit_settings.SECRET else tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return uploadkit_settings.secret, fallbacks


def _cipher(secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet_for(s) for s in (secret, *fallbacks)])


def encrypt(value: str) -> str:
    return PREFIX + _cipher(*_key_material()).encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption: readable, re-encrypted on next save
    return _decrypt(stored[len(PREFIX):], *_key_material())


@functools.lru_cache(maxsize=1024)
def _decrypt(token: str, secret: str, fallbacks: tuple[str, ...]) -> str:
    """Cached: every API request loads its project, secrets included, with the key (about
    15 us per secret to decrypt). Keyed by the key material too, so a changed SECRET is never
    answered from the cache; a token that fails raises every time (errors are not cached)."""
    try:
        return _cipher(secret, fallbacks).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "Cannot decrypt a stored secret: UPLOADKIT['SECRET'] (or SECRET_KEY) changed. "
            "Put the old key in SECRET_KEY_FALLBACKS, or rotate the webhook secret."
        ) from None


class EncryptedSecretField(models.CharField):
    """A CharField whose value is encrypted in the database and plain in Python."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

"""Model fields: secrets that must be readable by the app (webhook signing) but not by
whoever reads the database or a backup.

``EncryptedSecretField`` stores Fernet tokens (AES-128-CBC + HMAC-SHA256), keyed from
``UPLOADKIT["SECRET"]`` (or ``SECRET_KEY``). Rows written before encryption was turned on, or
under an old key listed in ``SECRET_KEY_FALLBACKS``, are still read.
"""

from __future__ import annotations

import base64
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


def _cipher() -> MultiFernet:
    fallbacks = [] if uploadkit_settings.SECRET else list(getattr(settings, "SECRET_KEY_FALLBACKS", []))
    return MultiFernet([_fernet_for(s) for s in [uploadkit_settings.secret, *fallbacks]])


def encrypt(value: str) -> str:
    return PREFIX + _cipher().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption: readable, re-encrypted on next save
    try:
        return _cipher().decrypt(stored[len(PREFIX):].encode()).decode()
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

"""Opaque listing cursors: the (created_at, id) of the last file of a page, base64-encoded."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from .exceptions import InvalidRequest


def encode_cursor(created_at: datetime, file_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), file_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, file_id = json.loads(raw)
        created_at = datetime.fromisoformat(created)
        if created_at.tzinfo is None or not isinstance(file_id, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("Invalid cursor: pass the nextCursor of a previous response.") from None
    return created_at, file_id

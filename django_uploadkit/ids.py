"""Identifiers: sortable file ids and the random parts of object keys."""

from __future__ import annotations

import secrets

from ulid import ULID

_KEY_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_file_id() -> str:
    """``file_`` + a ULID, so ids sort by creation time like the reference text's."""
    return f"file_{ULID()}"


def random_token(length: int = 20, alphabet: str = _KEY_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))

"""Identifiers: sortable file ids and the random parts of object keys."""

from __future__ import annotations

import secrets

from ulid import ULID

_KEY_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_file_id() -> str:
    """``file_`` + a ULID, so ids sort by creation time like the reference text's."""
    return f"file_{ULID()}"


def new_version() -> int:
    """A random 63-bit version tag: never reused in practice, and fits a signed BIGINT."""
    return secrets.randbits(63)


def random_token(length: int = 20, alphabet: str = _KEY_ALPHABET) -> str:
    """``length`` characters drawn uniformly from ``alphabet``.

    One draw of a number below ``len(alphabet) ** length``, written in that base: the same
    distribution as ``length`` calls to ``secrets.choice``, at a tenth of the cost.
    """
    base = len(alphabet)
    number = secrets.randbelow(base**length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, base)
        chars.append(alphabet[digit])
    return "".join(chars)

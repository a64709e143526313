"""File names: what is kept for display and what may appear in an object key."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Windows device names: a file called CON or nul.txt cannot be saved or opened there.
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
)


def display_name(name: str) -> str:
    """The name as given, NFC-normalised, without control or bidi-override characters."""
    name = unicodedata.normalize("NFC", name)
    return "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))


def safe_key_name(name: str, max_length: int = 120) -> str:
    """A name that can never escape or confuse a key: ASCII, no separators, no leading dots."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = ascii_name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("-", base).strip("-.")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    if len(cleaned) > max_length:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            cleaned = stem[: max_length - len(ext) - 1] + "." + ext
        else:
            cleaned = cleaned[:max_length]
    cleaned = cleaned or "file"
    if cleaned.split(".")[0].upper() in _RESERVED:
        cleaned = "_" + cleaned
    return cleaned

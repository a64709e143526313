"""MIME types and route patterns: parsing, normalising and matching."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_TYPE_RE = re.compile(rf"^({_TOKEN})/({_TOKEN})$")
_PATTERN_RE = re.compile(rf"^({_TOKEN}|\*)/({_TOKEN}|\*)$")


def normalize_content_type(value: str) -> str | None:
    """``Image/JPEG; charset=x`` -> ``image/jpeg``; None when it is not a MIME type."""
    if not isinstance(value, str):
        return None
    essence = value.split(";", 1)[0].strip().lower()
    return essence if _TYPE_RE.match(essence) else None


def parse_pattern(pattern: str) -> tuple[str, str]:
    if not isinstance(pattern, str) or not _PATTERN_RE.match(pattern.strip().lower()):
        raise ValidationError(f"{pattern!r} is not a MIME pattern such as image/* or application/pdf.")
    major, minor = pattern.strip().lower().split("/")
    if major == "*" and minor != "*":
        raise ValidationError(f"{pattern!r} is not a MIME pattern such as image/* or application/pdf.")
    return major, minor


def type_allowed(content_type: str, patterns: list[str]) -> bool:
    """Whether a normalised type matches one of a route's patterns (no patterns: any type)."""
    if not patterns:
        return True
    major, minor = content_type.split("/", 1)
    for pattern in patterns:
        p_major, p_minor = parse_pattern(pattern)
        if p_major in ("*", major) and p_minor in ("*", minor):
            return True
    return False

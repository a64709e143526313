"""MIME types and route patterns: parsing, normalising and matching."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_TYPE_RE = re.compile(rf"^({_TOKEN})/({_TOKEN})$")
# What a request's contentType must look like (parameters allowed); also in the OpenAPI schema.
CONTENT_TYPE_PATTERN = rf"^\s*{_TOKEN}/{_TOKEN}\s*(;[^\x00]*)?$"
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


# Types a browser may run script from. A wildcard (``image/*``, ``*/*``, or no patterns at all)
# never admits them; a route must name them exactly.
SCRIPTABLE_TYPES = frozenset({
    "image/svg+xml",
    "text/html",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/ecmascript",
})


def type_allowed(content_type: str, patterns: list[str]) -> bool:
    """Whether a normalised type matches one of a route's patterns (no patterns: any type)."""
    if not patterns:
        return content_type not in SCRIPTABLE_TYPES
    major, minor = content_type.split("/", 1)
    for pattern in patterns:
        p_major, p_minor = parse_pattern(pattern)
        if (p_major, p_minor) == (major, minor):
            return True
        if p_major in ("*", major) and p_minor in ("*", minor):
            if content_type not in SCRIPTABLE_TYPES:
                return True
    return False

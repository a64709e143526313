"""Small validators shared by models, serializers and management commands."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from .mime import parse_pattern


def validate_route_slug(value: str) -> None:
    if not 1 <= len(value) <= 100:
        raise ValidationError("Route slug must be 1-100 characters.")
    if any(ch.isspace() or ch in "/?#%" for ch in value):
        raise ValidationError("Route slug may not contain spaces, '/', '?', '#' or '%'.")


def validate_type_patterns(value: list[str]) -> None:
    if not isinstance(value, list):
        raise ValidationError("Allowed types must be a list of MIME patterns.")
    for pattern in value:
        parse_pattern(pattern)

"""Content types and route patterns."""

import pytest
from django.core.exceptions import ValidationError

from django_uploadkit.mime import normalize_content_type, parse_pattern, type_allowed


@pytest.mark.parametrize("raw,expected", [
    ("image/jpeg", "image/jpeg"),
    ("Image/JPEG; charset=binary", "image/jpeg"),
    (" application/pdf ", "application/pdf"),
    ("jpeg", None),
    ("image/", None),
    ("image/jpeg/x", None),
    ("", None),
])
def test_normalize(raw, expected):
    assert normalize_content_type(raw) == expected


@pytest.mark.parametrize("content_type,patterns,allowed", [
    ("image/png", ["image/*"], True),
    ("image/png", ["application/pdf"], False),
    ("application/pdf", ["image/*", "application/pdf"], True),
    ("video/mp4", [], True),
    ("video/mp4", ["*/*"], True),
])
def test_type_allowed(content_type, patterns, allowed):
    assert type_allowed(content_type, patterns) is allowed


@pytest.mark.parametrize("bad", ["image", "*/png", "image/*/x", ""])
def test_bad_patterns_are_refused(bad):
    with pytest.raises(ValidationError):
        parse_pattern(bad)

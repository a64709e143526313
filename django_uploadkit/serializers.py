"""Request validation and response shapes of the v1 API (the reference text's field names)."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from .conf import uploadkit_settings
from .mime import CONTENT_TYPE_PATTERN

NO_NUL_PATTERN = r"^[^\x00]*$"


class StrictIntegerField(serializers.IntegerField):
    """An integer that arrives as a JSON number: "204800", 204800.5 and true are refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        if isinstance(data, float) and not data.is_integer():
            self.fail("invalid")
        return super().to_internal_value(int(data))


class StrictCharField(serializers.CharField):
    """A JSON string, not a number or boolean coerced to one; never a NUL character.

    The NUL rule is DRF's; stating it as a pattern puts it in the OpenAPI schema too.
    """

    def __init__(self, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validators", []))
        if not any(isinstance(v, RegexValidator) for v in validators):
            validators.append(RegexValidator(NO_NUL_PATTERN, message="NUL is not allowed."))
        kwargs.setdefault("trim_whitespace", False)  # a value is taken as sent
        super().__init__(validators=validators, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Serializer(serializers.Serializer):
    """DRF's Serializer, with the declared fields copied shallowly for each instance.

    DRF deep-copies every declared field per instance, which runs each field's ``__init__``
    again (validators, messages): about 120 us of each upload/request (BENCHMARKS.md, item 1).
    Nothing changes a declared field after the class is made, and ``bind()`` sets the copy's
    own name and parent, so a shallow copy is enough. Nested serializers are still deep-copied:
    their bound fields are part of their state.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field) if isinstance(field, serializers.BaseSerializer) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }

    # Whether validated_from() may reuse one instance per thread: only for a class whose fields
    # do not depend on settings and whose validation reads nothing but the data it is given
    # (no initial_data, no context).
    reuse_instances = False

    @classmethod
    def validated_from(cls, data: Any) -> dict[str, Any]:
        """``cls(data=data)``, ``is_valid(raise_exception=True)``, ``validated_data``: the same
        result and the same ValidationError, on one instance per thread for a class that sets
        ``reuse_instances``.

        Making an instance (copying and binding its fields) cost three times what validating
        with it did: 115 against 30 us per upload/request (BENCHMARKS.md, item 1).
        """
        if cls.reuse_instances:
            bound = _bound.__dict__
            serializer = bound.get(cls)
            if serializer is None:
                serializer = bound[cls] = cls()
            try:
                return serializer.run_validation(data)
            except serializers.ValidationError:
                pass  # refused: worded by is_valid() below (it rewords "no data", for one)
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


_bound = threading.local()


class UploadRequestSerializer(Serializer):
    reuse_instances = True

    fileName = StrictCharField(min_length=1, max_length=255)
    fileSize = StrictIntegerField(min_value=1)
    contentType = StrictCharField(
        min_length=1,
        max_length=255,
        validators=[
            RegexValidator(
                CONTENT_TYPE_PATTERN, message="Expected a MIME type such as image/jpeg."
            )
        ],
    )
    routeSlug = StrictCharField(min_length=1, max_length=100)
    metadata = serializers.DictField(required=False, default=dict)

    def validate_metadata(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected an object.")
        max_depth = uploadkit_settings.METADATA_MAX_DEPTH
        if _depth(value) > max_depth:
            raise serializers.ValidationError(f"Nested deeper than {max_depth} levels.")
        max_bytes = uploadkit_settings.METADATA_MAX_BYTES
        if len(json.dumps(value, separators=(",", ":")).encode()) > max_bytes:
            raise serializers.ValidationError(f"Larger than {max_bytes} bytes as JSON.")
        return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


class UploadCompleteSerializer(Serializer):
    reuse_instances = True

    fileId = StrictCharField(min_length=1, max_length=40)


class FileListQuerySerializer(Serializer):
    cursor = serializers.CharField(required=False, allow_blank=False, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per instance so the bounds follow the settings, in validation and in the schema.
        self.fields["limit"] = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=uploadkit_settings.MAX_PAGE_SIZE,
            help_text=f"Results per page (default {uploadkit_settings.DEFAULT_PAGE_SIZE}).",
        )


class FileSerializer(serializers.Serializer):
    """Documentation of the file shape; ``services.file_to_dict`` builds it."""

    id = serializers.CharField()
    key = serializers.CharField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    type = serializers.CharField()
    url = serializers.CharField()
    status = serializers.CharField()
    createdAt = serializers.CharField()

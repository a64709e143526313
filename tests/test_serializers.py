"""Request validation: ``validated_from`` answers exactly as a new serializer's ``is_valid`` does."""

import threading

import pytest
from rest_framework.exceptions import ValidationError

from django_uploadkit.serializers import (
    FileListQuerySerializer,
    UploadCompleteSerializer,
    UploadRequestSerializer,
)

VALID = {"fileName": "photo.jpg", "fileSize": 204800, "contentType": "image/jpeg", "routeSlug": "imageUploader"}

REQUESTS = [
    VALID,
    {**VALID, "metadata": {"album": "summer", "n": [1, 2]}},
    {**VALID, "fileSize": "204800"},
    {**VALID, "fileSize": 0},
    {**VALID, "fileName": ""},
    {**VALID, "fileName": "a\x00b"},
    {**VALID, "contentType": "not a type"},
    {**VALID, "metadata": []},
    {**VALID, "metadata": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}},
    {"fileName": "photo.jpg"},
    {},
    None,
    [],
    "text",
    42,
]


def is_valid_answer(serializer_class, data):
    """What DRF's own path gives: validated data, or the ValidationError's detail."""
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return "valid", serializer.validated_data
    with pytest.raises(ValidationError) as raised:
        serializer_class(data=data).is_valid(raise_exception=True)
    return "invalid", raised.value.detail


def validated_from_answer(serializer_class, data):
    try:
        return "valid", serializer_class.validated_from(data)
    except ValidationError as exc:
        return "invalid", exc.detail


@pytest.mark.parametrize("data", REQUESTS, ids=repr)
def test_upload_request_validation_is_the_same_as_is_valid(data):
    # Twice: the second call runs on the instance the first one made.
    for _ in range(2):
        assert validated_from_answer(UploadRequestSerializer, data) == is_valid_answer(UploadRequestSerializer, data)


@pytest.mark.parametrize("data", [{"fileId": "file_1"}, {"fileId": ""}, {"fileId": 7}, {}, None])
def test_upload_complete_validation_is_the_same_as_is_valid(data):
    assert validated_from_answer(UploadCompleteSerializer, data) == is_valid_answer(UploadCompleteSerializer, data)


def test_no_data_at_all_is_worded_as_drf_words_it():
    with pytest.raises(ValidationError) as raised:
        UploadRequestSerializer.validated_from(None)
    assert raised.value.detail == {"non_field_errors": ["No data provided"]}


def test_one_answer_does_not_leak_into_the_next():
    with pytest.raises(ValidationError):
        UploadRequestSerializer.validated_from({**VALID, "fileSize": -1, "metadata": {"x": 1}})
    assert UploadRequestSerializer.validated_from(VALID) == {**VALID, "metadata": {}}


def test_fields_built_from_settings_follow_every_change(settings):
    # FileListQuerySerializer builds its limit from settings, so no instance is kept for it:
    # even a change made in place, which sends no signal, is seen.
    assert FileListQuerySerializer.validated_from({"limit": "80"}) == {"limit": 80}
    settings.UPLOADKIT = {"MAX_PAGE_SIZE": 100}
    settings.UPLOADKIT["MAX_PAGE_SIZE"] = 50
    with pytest.raises(ValidationError) as raised:
        FileListQuerySerializer.validated_from({"limit": "80"})
    assert "limit" in raised.value.detail


def test_a_field_named_data_is_not_taken_for_a_validator():
    # DRF calls validate_<field name>(value) for each field: the classmethod must not match one.
    from rest_framework import serializers as drf

    from django_uploadkit.serializers import Serializer

    class WithData(Serializer):
        data = drf.CharField()

    assert WithData.validated_from({"data": "x"}) == {"data": "x"}


def test_threads_validating_at_once_each_get_their_own_answers():
    errors = []

    def validate(name):
        for i in range(300):
            data = {**VALID, "fileName": f"{name}-{i}.jpg", "fileSize": i + 1}
            got = UploadRequestSerializer.validated_from(data)
            if got != {**data, "metadata": {}}:
                errors.append((data, got))

    threads = [threading.Thread(target=validate, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

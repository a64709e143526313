"""Request validation: ``validate_data`` answers exactly as a new serializer's ``is_valid`` does."""

import threading

import pytest
from django.test import override_settings
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


def validate_data_answer(serializer_class, data):
    try:
        return "valid", serializer_class.validate_data(data)
    except ValidationError as exc:
        return "invalid", exc.detail


@pytest.mark.parametrize("data", REQUESTS, ids=repr)
def test_upload_request_validation_is_the_same_as_is_valid(data):
    # Twice: the second call runs on the instance the first one made.
    for _ in range(2):
        assert validate_data_answer(UploadRequestSerializer, data) == is_valid_answer(UploadRequestSerializer, data)


@pytest.mark.parametrize("data", [{"fileId": "file_1"}, {"fileId": ""}, {"fileId": 7}, {}, None])
def test_upload_complete_validation_is_the_same_as_is_valid(data):
    assert validate_data_answer(UploadCompleteSerializer, data) == is_valid_answer(UploadCompleteSerializer, data)


def test_no_data_at_all_is_worded_as_drf_words_it():
    with pytest.raises(ValidationError) as raised:
        UploadRequestSerializer.validate_data(None)
    assert raised.value.detail == {"non_field_errors": ["No data provided"]}


def test_one_answer_does_not_leak_into_the_next():
    with pytest.raises(ValidationError):
        UploadRequestSerializer.validate_data({**VALID, "fileSize": -1, "metadata": {"x": 1}})
    assert UploadRequestSerializer.validate_data(VALID) == {**VALID, "metadata": {}}


def test_a_settings_change_reaches_fields_built_from_settings():
    assert FileListQuerySerializer.validate_data({"limit": "80"}) == {"limit": 80}
    with override_settings(UPLOADKIT={"MAX_PAGE_SIZE": 50}):
        with pytest.raises(ValidationError) as raised:
            FileListQuerySerializer.validate_data({"limit": "80"})
        assert "limit" in raised.value.detail
    assert FileListQuerySerializer.validate_data({"limit": "80"}) == {"limit": 80}


def test_threads_validating_at_once_each_get_their_own_answers():
    errors = []

    def validate(name):
        for i in range(300):
            data = {**VALID, "fileName": f"{name}-{i}.jpg", "fileSize": i + 1}
            got = UploadRequestSerializer.validate_data(data)
            if got != {**data, "metadata": {}}:
                errors.append((data, got))

    threads = [threading.Thread(target=validate, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

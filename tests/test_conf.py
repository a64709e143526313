"""UPLOADKIT settings: defaults, overrides, and unknown names refused."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_uploadkit.conf import DEFAULTS, uploadkit_settings


def test_a_name_left_out_has_its_default_and_a_name_given_wins(settings):
    settings.UPLOADKIT = {"DEFAULT_PAGE_SIZE": 7}
    assert uploadkit_settings.DEFAULT_PAGE_SIZE == 7
    assert uploadkit_settings.MAX_PAGE_SIZE == DEFAULTS["MAX_PAGE_SIZE"]


def test_an_unknown_name_is_refused_on_every_read_until_it_is_fixed(settings):
    settings.UPLOADKIT = {"DEFAULT_PAGE_SIZ": 7}
    for _ in range(2):
        with pytest.raises(ImproperlyConfigured, match="DEFAULT_PAGE_SIZ"):
            uploadkit_settings.DEFAULT_PAGE_SIZE
    settings.UPLOADKIT = {"DEFAULT_PAGE_SIZE": 7}
    assert uploadkit_settings.DEFAULT_PAGE_SIZE == 7
    settings.UPLOADKIT = {"DEFAULT_PAGE_SIZE": 7, "NOPE": 1}  # a new dict is checked again
    with pytest.raises(ImproperlyConfigured, match="NOPE"):
        uploadkit_settings.DEFAULT_PAGE_SIZE


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError):
        uploadkit_settings.NO_SUCH_SETTING

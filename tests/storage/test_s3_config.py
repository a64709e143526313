"""Configured the django-storages way; mistakes reported at startup by system checks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_uploadkit.exceptions import ConfigurationError
from django_uploadkit.storage import get_backend
from django_uploadkit.storage.s3 import S3Backend

from .conftest import ACCESS_KEY, SECRET_KEY, s3_options


@pytest.fixture
def no_ambient_credentials(monkeypatch):
    """Credentials only from what a test configures: no env, no ~/.aws, no instance role."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_S3_ACCESS_KEY_ID", "AWS_S3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def use_s3(settings, **options):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE": "s3", "STORAGE_OPTIONS": options}


def check_ids(**kwargs) -> list[str]:
    return [message.id for message in run_checks(**kwargs)]


def test_an_unknown_option_is_a_configuration_error_naming_it(settings, s3_server):
    use_s3(settings, **s3_options(s3_server, bukcet_name="typo"))
    with pytest.raises(ConfigurationError, match="bukcet_name") as excinfo:
        get_backend()
    assert isinstance(excinfo.value, ImproperlyConfigured)
    assert "uploadkit.E001" in check_ids()


def test_a_signature_version_that_cannot_sign_the_length_is_refused(settings, s3_server):
    use_s3(settings, **s3_options(s3_server, signature_version="s3"))
    with pytest.raises(ConfigurationError, match="s3v4"):
        get_backend()


def test_the_aws_settings_of_django_storages_are_reused(settings, s3_server):
    settings.AWS_STORAGE_BUCKET_NAME = s3_server.bucket
    settings.AWS_S3_ENDPOINT_URL = s3_server.endpoint_url
    settings.AWS_ACCESS_KEY_ID = ACCESS_KEY
    settings.AWS_SECRET_ACCESS_KEY = SECRET_KEY
    settings.AWS_S3_REGION_NAME = s3_server.region
    settings.AWS_S3_CUSTOM_DOMAIN = "cdn.example.test"
    use_s3(settings)
    backend = get_backend()
    assert isinstance(backend, S3Backend) and backend.bucket_name == s3_server.bucket
    assert backend.url("uploads/a/b.jpg") == "https://cdn.example.test/uploads/a/b.jpg"
    backend.check_bucket()  # the credentials were taken too: the server accepted them


def test_an_s3_entry_in_storages_is_reused_and_options_override_it(settings, s3_server):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_options(s3_server, custom_domain="media.example.test"),
        },
    }
    use_s3(settings)
    assert get_backend().url("uploads/a/b.jpg") == "https://media.example.test/uploads/a/b.jpg"
    use_s3(settings, custom_domain="uploads.example.test")
    assert get_backend().url("uploads/a/b.jpg") == "https://uploads.example.test/uploads/a/b.jpg"
    get_backend().check_bucket()


def test_a_correct_configuration_passes_every_check(settings, s3_server):
    use_s3(settings, **s3_options(s3_server))
    call_command("check", "--deploy", "--fail-level", "ERROR", stdout=StringIO())
    assert not {"uploadkit.E002", "uploadkit.E003", "uploadkit.E004"} & set(
        check_ids(include_deployment_checks=True)
    )


def test_a_missing_bucket_name_is_reported_at_startup(settings, s3_server):
    options = s3_options(s3_server)
    del options["bucket_name"]
    use_s3(settings, **options)
    with pytest.raises(SystemCheckError, match="uploadkit.E002"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_missing_credentials_are_reported_at_startup(settings, s3_server, no_ambient_credentials):
    options = s3_options(s3_server)
    del options["access_key"], options["secret_key"]
    use_s3(settings, **options)
    with pytest.raises(SystemCheckError, match="uploadkit.E003"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_a_bucket_that_does_not_exist_is_reported_by_check_deploy(settings, s3_server):
    use_s3(settings, **s3_options(s3_server, bucket_name="no-such-bucket"))
    assert "uploadkit.E004" not in check_ids()  # no network call on every startup
    with pytest.raises(SystemCheckError, match="uploadkit.E004.*no-such-bucket"):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())


def test_unreachable_storage_is_a_deploy_warning(settings, s3_server):
    use_s3(settings, **s3_options(s3_server, endpoint_url="http://127.0.0.1:9"))
    assert "uploadkit.W001" in check_ids(include_deployment_checks=True)


def test_the_local_backend_is_not_checked_for_s3_settings():
    assert not {"uploadkit.E002", "uploadkit.E003"} & set(check_ids())

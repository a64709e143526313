"""API keys: shown once, stored only as a keyed hash, found by prefix, revocable, expiring."""

from datetime import timedelta

import pytest
from django.utils import timezone

from django_uploadkit.exceptions import InvalidApiKey
from django_uploadkit.keys import authenticate_key, create_api_key, hash_key, revoke_api_key
from django_uploadkit.models import ApiKey


def test_a_live_key_has_the_documented_form_and_only_its_hash_is_stored(project):
    issued = create_api_key(project)
    assert issued.plaintext.startswith("uk_live_")
    assert len(issued.plaintext) == len("uk_live_") + 40
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.plaintext not in (row.prefix, row.hashed_key)
    assert row.hashed_key == hash_key(issued.plaintext)
    assert issued.plaintext.startswith(row.prefix)


def test_test_keys_start_with_uk_test(project):
    assert create_api_key(project, environment="test").plaintext.startswith("uk_test_")


def test_two_keys_never_share_a_secret_or_prefix(project):
    a, b = create_api_key(project), create_api_key(project)
    assert a.plaintext != b.plaintext and a.api_key.prefix != b.api_key.prefix


def test_a_key_authenticates_to_its_own_project(project):
    issued = create_api_key(project)
    assert authenticate_key(issued.plaintext).project == project


@pytest.mark.parametrize("mangle", [
    lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # right prefix, wrong secret
    lambda k: k[:-1],  # too short
    lambda k: "uk_prod_" + k[8:],  # unknown environment
    lambda k: "",
])
def test_a_wrong_key_is_refused(project, mangle):
    issued = create_api_key(project)
    with pytest.raises(InvalidApiKey):
        authenticate_key(mangle(issued.plaintext))


def test_a_revoked_key_is_refused(project):
    issued = create_api_key(project)
    revoke_api_key(issued.api_key)
    with pytest.raises(InvalidApiKey, match="revoked"):
        authenticate_key(issued.plaintext)


def test_an_expired_key_is_refused(project):
    issued = create_api_key(project, expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidApiKey, match="expired"):
        authenticate_key(issued.plaintext)


def test_last_used_is_written_once_per_interval_not_on_every_request(
    project, django_assert_num_queries
):
    issued = create_api_key(project)
    with django_assert_num_queries(2):  # lookup + the one last_used_at update
        authenticate_key(issued.plaintext)
    first = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # lookup only
        authenticate_key(issued.plaintext)
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at == first


def test_last_used_is_refreshed_after_the_interval(project):
    issued = create_api_key(project)
    old = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(last_used_at=old)
    authenticate_key(issued.plaintext)
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at > old


def test_the_stored_hash_is_hmac_sha256_of_the_key_under_the_secret(settings):
    # Keys already issued are stored under this hash: changing it would lock every client out.
    import hashlib
    import hmac

    settings.UPLOADKIT = {"SECRET": "a-fixed-secret"}
    plaintext = "uk_live_" + "A1b2" * 8
    expected = hmac.new(b"a-fixed-secret", plaintext.encode(), hashlib.sha256).hexdigest()
    assert hash_key(plaintext) == expected

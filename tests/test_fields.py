"""Webhook secrets are encrypted at rest: the database never holds them in the clear."""

import pytest
from django.db import connection

from django_uploadkit.fields import encrypt
from django_uploadkit.models import Project
from django_uploadkit.webhook_delivery import rotate_webhook_secret


def stored(project, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {Project._meta.db_table} WHERE id = %s", [project.pk])
        return cursor.fetchone()[0]


def test_the_secret_is_ciphertext_in_the_database_and_plain_in_python(project):
    secret = rotate_webhook_secret(project)
    raw = stored(project, "webhook_secret")
    assert secret.startswith("whsec_") and secret not in raw and raw.startswith("fernet:")
    assert Project.objects.get(pk=project.pk).webhook_secret == secret


def test_the_previous_secret_is_encrypted_too(project):
    first = rotate_webhook_secret(project)
    second = rotate_webhook_secret(project)
    assert first not in stored(project, "webhook_secret_previous")
    fresh = Project.objects.get(pk=project.pk)
    assert (fresh.webhook_secret, fresh.webhook_secret_previous) == (second, first)


def test_a_secret_written_before_encryption_is_still_read(project):
    Project.objects.filter(pk=project.pk).update(webhook_secret="")
    with connection.cursor() as cursor:  # a plain row, as before migration 0003
        cursor.execute(f"UPDATE {Project._meta.db_table} SET webhook_secret = %s WHERE id = %s",
                       ["whsec_b2xkLXBsYWluLXNlY3JldA==", project.pk])
    assert Project.objects.get(pk=project.pk).webhook_secret == "whsec_b2xkLXBsYWluLXNlY3JldA=="


def test_a_changed_key_is_a_clear_error_and_fallbacks_still_read(project, settings):
    token = encrypt("whsec_c2VjcmV0")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Project._meta.db_table} SET webhook_secret = %s WHERE id = %s",
                       [token, project.pk])
    assert Project.objects.get(pk=project.pk).webhook_secret == "whsec_c2VjcmV0"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ValueError, match="SECRET_KEY_FALLBACKS"):
        Project.objects.get(pk=project.pk)


def test_a_secret_read_under_the_old_key_is_not_served_from_the_cache_after_a_change(project, settings):
    token = encrypt("whsec_b2xk")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Project._meta.db_table} SET webhook_secret = %s WHERE id = %s",
                       [token, project.pk])
    assert Project.objects.get(pk=project.pk).webhook_secret == "whsec_b2xk"
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    with pytest.raises(ValueError, match="SECRET_KEY_FALLBACKS"):
        Project.objects.get(pk=project.pk)


def test_loading_a_project_again_does_not_decrypt_its_secret_again(project):
    from django_uploadkit.fields import _decrypt

    project.webhook_secret = "whsec_c2FtZQ=="
    project.save()
    Project.objects.get(pk=project.pk)
    before = _decrypt.cache_info()
    assert Project.objects.get(pk=project.pk).webhook_secret == "whsec_c2FtZQ=="
    after = _decrypt.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 0)

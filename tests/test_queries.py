"""Compiled queries: the same rows and instances as the ORM, one query each, SQL built once."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from django_uploadkit.models import ApiKey, File, Project
from django_uploadkit.queries import CompiledSelect, insert_one

BY_PREFIX = CompiledSelect(
    lambda prefix: ApiKey.objects.select_related("project").filter(prefix=prefix).order_by(),
    "prefix",
)


def fields_of(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_a_compiled_select_gives_what_the_queryset_gives(project, issued_key):
    project.webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # stored encrypted
    project.save()
    expected = ApiKey.objects.select_related("project").get(prefix=issued_key.api_key.prefix)
    got = BY_PREFIX.first("default", prefix=issued_key.api_key.prefix)
    assert fields_of(got) == fields_of(expected)
    assert fields_of(got.project) == fields_of(expected.project)
    assert got.project.webhook_secret.startswith("whsec_")  # decrypted by the field, as always
    assert got._state.db == "default" and not got._state.adding


def test_each_run_binds_its_own_value(project, issued_key):
    from django_uploadkit.keys import create_api_key

    other = create_api_key(project, name="other").api_key
    assert BY_PREFIX.first("default", prefix=other.prefix).pk == other.pk
    assert BY_PREFIX.first("default", prefix=issued_key.api_key.prefix).pk == issued_key.api_key.pk
    assert BY_PREFIX.first("default", prefix="uk_live_nosuchke") is None


def test_a_compiled_select_is_one_query(project, issued_key, django_assert_num_queries):
    BY_PREFIX.first("default", prefix=issued_key.api_key.prefix)
    with django_assert_num_queries(1):
        BY_PREFIX.first("default", prefix=issued_key.api_key.prefix)


def test_a_compiled_select_binds_strings_only(db):
    with pytest.raises(TypeError):
        BY_PREFIX.first("default", prefix=1)


def test_a_value_that_never_reaches_the_sql_is_refused_when_compiled(db):
    ignoring = CompiledSelect(lambda prefix: ApiKey.objects.filter(name="x"), "prefix")
    with pytest.raises(ValueError):
        ignoring.first("default", prefix="uk_live_x")


def new_file(project, route, key="uploads/a/photo.jpg", **kwargs):
    values = dict(project=project, route=route, key=key, name="photo.jpg", size=3,
                  content_type="image/jpeg", metadata={"a": [1, "é"]})
    values.update(kwargs)
    return File(**values)


def test_insert_one_writes_the_row_save_would_write(project, route, django_assert_num_queries):
    insert_one(new_file(project, route, key="uploads/warm/x.jpg"))  # builds the SQL
    file = new_file(project, route)
    with django_assert_num_queries(1):
        insert_one(file)
    assert not file._state.adding and file._state.db == "default"
    stored = File.objects.get(pk=file.pk)
    assert fields_of(stored) == fields_of(file)
    assert stored.metadata == {"a": [1, "é"]} and stored.status == File.Status.PENDING


def test_insert_one_still_sends_the_save_signals_when_someone_listens(project, route):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append((kwargs.get("created"), instance.key))

    pre_save.connect(receiver, sender=File)
    post_save.connect(receiver, sender=File)
    try:
        insert_one(new_file(project, route))
    finally:
        pre_save.disconnect(receiver, sender=File)
        post_save.disconnect(receiver, sender=File)
    assert seen == [(None, "uploads/a/photo.jpg"), (True, "uploads/a/photo.jpg")]
    assert File.objects.filter(key="uploads/a/photo.jpg").count() == 1


def test_insert_one_sets_what_the_database_makes_as_save_does(db, django_assert_num_queries):
    insert_one(Project(name="W", slug="w"))  # builds the SQL
    project = Project(name="P", slug="p", created_at=timezone.now())
    with django_assert_num_queries(1):
        insert_one(project)
    assert project.pk is not None and not project._state.adding
    assert fields_of(Project.objects.get(pk=project.pk)) == fields_of(project)
    other = Project(name="Q", slug="q")
    insert_one(other)
    assert other.pk > project.pk


def test_a_failed_insert_raises_and_marks_the_transaction_for_rollback(project, route):
    insert_one(new_file(project, route))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_one(new_file(project, route))  # the same (project, key)
        # As with save(): the caller's transaction can only roll back now.
        assert connection.needs_rollback
    assert File.objects.filter(key="uploads/a/photo.jpg").count() == 1


def test_an_insert_inside_a_transaction_that_rolls_back_leaves_nothing(project, route):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            insert_one(new_file(project, route))
            raise RuntimeError
    assert not File.objects.exists()


def test_plans_do_not_keep_a_finished_threads_connection_alive(db):
    import gc
    import threading
    import weakref

    from django.db import connections

    refs = []

    def in_thread():
        connection = connections["default"]
        BY_PREFIX.first("default", prefix="uk_live_nosuchke")  # a plan on this connection
        refs.append(weakref.ref(connection))
        connection.close()

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    del thread
    gc.collect()
    assert refs and refs[0]() is None


def test_a_guarded_insert_never_truncates_a_value_too_long(project, route):
    from django.db import DataError

    file = new_file(project, route, name="x" * 300)  # the column holds 255
    try:
        inserted = insert_one(file, guard=("1 = 1", []))
    except DataError:
        assert connection.vendor == "postgresql"  # refused, as INSERT ... VALUES refuses it
        return
    assert inserted and connection.vendor == "sqlite"  # SQLite keeps text whole
    assert File.objects.get(pk=file.pk).name == "x" * 300

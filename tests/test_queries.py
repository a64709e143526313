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


# -- CompiledUpdate ----------------------------------------------------------------------------

from datetime import timedelta  # noqa: E402

from django.db.models import Q  # noqa: E402

from django_uploadkit.models import WebhookEvent  # noqa: E402
from django_uploadkit.queries import CompiledUpdate  # noqa: E402

Status = WebhookEvent.Status
built = []


def claim_query(pk, now, lease):
    built.append(pk)
    return (
        WebhookEvent.objects.filter(pk=pk, status=Status.PENDING).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        ),
        {"lease_until": lease},
    )


CLAIM = CompiledUpdate(WebhookEvent, claim_query, pk="id", now="lease_until", lease="lease_until")
FINISH = CompiledUpdate(
    WebhookEvent,
    lambda pk, attempts, status, next_attempt_at: (
        WebhookEvent.objects.filter(pk=pk),
        {"attempts": attempts, "status": status, "lease_until": None, "next_attempt_at": next_attempt_at},
    ),
    pk="id", attempts="attempts", status="status", next_attempt_at="next_attempt_at",
)


def event(project, pk, **kwargs):
    return WebhookEvent.objects.create(id=pk, project=project, event_type="file.uploaded", body="{}", **kwargs)


def test_a_compiled_update_changes_the_rows_the_queryset_would(project):
    now = timezone.now()
    lease = now + timedelta(seconds=60)
    cases = {
        "msg_free": {},
        "msg_lapsed": {"lease_until": now - timedelta(seconds=1)},
        "msg_leased": {"lease_until": now + timedelta(seconds=5)},
        "msg_done": {"status": Status.DELIVERED},
    }
    for pk, kwargs in cases.items():
        event(project, pk, **kwargs)
    expected = {pk: WebhookEvent.objects.filter(pk=pk).filter(
        pk__in=claim_query(pk, now, lease)[0].values("pk")).exists() for pk in cases}
    got = {pk: CLAIM.run("default", pk=pk, now=now, lease=lease) for pk in cases}
    assert expected == {"msg_free": True, "msg_lapsed": True, "msg_leased": False, "msg_done": False}
    assert got == {pk: int(claimable) for pk, claimable in expected.items()}
    leases = dict(WebhookEvent.objects.values_list("pk", "lease_until"))
    assert leases["msg_free"] == leases["msg_lapsed"] == lease
    assert leases["msg_leased"] == cases["msg_leased"]["lease_until"]


def test_a_compiled_update_sets_none_as_null_and_binds_each_run_its_own_values(project):
    later = timezone.now() + timedelta(hours=1)
    event(project, "msg_a", lease_until=timezone.now())
    event(project, "msg_b")
    assert FINISH.run("default", pk="msg_a", attempts=3, status=Status.PENDING, next_attempt_at=later) == 1
    assert FINISH.run("default", pk="msg_b", attempts=1, status=Status.DELIVERED, next_attempt_at=None) == 1
    assert FINISH.run("default", pk="msg_none", attempts=1, status=Status.FAILED, next_attempt_at=None) == 0
    rows = {e.pk: (e.attempts, e.status, e.lease_until, e.next_attempt_at) for e in WebhookEvent.objects.all()}
    assert rows == {"msg_a": (3, "PENDING", None, later), "msg_b": (1, "DELIVERED", None, None)}


def test_a_compiled_update_is_one_query_built_once_per_connection(project, django_assert_num_queries):
    event(project, "msg_once")
    now = timezone.now()
    CLAIM.run("default", pk="msg_once", now=now, lease=now)
    builds = len(built)
    with django_assert_num_queries(1):
        CLAIM.run("default", pk="msg_once", now=now + timedelta(seconds=1), lease=now)
    assert len(built) == builds


def test_none_is_refused_where_the_orm_would_compare_with_is_null(project):
    with pytest.raises(TypeError):
        CLAIM.run("default", pk="msg_x", now=None, lease=timezone.now())


def test_a_failed_update_marks_the_transaction_for_rollback(project):
    event(project, "msg_first")
    event(project, "msg_checked")
    with transaction.atomic():
        FINISH.run("default", pk="msg_first", attempts=2, status=Status.FAILED, next_attempt_at=None)
        with pytest.raises(IntegrityError):  # attempts is a PositiveIntegerField: CHECK >= 0
            FINISH.run("default", pk="msg_checked", attempts=-1, status=Status.FAILED, next_attempt_at=None)
        # The caller caught the error: the block ends in a rollback, not a half-done commit.
    assert list(WebhookEvent.objects.order_by("pk").values_list("pk", "attempts")) == [
        ("msg_checked", 0), ("msg_first", 0)]


@pytest.mark.parametrize("condition, refusal", [
    ("project__slug", TypeError),  # a join: updates of one table only
    ("event_type__startswith", ValueError),  # a LIKE pattern made from the value: frozen in a plan
], ids=["join", "transformed value"])
def test_updates_it_cannot_compile_faithfully_are_refused(project, condition, refusal):
    refused = CompiledUpdate(
        WebhookEvent,
        lambda value: (WebhookEvent.objects.filter(**{condition: value}), {"attempts": 1}),
        value="id",
    )
    with pytest.raises(refusal):
        refused.run("default", value="acme")


def test_an_integer_condition_keeps_its_meaning(project):
    # A placeholder outside the column's range would have made Django drop `attempts > n`.
    event(project, "msg_few", attempts=1)
    event(project, "msg_many", attempts=9)
    over = CompiledUpdate(
        WebhookEvent,
        lambda n, status: (WebhookEvent.objects.filter(attempts__gt=n), {"status": status}),
        n="attempts", status="status",
    )
    assert over.run("default", n=5, status=Status.FAILED) == 1
    assert dict(WebhookEvent.objects.values_list("pk", "status")) == {"msg_few": "PENDING", "msg_many": "FAILED"}


def set_status(rows):
    """CompiledUpdate of ``rows(WebhookEvent.objects)``, setting the status."""
    return CompiledUpdate(
        WebhookEvent, lambda status: (rows(WebhookEvent.objects), {"status": status}), status="status"
    )


def test_an_update_without_a_condition_updates_every_row(project):
    event(project, "msg_1")
    event(project, "msg_2")
    assert set_status(lambda events: events.all()).run("default", status=Status.FAILED) == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"FAILED"}


def test_a_sliced_queryset_is_refused_as_update_refuses_it(project):
    with pytest.raises(TypeError):
        set_status(lambda events: events.all()[:1]).run("default", status=Status.FAILED)


# -- update_then_select, insert_one_then_update -------------------------------------------------

from django_uploadkit.models import WebhookDelivery  # noqa: E402
from django_uploadkit.queries import insert_one_then_update, update_then_select  # noqa: E402

EVENT_WITH_PROJECT = CompiledSelect(
    lambda pk: WebhookEvent.objects.select_related("project").filter(pk=pk).order_by(), "pk"
)
#: One round trip where the database can merge the two statements (PostgreSQL), else two.
STATEMENTS = 1 if connection.vendor == "postgresql" else 2


def test_update_then_select_reads_the_row_it_claimed_as_it_is_after(project, django_assert_num_queries):
    now = timezone.now()
    lease = now + timedelta(seconds=60)
    event(project, "msg_free")
    held = now + timedelta(seconds=5)
    event(project, "msg_held", lease_until=held)
    claim = {"now": now, "lease": lease}
    update_then_select(CLAIM, EVENT_WITH_PROJECT, "default", {"pk": "msg_free", **claim}, {"pk": "msg_free"})

    later = lease + timedelta(seconds=1)  # the first lease has lapsed
    with django_assert_num_queries(STATEMENTS):
        [claimed] = update_then_select(CLAIM, EVENT_WITH_PROJECT, "default",
                                       {"pk": "msg_free", "now": later, "lease": later + timedelta(seconds=60)},
                                       {"pk": "msg_free"})
    with django_assert_num_queries(0):
        assert claimed.project == project  # read with it
    assert claimed.pk == "msg_free" and claimed.lease_until == later + timedelta(seconds=60)
    assert WebhookEvent.objects.get(pk="msg_free").lease_until == claimed.lease_until

    with django_assert_num_queries(1):  # nothing claimed: nothing read
        assert update_then_select(CLAIM, EVENT_WITH_PROJECT, "default",
                                  {"pk": "msg_held", **claim}, {"pk": "msg_held"}) == []
    assert WebhookEvent.objects.get(pk="msg_held").lease_until == held


def attempt(pk, number=1):
    return WebhookDelivery(event_id=pk, attempt=number, url="https://example.com/hooks",
                           attempted_at=timezone.now(), status_code=200, succeeded=True)


def test_insert_one_then_update_writes_the_row_and_the_update(project, django_assert_num_queries):
    event(project, "msg_warm")
    insert_one_then_update(attempt("msg_warm"), FINISH, "default", pk="msg_warm", attempts=1,
                           status=Status.DELIVERED, next_attempt_at=None)  # builds the SQL
    event(project, "msg_one", lease_until=timezone.now())
    delivery = attempt("msg_one")
    with django_assert_num_queries(STATEMENTS):
        updated = insert_one_then_update(delivery, FINISH, "default", pk="msg_one", attempts=1,
                                         status=Status.DELIVERED, next_attempt_at=None)
    assert updated == 1
    assert delivery.pk is not None and not delivery._state.adding  # as save() leaves it
    assert WebhookDelivery.objects.get(pk=delivery.pk).event_id == "msg_one"
    row = WebhookEvent.objects.get(pk="msg_one")
    assert (row.attempts, row.status, row.lease_until) == (1, "DELIVERED", None)


@pytest.mark.django_db(transaction=True)  # the attempt's foreign key is checked at the commit
@pytest.mark.parametrize("case", ["the update fails", "the event is gone"])
def test_insert_one_then_update_writes_neither_when_one_fails(project, case):
    event(project, "msg_kept")
    pk, attempts = ("msg_kept", -1) if case == "the update fails" else ("msg_gone", 1)
    with pytest.raises(IntegrityError), transaction.atomic():  # a CHECK; the attempt's foreign key
        insert_one_then_update(attempt(pk), FINISH, "default", pk=pk, attempts=attempts,
                               status=Status.FAILED, next_attempt_at=None)
    assert not WebhookDelivery.objects.exists()
    assert WebhookEvent.objects.get(pk="msg_kept").attempts == 0

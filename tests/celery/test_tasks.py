"""Object deletion and the expiry sweep, run by a real Celery worker (and in-process)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_uploadkit import services, tasks
from django_uploadkit.models import File, OutboxMessage
from django_uploadkit.storage import get_backend

from .backends import DOWN_MARKER, delete_calls
from .conftest import wait_until, written_ago

pytestmark = pytest.mark.django_db(transaction=True)

Status = File.Status


def put_object(key: str, data: bytes = b"x") -> Path:
    backend = get_backend()
    path = Path(backend.storage.path(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_files(project, route, count: int, *, status=Status.UPLOADED, age=timedelta(0),
               with_objects: bool = True) -> list[File]:
    created = timezone.now() - age
    files = [
        File(project=project, route=route, key=services.new_object_key(f"f{i}.png"),
             name=f"f{i}.png", size=1, content_type="image/png", status=status,
             created_at=created)
        for i in range(count)
    ]
    File.objects.bulk_create(files, batch_size=1000)
    if with_objects:
        for file in files:
            put_object(file.key)
    return files


def drain_in_process_if_inline(runner: str) -> None:
    """The embedded default has no beat: a deletion that failed in-process waits in the outbox
    until the drain runs (here the command, as cron would run it)."""
    if runner == "inline":
        call_command("uploadkit_drain_outbox", "--all", stdout=StringIO())


def test_deletion_while_storage_is_unreachable_completes_once_it_is_back(
    runner, storage_root, api, upload, request
):
    file = upload()
    path = Path(get_backend().storage.path(file["key"]))
    assert path.exists()
    marker = storage_root / DOWN_MARKER
    marker.touch()
    try:
        response = api.delete(f"/api/v1/files/{file['key']}")
        assert response.status_code == 200
        row = File.objects.get(pk=file["id"])
        assert row.status == Status.DELETED and row.deleted_at is not None
        assert api.get("/api/v1/files").json()["files"] == []  # gone from listings at once
        if runner == "worker":
            # The worker keeps trying (with backoff) while storage fails.
            worker = request.getfixturevalue("celery_worker")
            wait_until(
                lambda: worker.log().count(f"retrying in") >= 2 and file["key"] not in
                "".join(map(str, delete_calls(storage_root, [file["key"]]))),
                what="retries while storage is down",
            )
        else:
            assert OutboxMessage.objects.filter(task=tasks.delete_objects.name).exists()
        assert path.exists()
    finally:
        marker.unlink()
    drain_in_process_if_inline(runner)
    wait_until(lambda: not path.exists(), what="the object's removal")
    assert File.objects.get(pk=file["id"]).status == Status.DELETED
    wait_until(lambda: not OutboxMessage.objects.exists(), what="an empty outbox")


def test_deleting_2500_files_makes_3_batch_calls(runner, storage_root, project, route):
    files = make_files(project, route, 2500)
    keys = [f.key for f in files]
    assert services.delete_files(File.objects.filter(project=project)) == 2500
    assert File.objects.filter(status=Status.DELETED).count() == 2500

    calls = wait_until(
        lambda: (c := delete_calls(storage_root, keys)) and sum(map(len, c)) == 2500 and c,
        what="3 batches",
    )
    assert sorted(len(c) for c in calls) == [500, 1000, 1000]
    wait_until(
        lambda: not any(Path(get_backend().storage.path(k)).exists() for k in keys),
        what="all objects removed",
    )
    assert len(delete_calls(storage_root, keys)) == 3


def test_deleting_an_object_already_gone_is_harmless(runner, storage_root, project, route):
    (file,) = make_files(project, route, 1, with_objects=False)
    services.delete_files([file])
    wait_until(lambda: delete_calls(storage_root, [file.key]), what="the deletion")
    assert not OutboxMessage.objects.exists()
    assert len(delete_calls(storage_root, [file.key])) == 1  # done, not retried


def test_sweep_expires_stale_pending_files_and_leaves_fresh_ones(
    runner, storage_root, project, route
):
    lifetime = services.upload_url_lifetime()
    stale = make_files(project, route, 3, status=Status.PENDING,
                       age=timedelta(seconds=lifetime + 16 * 60))
    fresh = make_files(project, route, 2, status=Status.PENDING, age=timedelta(minutes=1))
    done = make_files(project, route, 1, status=Status.UPLOADED, age=timedelta(days=2))

    # The periodic task, sent through the broker to the worker (or run in-process).
    tasks.expire_uploads.delay()

    wait_until(
        lambda: File.objects.filter(status=Status.EXPIRED).count() == 3, what="expiry"
    )
    assert set(File.objects.filter(status=Status.EXPIRED).values_list("pk", flat=True)) == {
        f.pk for f in stale
    }
    for file in stale:  # the stray objects a client uploaded but never completed
        wait_until(lambda: not Path(get_backend().storage.path(file.key)).exists())
    for file in fresh + done:
        assert Path(get_backend().storage.path(file.key)).exists()
        assert File.objects.get(pk=file.pk).status == file.status


def test_the_expire_command_runs_the_same_sweep(runner, storage_root, project, route):
    lifetime = services.upload_url_lifetime()
    (stale,) = make_files(project, route, 1, status=Status.PENDING,
                          age=timedelta(seconds=lifetime + 16 * 60))
    (fresh,) = make_files(project, route, 1, status=Status.PENDING)
    out = StringIO()
    call_command("uploadkit_expire", stdout=out)
    assert "Expired 1 upload(s)." in out.getvalue()
    wait_until(lambda: not Path(get_backend().storage.path(stale.key)).exists())
    assert File.objects.get(pk=fresh.pk).status == Status.PENDING


def test_deletions_committed_one_by_one_are_sent_in_one_batch(
    runner, storage_root, project, route, api, settings
):
    """Ten API deletions, ten commits: with a broker the outbox gathers their keys into one
    delete_many call (sent once they stopped arriving); in-process each is sent at once."""
    files = make_files(project, route, 10)
    keys = [f.key for f in files]
    if runner == "worker":
        # The gathering is scheduled by this process, for 5 s after the first key (the quiet
        # period); the worker's own settings then send what is there.
        batching(settings, quiet=5, window=10)
    for key in keys:
        assert api.delete(f"/api/v1/files/{key}").status_code == 200
    assert File.objects.filter(status=Status.DELETED).count() == 10
    wait_until(
        lambda: not any(Path(get_backend().storage.path(k)).exists() for k in keys),
        what="all objects removed",
    )
    calls = delete_calls(storage_root, keys)
    if runner == "worker":
        assert [sorted(call) for call in calls] == [sorted(keys)]
    else:
        assert sorted(calls) == sorted([key] for key in keys)
    wait_until(lambda: not OutboxMessage.objects.exists(), what="an empty outbox")


@pytest.mark.parametrize("runner", ["worker"], indirect=True)
def test_a_lone_deletion_goes_once_the_quiet_period_ends_not_the_window(
    runner, storage_root, project, route, api, settings
):
    """Nothing else arrives after it: its batch goes after DELETE_BATCH_QUIET, not after the
    much longer DELETE_BATCH_WINDOW."""
    batching(settings, quiet=0.5, window=600)
    (file,) = make_files(project, route, 1)
    assert api.delete(f"/api/v1/files/{file.key}").status_code == 200
    wait_until(lambda: not Path(get_backend().storage.path(file.key)).exists(),
               what="the object removed long before the window closes")
    assert delete_calls(storage_root, [file.key]) == [[file.key]]


def deletion_rows(keys_per_row: list[list[str]], ages: list[float]) -> list[OutboxMessage]:
    """Deletion rows as the API writes them, each written ``age`` seconds ago."""
    from django_uploadkit import outbox

    rows = [OutboxMessage.objects.create(task=outbox.DELETE_TASK, args=[keys])
            for keys in keys_per_row]
    written_ago(rows, ages)
    return rows


def batching(settings, quiet: float, window: float) -> None:
    settings.UPLOADKIT = {
        **settings.UPLOADKIT, "DELETE_BATCH_QUIET": quiet, "DELETE_BATCH_WINDOW": window
    }


@pytest.mark.parametrize("runner", ["worker"], indirect=True)
def test_a_partial_batch_waits_while_deletions_keep_arriving(
    runner, storage_root, project, route, settings
):
    """A gathering holds a batch that is not full while the newest row is younger than the
    quiet period (and the oldest younger than the window); then it sends the whole batch."""
    from django_uploadkit import outbox

    batching(settings, quiet=5, window=30)
    files = make_files(project, route, 3)
    rows = deletion_rows([[f.key] for f in files], ages=[20, 10, 1])
    assert outbox.send_deletions() == 0  # the newest arrived 1 s ago: more may follow
    assert OutboxMessage.objects.count() == 3

    written_ago(rows[2:], [6])
    assert outbox.send_deletions() == 3  # quiet for 6 s: the batch goes, in one call
    wait_until(lambda: delete_calls(storage_root, [f.key for f in files]), what="the batch")
    assert [sorted(c) for c in delete_calls(storage_root, [f.key for f in files])] == [
        sorted(f.key for f in files)
    ]


@pytest.mark.parametrize("runner", ["worker"], indirect=True)
def test_a_partial_batch_goes_once_its_oldest_row_has_waited_the_window(
    runner, storage_root, project, route, settings
):
    """Deletions that never stop still go: the window caps how long the oldest waits."""
    from django_uploadkit import outbox

    batching(settings, quiet=5, window=30)
    files = make_files(project, route, 2)
    deletion_rows([[f.key] for f in files], ages=[31, 0.5])
    assert outbox.send_deletions() == 2
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("runner", ["worker"], indirect=True)
def test_a_batch_the_next_row_does_not_fit_in_goes_at_once(
    runner, storage_root, project, route, settings
):
    """A batch that cannot grow (the next row's keys would pass delete_batch_size) is full."""
    from django_uploadkit import outbox

    batching(settings, quiet=5, window=30)
    size = get_backend().delete_batch_size
    first = [f"gone/a{i}.png" for i in range(size - 1)]
    rows = deletion_rows([first, ["gone/b0.png", "gone/b1.png"]], ages=[1, 0.5])
    assert outbox.send_deletions() == 1
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [rows[1].pk]
    wait_until(lambda: delete_calls(storage_root, first), what="the first batch")
    assert [len(c) for c in delete_calls(storage_root, first)] == [size - 1]


@pytest.mark.parametrize("runner", ["inline"], indirect=True)
def test_a_gathering_waits_for_rows_another_holds_rather_than_split_the_batch(
    runner, storage_root, project, route
):
    """Another gathering has locked a row (and will decide not to send it yet): this one waits
    for that lock and sends all three rows in one batch, not two now and one later."""
    import threading

    from django.db import connection, transaction

    from django_uploadkit import outbox

    if not connection.features.has_select_for_update:
        pytest.skip("SQLite has no row locks: its writers are serialized anyway")
    files = make_files(project, route, 3)
    keys = [f.key for f in files]
    rows = deletion_rows([[k] for k in keys], ages=[3, 2, 1])
    locked, release = threading.Event(), threading.Event()

    def other_gathering() -> None:
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(pk=rows[1].pk))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=other_gathering)
    holder.start()
    assert locked.wait(10)
    threading.Timer(0.5, release.set).start()
    try:
        assert outbox.send_deletions(wait=False) == 3
    finally:
        release.set()
        holder.join()
    wait_until(lambda: delete_calls(storage_root, keys), what="the batch")
    assert [sorted(c) for c in delete_calls(storage_root, keys)] == [sorted(keys)]


def test_the_quiet_period_is_never_longer_than_the_window(settings):
    from django_uploadkit.outbox import partial_batch_due

    batching(settings, quiet=5, window=1)
    now = timezone.now()
    assert partial_batch_due(now, now) == now + timedelta(seconds=1)
    batching(settings, quiet=2, window=30)
    assert partial_batch_due(now - timedelta(seconds=10), now) == now + timedelta(seconds=2)
    assert partial_batch_due(now - timedelta(seconds=29), now) == now + timedelta(seconds=1)


def test_a_deletion_row_held_by_another_gathering_is_not_sent_twice(
    runner, storage_root, project, route
):
    """Rows are claimed before they are sent: a fresh claim (another gathering is sending it)
    is left alone; a stale one (that process died) is taken again."""
    from django_uploadkit import outbox

    files = make_files(project, route, 3)
    now = timezone.now()
    rows = [
        OutboxMessage.objects.create(task=outbox.DELETE_TASK, args=[[f.key]]) for f in files
    ]
    OutboxMessage.objects.filter(pk=rows[0].pk).update(claimed_at=now)
    OutboxMessage.objects.filter(pk=rows[1].pk).update(claimed_at=now - timedelta(minutes=10))

    assert outbox.send_deletions(wait=False) == 2
    assert outbox.send_deletions(wait=False) == 0  # running it again sends nothing more
    calls = wait_until(
        lambda: (c := delete_calls(storage_root, [f.key for f in files])) and c,
        what="the batch",
    )
    assert [sorted(call) for call in calls] == [sorted([files[1].key, files[2].key])]
    wait_until(lambda: not Path(get_backend().storage.path(files[2].key)).exists())
    assert Path(get_backend().storage.path(files[0].key)).exists()
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [rows[0].pk]

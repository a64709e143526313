"""The upload lifecycle, shared by the API, the admin and the management commands.

PENDING -> UPLOADED -> DELETED; PENDING -> EXPIRED; PENDING -> FAILED. Nothing here imports
DRF: callers pass plain values and get models or ``UploadKitError`` subclasses back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import keys, outbox, queries, webhook_delivery
from .conf import uploadkit_settings
from .cursors import decode_cursor, encode_cursor
from .exceptions import (
    FileNotFound,
    FileTooLarge,
    FileTypeNotAllowed,
    InvalidRequest,
    KeyNotCurrent,
    RouteNotFound,
    UploadIncomplete,
    UploadMismatch,
)
from .ids import random_token
from .mime import normalize_content_type, type_allowed
from .models import ApiKey, File, Project
from .names import display_name, safe_key_name
from .routes import get_route
from .sniff import SNIFF_BYTES, contradicts
from .storage import get_backend

logger = logging.getLogger(__name__)

Status = File.Status
_NAME_LENGTH = File._meta.get_field("name").max_length


@dataclass(frozen=True)
class UploadTicket:
    file: File
    upload_url: str


@dataclass(frozen=True)
class Page:
    files: list[File]
    next_cursor: str | None


def format_size(size: int) -> str:
    """4194304 -> '4 MB', as the reference text's error messages say it."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" or value == int(value) else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def file_url(file: File) -> str:
    return get_backend().url(file.key)


def file_to_dict(file: File) -> dict[str, Any]:
    """A file in the reference text's shape (complete, list and webhooks all use it)."""
    return {
        "id": file.id,
        "key": file.key,
        "name": file.name,
        "size": file.size,
        "type": file.content_type,
        "url": file_url(file),
        "status": file.status,
        "createdAt": file.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def new_object_key(file_name: str) -> str:
    prefix = uploadkit_settings.KEY_PREFIX.strip("/")
    return f"{prefix}/{random_token(20)}/{safe_key_name(file_name)}"


def upload_url_lifetime() -> int:
    """The configured lifetime, never longer than the storage allows."""
    return max(1, min(int(uploadkit_settings.UPLOAD_URL_EXPIRES), get_backend().max_url_lifetime))


def request_upload(
    project: Project,
    *,
    file_name: str,
    file_size: int,
    content_type: str,
    route_slug: str,
    metadata: dict[str, Any] | None = None,
    recalled_key: ApiKey | None = None,
) -> UploadTicket:
    """Check the route's rules, record a PENDING file and presign its PUT.

    ``recalled_key``: the caller's key came from this process's memory (``keys.recall_key``),
    so the INSERT checks it; KeyNotCurrent, with nothing written, if it is no longer usable or
    the project's routes changed since.
    """
    normalized = normalize_content_type(content_type)
    if normalized is None:
        raise InvalidRequest(f"contentType {content_type!r} is not a MIME type such as image/jpeg.")
    route = get_route(project, route_slug)
    if route is None:
        raise RouteNotFound(f"Route {route_slug!r} does not exist in this project.")
    if not type_allowed(normalized, route.allowed_types):
        raise FileTypeNotAllowed(
            f"File type {normalized} is not allowed for route {route.slug} "
            f"(allowed: {', '.join(route.allowed_types)})"
        )
    if file_size > route.max_size:
        raise FileTooLarge(
            f"File size exceeds the {format_size(route.max_size)} limit for route {route.slug}"
        )
    # Nothing printable left (only control characters): still a file, shown as "unnamed".
    name = display_name(file_name) or "unnamed"
    if len(name) > _NAME_LENGTH:  # NFC can make a name longer than the 255 characters sent
        raise InvalidRequest(f"fileName is longer than {_NAME_LENGTH} characters once normalised (NFC).")
    file = File(
        project=project,
        route=route,
        key=new_object_key(name),
        name=name,
        size=file_size,
        content_type=normalized,
        metadata=metadata or {},
    )
    upload_url = get_backend().presigned_put_url(
        file.key, content_type=normalized, size=file_size, expires_in=upload_url_lifetime()
    )
    # file.save(force_insert=True), its SQL built once (queries.py).
    if recalled_key is None:
        queries.insert_one(file)
    else:
        using = router.db_for_write(File, instance=file)
        if not queries.insert_one(file, using, guard=keys.usable_key_guard(recalled_key, using)):
            raise KeyNotCurrent()
    return UploadTicket(file=file, upload_url=upload_url)


def _live_files(project: Project) -> QuerySet[File]:
    return File.objects.filter(project=project).exclude(status=Status.DELETED)


def get_file(project: Project, file_id: str) -> File:
    file = _live_files(project).select_related("route").filter(id=file_id).first()
    if file is None:
        raise FileNotFound(f"File {file_id!r} not found.")
    return file


def complete_upload(project: Project, file_id: str) -> File:
    """Verify the object with storage itself, then mark it UPLOADED (idempotent)."""
    file = get_file(project, file_id)
    if file.status == Status.UPLOADED:
        return file
    _raise_if_final(file)
    info = get_backend().head(file.key)  # outside the row lock: it may be a network call
    if info is None:
        raise UploadIncomplete(
            "The file has not been uploaded yet: PUT it to the uploadUrl, then complete."
        )
    problem = None
    if info.size != file.size:
        problem = f"Stored object is {info.size} bytes; {file.size} were requested."
    elif info.size > file.route.max_size:
        problem = f"Stored object exceeds the {format_size(file.route.max_size)} route limit."
    elif normalize_content_type(info.content_type) != file.content_type:
        problem = f"Stored object is {info.content_type}; {file.content_type} was requested."
    elif uploadkit_settings.SNIFF_CONTENT and contradicts(
        file.content_type, get_backend().read_prefix(file.key, SNIFF_BYTES)
    ):
        problem = f"The file's content is not {file.content_type}."

    with transaction.atomic():
        locked = File.objects.select_for_update().select_related("route").get(pk=file.pk)
        if locked.status == Status.UPLOADED:
            return locked
        _raise_if_final(locked)
        if problem is None:
            locked.status = Status.UPLOADED
            locked.uploaded_at = timezone.now()
            locked.save(update_fields=["status", "uploaded_at"])
            # Recorded with the state change, delivered after the commit (webhook_delivery).
            webhook_delivery.record_file_events(webhook_delivery.FILE_UPLOADED, [locked])
            return locked
        locked.status = Status.FAILED
        locked.save(update_fields=["status"])
        _delete_objects_after_commit([locked.key])
    raise UploadMismatch(problem)


def _raise_if_final(file: File) -> None:
    if file.status == Status.DELETED:
        raise FileNotFound(f"File {file.id!r} not found.")
    if file.status == Status.FAILED:
        raise UploadMismatch("This upload failed verification; request a new upload URL.")
    if file.status == Status.EXPIRED:
        raise UploadIncomplete("This upload URL expired before the upload was completed.")


def list_files(project: Project, *, limit: int | None = None, cursor: str | None = None) -> Page:
    """Newest first, by keyset on (created_at, id): any depth costs one index range scan."""
    limit = limit or uploadkit_settings.DEFAULT_PAGE_SIZE
    files = _live_files(project).order_by("-created_at", "-id")
    if cursor:
        created_at, file_id = decode_cursor(cursor)
        # The redundant created_at <= bound is what the index range scan starts from; without
        # it PostgreSQL filters every newer row first and a page costs O(depth).
        files = files.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=file_id),
            created_at__lte=created_at,
        )
    rows = list(files[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return Page(files=rows, next_cursor=next_cursor)


def delete_file(project: Project, key: str) -> File:
    """Mark the file DELETED now; storage removes the object through a task that retries."""
    with transaction.atomic():
        file = _live_files(project).select_for_update().filter(key=key).first()
        if file is None:
            raise FileNotFound(f"File {key!r} not found.")
        _mark_deleted([file])
    return file


def delete_files(files: Iterable[File]) -> int:
    """Bulk deletion (admin action, commands): one status update, batched object removal."""
    with transaction.atomic():
        ids = [f.pk for f in files]
        locked = list(
            File.objects.select_for_update().filter(pk__in=ids).exclude(status=Status.DELETED)
        )
        _mark_deleted(locked)
    return len(locked)


def _mark_deleted(files: list[File]) -> None:
    now = timezone.now()
    File.objects.filter(pk__in=[f.pk for f in files]).update(status=Status.DELETED, deleted_at=now)
    for file in files:
        file.status, file.deleted_at = Status.DELETED, now
    webhook_delivery.record_file_events(webhook_delivery.FILE_DELETED, files)
    _delete_objects_after_commit([f.key for f in files])


def expire_stale_uploads(now: datetime | None = None) -> int:
    """PENDING files whose URL expired (plus grace) become EXPIRED; stray objects go."""
    now = now or timezone.now()
    cutoff = now - timedelta(
        seconds=upload_url_lifetime() + int(uploadkit_settings.EXPIRY_GRACE)
    )
    with transaction.atomic():
        stale = list(
            File.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, created_at__lt=cutoff)
            .only("id", "key")
        )
        File.objects.filter(pk__in=[f.pk for f in stale]).update(status=Status.EXPIRED)
        _delete_objects_after_commit([f.key for f in stale])
    return len(stale)


def _delete_objects_after_commit(keys: list[str]) -> None:
    """The one path by which objects leave storage: an outbox row per batch of keys, written
    in the caller's transaction and sent to ``tasks.delete_objects`` after the commit."""
    if not keys:
        return
    batch = get_backend().delete_batch_size
    outbox.enqueue_many(
        "django_uploadkit.tasks.delete_objects",
        ([keys[start : start + batch]] for start in range(0, len(keys), batch)),
    )

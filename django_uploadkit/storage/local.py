"""The embedded default: objects on local disk, uploaded through a URL the app itself serves.

The upload URL carries the key, content type, size and expiry, signed with HMAC-SHA256, so
the app's PUT endpoint enforces exactly what S3 enforces for a presigned PUT: the signed
Content-Type, the signed length, the signature and the expiry.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterable
from urllib.parse import quote, quote_plus

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS

from ..conf import uploadkit_settings
from ..exceptions import (
    ConfigurationError,
    ContentLengthMismatch,
    ContentLengthRequired,
    ContentTypeMismatch,
    FileTooLarge,
    StorageError,
    UploadUrlExpired,
    UploadUrlInvalid,
)
from ..mime import normalize_content_type
from .base import DeleteResult, ObjectInfo, StorageBackend

CHUNK_SIZE = 1024 * 1024
# How much of an upload may sit unwritten in the page cache before the kernel is asked to write
# it out (see _write_behind).
WRITE_BEHIND = 8 * 1024 * 1024
_META_DIR = ".uploadkit-meta"


# reverse() quotes a path with these characters left as they are.
_PATH_SAFE = RFC3986_SUBDELIMS + "/~:@"
_heads: dict[tuple[str, Any], str] = {}


def _object_path_head() -> str:
    """The object URL up to the key, per script prefix and URLconf (both may vary by request)."""
    script_prefix, urlconf = get_script_prefix(), get_urlconf()
    head = _heads.get((script_prefix, urlconf))
    if head is None:
        path = reverse("uploadkit:local-object", kwargs={"key": "k"})
        assert path.endswith("/k")
        head = path[:-1]
        if len(_heads) >= 64:  # script prefixes come from the server (SCRIPT_NAME): bounded
            _heads.clear()
        _heads[(script_prefix, urlconf)] = head
    return head


@functools.lru_cache(maxsize=4)
def _signing_key(secret: str) -> bytes:
    """The upload-URL key derived from the secret: derived once, not for every URL."""
    return hmac.digest(secret.encode(), b"uploadkit.local-upload", "sha256")


class LocalBackend(StorageBackend):
    """Django's FileSystemStorage under ``ROOT`` (default ``MEDIA_ROOT/uploadkit``)."""

    OPTIONS = {"ROOT"}

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - self.OPTIONS
        if unknown:
            raise ConfigurationError(
                f"Unknown option(s) for the local storage backend: {', '.join(sorted(unknown))}"
            )
        root = options.get("ROOT") or os.path.join(settings.MEDIA_ROOT or ".", "uploadkit")
        self.root = Path(root).resolve()
        self.storage = FileSystemStorage(location=str(self.root), allow_overwrite=True)

    # -- signing ---------------------------------------------------------------------------

    def _signature(self, key: str, content_type: str, size: int, expires: int) -> str:
        message = f"PUT\n{key}\n{content_type}\n{size}\n{expires}".encode()
        return hmac.digest(_signing_key(uploadkit_settings.secret), message, "sha256").hex()

    def presigned_put_url(
        self, key: str, *, content_type: str, size: int, expires_in: int
    ) -> str:
        size, expires = int(size), int(time.time()) + int(expires_in)
        signature = self._signature(key, content_type, size, expires)
        # urlencode() of the four, written out: only the type needs quoting.
        query = f"type={quote_plus(content_type)}&size={size}&expires={expires}&signature={signature}"
        return f"{self._object_path(key)}?{query}"

    def _object_path(self, key: str) -> str:
        """What ``reverse("uploadkit:local-object", kwargs={"key": key})`` gives, without
        resolving the pattern for every URL (two per upload/request, about 60 us each)."""
        base = (uploadkit_settings.PUBLIC_BASE_URL or "").rstrip("/")
        return base + _object_path_head() + quote(key, safe=_PATH_SAFE)

    # -- the upload target -----------------------------------------------------------------

    def check_put(
        self, key: str, query: dict[str, str], content_type: str | None, content_length: str | None
    ) -> int:
        """Validate a PUT against its signed URL; return the number of bytes to accept."""
        try:
            signed_type = query["type"]
            size = int(query["size"])
            expires = int(query["expires"])
            signature = query["signature"]
        except (KeyError, ValueError):
            raise UploadUrlInvalid("The upload URL is missing its signed parameters.") from None
        expected = self._signature(key, signed_type, size, expires)
        if not hmac.compare_digest(expected, signature):
            raise UploadUrlInvalid()
        if time.time() > expires:
            raise UploadUrlExpired()
        if normalize_content_type(content_type or "") != signed_type:
            raise ContentTypeMismatch(
                f"Content-Type {content_type or '(none)'!r} differs from the signed {signed_type!r}."
            )
        if content_length in (None, ""):
            raise ContentLengthRequired()
        try:
            length = int(content_length)
        except ValueError:
            raise ContentLengthRequired("Content-Length must be a number.") from None
        if length > size:
            raise FileTooLarge(f"Body of {length} bytes exceeds the signed size of {size} bytes.")
        if length != size:
            raise ContentLengthMismatch(
                f"Body of {length} bytes differs from the signed size of {size} bytes."
            )
        return size

    def save_stream(self, key: str, stream: IO[bytes], size: int, content_type: str) -> None:
        """Stream exactly ``size`` bytes to disk, then move into place: never a partial object.

        The object, its sidecar and the directories that hold them are on disk (fsync) before
        the object becomes visible, so a file that ``complete`` marks UPLOADED survives a crash
        of the machine.
        """
        with _durable_file(Path(self.storage.path(key)), "wb") as out:
            received = written_behind = 0
            while received <= size:
                chunk = stream.read(min(CHUNK_SIZE, size + 1 - received))
                if not chunk:
                    break
                received += len(chunk)
                out.write(chunk)
                if received - written_behind >= WRITE_BEHIND:
                    out.flush()
                    _write_behind(out.fileno(), max(0, written_behind - WRITE_BEHIND), received)
                    written_behind = received
            if received != size:
                raise ContentLengthMismatch(
                    f"Received {received} bytes; the upload URL was signed for {size}."
                )
            self._write_meta(key, {"content_type": content_type})

    # -- meta sidecars -----------------------------------------------------------------------

    def _meta_path(self, key: str) -> Path:
        return Path(self.storage.path(os.path.join(_META_DIR, key + ".json")))

    def _write_meta(self, key: str, meta: dict[str, str]) -> None:
        with _durable_file(self._meta_path(key), "w") as out:
            out.write(json.dumps(meta))

    def _read_meta(self, key: str) -> dict[str, str]:
        try:
            return json.loads(self._meta_path(key).read_text())
        except (OSError, ValueError):
            return {}

    # -- the interface -----------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        try:
            size = os.path.getsize(self.storage.path(key))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"Cannot read the stored object: {exc.strerror}") from exc
        content_type = self._read_meta(key).get("content_type", "application/octet-stream")
        return ObjectInfo(size=size, content_type=content_type)

    def open(self, key: str) -> IO[bytes]:
        return self.storage.open(key, "rb")

    def read_prefix(self, key: str, length: int) -> bytes:
        with self.open(key) as fh:
            return fh.read(length)

    def url(self, key: str) -> str:
        return self._object_path(key)

    def delete_many(self, keys: Iterable[str]) -> DeleteResult:
        result = DeleteResult()
        for key in keys:
            result.calls += 1
            try:
                for path in (Path(self.storage.path(key)), self._meta_path(key)):
                    path.unlink(missing_ok=True)
                    self._prune(path.parent)
                result.deleted.append(key)
            except OSError as exc:
                result.errors[key] = exc.strerror or str(exc)
        return result

    def _prune(self, directory: Path) -> None:
        """Remove directories left empty, up to the root."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent


@contextmanager
def _durable_file(path: Path, mode: str) -> Iterator[IO[Any]]:
    """A file written beside ``path`` and moved onto it only if the block ends without an
    exception, synced before (the data) and after (the rename): never a partial file, and
    nothing a crash of the machine can take back."""
    _make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, mode) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _write_behind(fd: int, start: int, end: int) -> None:
    """Start writing ``[start, end)`` to disk now and drop the pages already written.

    The disk then works while the rest of the body arrives, instead of all at the final fsync,
    and a large upload does not push everything else out of the page cache. (On Linux,
    POSIX_FADV_DONTNEED starts writeback of dirty pages without waiting for it.)
    """
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, start, end - start, os.POSIX_FADV_DONTNEED)


def _make_dirs(directory: Path) -> None:
    """``mkdir -p``, with each new directory's entry synced into its parent."""
    for _ in range(5):
        missing, parent = [], directory
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        try:
            for new in reversed(missing):
                new.mkdir(exist_ok=True)
                _fsync_directory(new.parent)
            return
        except FileNotFoundError:
            continue  # a deletion pruned an emptied parent meanwhile: start again
    directory.mkdir(parents=True, exist_ok=True)


def _fsync_directory(directory: Path) -> None:
    """Make a rename into ``directory`` durable (POSIX needs the directory synced too)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

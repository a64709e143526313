"""The storage interface every backend implements. Backends never import models."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class ObjectInfo:
    """What storage itself says about an object: the only facts ``complete`` trusts."""

    size: int
    content_type: str


@dataclass
class DeleteResult:
    deleted: list[str] = field(default_factory=list)
    # key -> the storage's error message, for keys storage refused to delete.
    errors: dict[str, str] = field(default_factory=dict)
    calls: int = 0


class StorageBackend(ABC):
    """Presign, inspect, read and delete objects by key.

    Errors: raise ``StorageUnavailable`` when storage cannot be reached (the caller may retry),
    ``StorageError`` when it answered with a refusal.
    """

    #: Largest number of keys ``delete_many`` sends in one call.
    delete_batch_size: int = 1000
    #: Longest lifetime a presigned URL may have on this storage.
    max_url_lifetime: int = 7 * 24 * 3600

    @abstractmethod
    def presigned_put_url(
        self, key: str, *, content_type: str, size: int, expires_in: int
    ) -> str:
        """A URL accepting one PUT of exactly this type and size until it expires."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """The object's real size and type, or None when it does not exist."""

    @abstractmethod
    def read_prefix(self, key: str, length: int) -> bytes:
        """The first ``length`` bytes of the object (for content sniffing)."""

    @abstractmethod
    def url(self, key: str) -> str:
        """Where the object can be read (possibly relative to the site for the local backend)."""

    @abstractmethod
    def delete_many(self, keys: Iterable[str]) -> DeleteResult:
        """Delete objects in batches; a key that is already gone counts as deleted."""

    def delete(self, key: str) -> DeleteResult:
        return self.delete_many([key])

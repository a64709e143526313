"""API keys: generation, hashing and lookup.

Keys are ``uk_live_`` or ``uk_test_`` + 40 random base62 characters (about 238 bits). Such a
secret cannot be guessed or brute-forced, so a fast keyed hash (HMAC-SHA256) is the right
storage: a password hasher (PBKDF2, Argon2) would add milliseconds to every request and buy
nothing. A row is found by its non-secret prefix and the hash compared in constant time.
"""

from __future__ import annotations

import hmac
import re
import string
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router
from django.utils import timezone

from .conf import uploadkit_settings
from .exceptions import InvalidApiKey
from .ids import random_token
from .models import ApiKey, Project
from .queries import CompiledSelect

_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 40
PREFIX_SECRET_CHARS = 8
_ENV_PREFIXES = {"live": "uk_live_", "test": "uk_test_"}


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: ``plaintext`` exists only here, never in the database."""

    api_key: ApiKey
    plaintext: str


def hash_key(plaintext: str) -> str:
    # hmac.digest: the same HMAC-SHA256 in one C call (hmac.new builds a Python object).
    return hmac.digest(uploadkit_settings.secret.encode(), plaintext.encode(), "sha256").hex()


# A well-formed key, whole: one compiled match is several times cheaper per request than a
# per-character check in Python (BENCHMARKS.md, item 4).
_KEY_RE = re.compile(
    "(" + "|".join(map(re.escape, _ENV_PREFIXES.values())) + f")([A-Za-z0-9]{{{SECRET_LENGTH}}})"
)


def _split(plaintext: str) -> str | None:
    """The lookup prefix of a well-formed key, or None."""
    match = _KEY_RE.fullmatch(plaintext)
    if match is None:
        return None
    return match.group(1) + match.group(2)[:PREFIX_SECRET_CHARS]


def create_api_key(
    project: Project,
    *,
    name: str = "",
    environment: str = ApiKey.Environment.LIVE,
    expires_at: datetime | None = None,
) -> IssuedKey:
    env_prefix = _ENV_PREFIXES[environment]
    secret = random_token(SECRET_LENGTH, _ALPHABET)
    plaintext = env_prefix + secret
    api_key = ApiKey.objects.create(
        project=project,
        name=name,
        environment=environment,
        prefix=env_prefix + secret[:PREFIX_SECRET_CHARS],
        hashed_key=hash_key(plaintext),
        expires_at=expires_at,
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


# The lookup every request makes, its SQL built once per connection (queries.py). The prefix is
# unique: no ORDER BY or LIMIT.
_BY_PREFIX = CompiledSelect(
    lambda prefix: ApiKey.objects.select_related("project").filter(prefix=prefix).order_by(),
    "prefix",
)


def authenticate_key(plaintext: str) -> ApiKey:
    """The usable key this plaintext names, or InvalidApiKey (one indexed query)."""
    prefix = _split(plaintext)
    if prefix is None:
        raise InvalidApiKey("Invalid API key.")
    api_key = _BY_PREFIX.first(router.db_for_read(ApiKey), prefix=prefix)
    # Compare even when no row matched, so timing says nothing about which prefixes exist.
    expected = api_key.hashed_key if api_key else "0" * 64
    if not hmac.compare_digest(expected, hash_key(plaintext)) or api_key is None:
        raise InvalidApiKey("Invalid API key.")
    now = timezone.now()
    if api_key.is_revoked:
        raise InvalidApiKey("This API key has been revoked.")
    if api_key.is_expired(now):
        raise InvalidApiKey("This API key has expired.")
    _touch(api_key, now)
    return api_key


def _touch(api_key: ApiKey, now: datetime) -> None:
    """Record use at most once per interval: a write per request would cost more than the read."""
    interval = timedelta(seconds=uploadkit_settings.KEY_LAST_USED_INTERVAL)
    if api_key.last_used_at is None or now - api_key.last_used_at >= interval:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def revoke_api_key(api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    forget_key(api_key.hashed_key)


# -- keys this process authenticated lately (upload/request) ---------------------------------
#
# upload/request writes one row. Instead of a query to check the key and then the INSERT, a
# process that authenticated the key lately recalls it and the INSERT itself checks it
# (``usable_key_guard``): the row is written only if, at that moment, the key still exists
# with the same hash, is not revoked, has not expired, and its project's routes are the ones
# this process has cached. Otherwise nothing is written and the request is decided again on a
# fresh lookup. A recalled key is a hint, never a verdict: revocation takes effect on the next
# request, in every process, as before (BENCHMARKS.md, item 1).

MAX_REMEMBERED = 4096  # keys kept per process; the memory starts over when it is full
_KEY_FIELDS = [f.attname for f in ApiKey._meta.concrete_fields]
_PROJECT_FIELDS = [f.attname for f in Project._meta.concrete_fields]
# hashed key -> (time.monotonic() deadline, database, key values, project values)
_remembered: dict[str, tuple[float, str, tuple[Any, ...], tuple[Any, ...]]] = {}


def remember_key(api_key: ApiKey) -> None:
    """Keep a key that has just authenticated, until its last use is due to be written again."""
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    project = api_key.project
    _remembered[api_key.hashed_key] = (
        time.monotonic() + uploadkit_settings.KEY_LAST_USED_INTERVAL,
        api_key._state.db or router.db_for_read(ApiKey),
        tuple(getattr(api_key, name) for name in _KEY_FIELDS),
        tuple(getattr(project, name) for name in _PROJECT_FIELDS),
    )


def recall_key(plaintext: str) -> ApiKey | None:
    """The key as this process last authenticated it, or None: unverified (see above)."""
    hashed = hash_key(plaintext)
    entry = _remembered.get(hashed)
    if entry is None:
        return None
    deadline, db, key_values, project_values = entry
    if time.monotonic() >= deadline:
        _remembered.pop(hashed, None)
        return None
    # New instances per request: nothing one request sets on them is seen by another.
    api_key = ApiKey.from_db(db, _KEY_FIELDS, key_values)
    api_key.project = Project.from_db(db, _PROJECT_FIELDS, project_values)
    if api_key.is_expired():  # it was usable when remembered; it may have expired since
        return None
    return api_key


def forget_key(hashed_key: str) -> None:
    _remembered.pop(hashed_key, None)


def usable_key_guard(api_key: ApiKey, using: str) -> tuple[str, list[Any]]:
    """For ``queries.insert_one(file, using, guard=...)``: true while the key is usable and its
    project's routes_version is the one it was recalled with (checked on ``using``)."""
    connection = connections[using]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    project = api_key.project
    params = [api_key.pk, api_key.hashed_key, now, project.pk, project.routes_version]
    sql = _guard_sql.get(connection.vendor)
    if sql is None:
        sql = _guard_sql[connection.vendor] = _build_guard_sql(connection)
    return sql, params


_guard_sql: dict[str, str] = {}


def _build_guard_sql(connection: Any) -> str:
    q = connection.ops.quote_name
    k, p = q(ApiKey._meta.db_table), q(Project._meta.db_table)

    def column(table: str, model: type, name: str) -> str:
        return f"{table}.{q(model._meta.get_field(name).column)}"

    return (
        f"EXISTS (SELECT 1 FROM {k}"
        f" INNER JOIN {p} ON {column(p, Project, 'id')} = {column(k, ApiKey, 'project')}"
        f" WHERE {column(k, ApiKey, 'id')} = %s AND {column(k, ApiKey, 'hashed_key')} = %s"
        f" AND {column(k, ApiKey, 'revoked_at')} IS NULL"
        f" AND ({column(k, ApiKey, 'expires_at')} IS NULL OR {column(k, ApiKey, 'expires_at')} > %s)"
        f" AND {column(p, Project, 'id')} = %s AND {column(p, Project, 'routes_version')} = %s)"
    )

"""The app's settings: one ``UPLOADKIT`` dict in Django settings, read through one object.

Every attribute reads ``django.conf.settings`` at access time (as django-cors-headers does),
so ``override_settings`` just works and nothing is cached across tests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # "local" (embedded default), "s3", or a dotted path to a StorageBackend subclass.
    "STORAGE": "local",
    # Options passed to the chosen backend (local: ROOT; s3: django-storages names).
    "STORAGE_OPTIONS": {},
    # Lifetime of a presigned upload URL, in seconds.
    "UPLOAD_URL_EXPIRES": 15 * 60,
    # Extra time a PENDING file is kept past its URL's expiry before the sweep expires it.
    "EXPIRY_GRACE": 15 * 60,
    # Prefix of every object key the server chooses.
    "KEY_PREFIX": "uploads",
    # Secret for hashing API keys and signing local upload URLs; None means SECRET_KEY.
    "SECRET": None,
    # last_used_at is written at most once per this many seconds per key.
    "KEY_LAST_USED_INTERVAL": 300,
    # Listing page size.
    "DEFAULT_PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 100,
    # Absolute base URL (scheme://host) for URLs built outside a request (webhooks, admin).
    "PUBLIC_BASE_URL": None,
    # URL prefix that the error contract covers.
    "API_PREFIX": "/api/v1/",
    # Largest JSON body the API parses, in bytes.
    "MAX_REQUEST_BODY": 64 * 1024,
    # metadata: at most this many bytes once serialised, and this many levels of nesting.
    "METADATA_MAX_BYTES": 8 * 1024,
    "METADATA_MAX_DEPTH": 5,
    # Check the first bytes of an upload against its declared type on complete.
    "SNIFF_CONTENT": True,
    # -- rate limits (throttling.py): "<count>/<second|minute|hour|day>", None switches off --
    # Redis URL for limits shared by every web process; None: per-process memory.
    "RATE_LIMIT_REDIS_URL": None,
    # Prefix of the limiter's Redis keys (several deployments may share one Redis).
    "RATE_LIMIT_KEY_PREFIX": "uploadkit:rl:",
    "RATE_LIMIT_PER_KEY": "600/minute",
    "RATE_LIMIT_PER_PROJECT": "3000/minute",
    # routeSlug -> rate, applied to upload/request per project and route.
    "RATE_LIMIT_ROUTES": {},
    # Failed authentications per client address, so keys cannot be guessed at speed.
    "RATE_LIMIT_AUTH_FAILURES": "30/minute",
    # A META name (e.g. "HTTP_X_REAL_IP") set by a proxy you trust; None: REMOTE_ADDR.
    "CLIENT_IP_HEADER": None,
    # -- webhooks (docs/webhooks.md) --
    # Allow webhook URLs that resolve to loopback, private, link-local or multicast addresses.
    # Development and tests only: in production it would let a project owner probe your network.
    "ALLOW_PRIVATE_WEBHOOKS": False,
    # Seconds an attempt may take, from connecting to the last byte of the answer (a total,
    # not per read: http_deadline.py).
    "WEBHOOK_TIMEOUT": 10,
    # Seconds between attempts: after the first attempt fails, the next waits the first delay,
    # and so on (each +/- WEBHOOK_RETRY_JITTER). len + 1 attempts, then the delivery is FAILED.
    # Default: 30 s, 2 min, 8 min, 32 min, ~2 h, ~8.5 h (7 attempts over about 11 hours).
    "WEBHOOK_RETRY_DELAYS": [30 * 4**n for n in range(6)],
    "WEBHOOK_RETRY_JITTER": 0.2,
    # After a secret is rotated, deliveries are also signed with the previous secret this long.
    "WEBHOOK_SECRET_ROTATION_GRACE": 24 * 3600,
    # Events of one project recorded together (a bulk delete, a rescue) share a task message of
    # up to this many events, attempted in turn: in a burst, a Celery task cost more than the
    # attempt it carried (BENCHMARKS.md, item 7). 1: a message per event.
    "WEBHOOK_BATCH_SIZE": 10,
    # -- object deletion: exponential backoff while storage fails, forever, capped --
    "DELETE_RETRY_BACKOFF": 5,
    "DELETE_RETRY_BACKOFF_MAX": 3600,
    # Deletions committed one by one (one API call each) are gathered into batches of up to the
    # backend's delete_batch_size keys (1,000 for S3) before storage is called: a batch goes as
    # soon as it is full; one that is not full goes once no deletion has arrived for
    # DELETE_BATCH_QUIET seconds, or once its oldest key has waited DELETE_BATCH_WINDOW seconds,
    # whichever comes first. The file is DELETED (and gone from the API) at once; only the
    # object's removal waits. With a broker only; in-process (no broker) each is sent at once.
    "DELETE_BATCH_QUIET": 2,
    "DELETE_BATCH_WINDOW": 30,
    # -- transactional outbox (docs/celery.md) --
    # A row not handed to the broker this many seconds after its commit is sent by the drain.
    "OUTBOX_DRAIN_AFTER": 30,
    # A PENDING webhook whose next attempt is this late (its queued retry was lost) is re-sent.
    "WEBHOOK_RESCUE_AFTER": 15 * 60,
}


class UploadKitSettings:
    """Typed access to ``settings.UPLOADKIT`` with defaults; unknown names are an error."""

    _checked: dict[str, Any] | None = None

    def _user(self) -> dict[str, Any]:
        value = getattr(settings, "UPLOADKIT", {}) or {}
        # Checked once per settings dict, not on each of the dozen reads a request makes.
        if value is not self._checked:
            unknown = set(value) - set(DEFAULTS)
            if unknown:
                raise ImproperlyConfigured(
                    f"Unknown UPLOADKIT setting(s): {', '.join(sorted(unknown))}"
                )
            self._checked = value
        return value

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid UPLOADKIT setting: {name!r}")
        return self._user().get(name, DEFAULTS[name])

    @property
    def secret(self) -> str:
        return self._user().get("SECRET") or settings.SECRET_KEY


uploadkit_settings = UploadKitSettings()

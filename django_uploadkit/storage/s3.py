"""The ``s3`` backend: S3, R2, MinIO or any S3-compatible store, through boto3.

Configured the django-storages way: ``UPLOADKIT["STORAGE_OPTIONS"]`` takes django-storages'
lower-case option names (``bucket_name``, ``endpoint_url``, ``access_key``, ...) on top of the
options of an S3 entry in ``STORAGES`` and of the ``AWS_*`` settings, so a project that already
stores media on S3 reuses that setup. django-storages' ``S3Storage`` resolves the options (and
rejects unknown ones); this module only adds what presigned uploads need.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.auth
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import NoCredentialsError, PartialCredentialsError
from botocore.utils import is_valid_ipv6_endpoint_url, percent_encode
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from ..exceptions import ConfigurationError, StorageError, StorageUnavailable
from .base import DeleteResult, ObjectInfo, StorageBackend

logger = logging.getLogger(__name__)

# Our defaults under the user's client_config: fail over quickly, retry transient errors.
_CLIENT_DEFAULTS = Config(
    connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3}
)
#: DeleteObjects with up to 1,000 keys may take much longer to answer than a HEAD or a GET, and
#: runs in a worker, where nobody waits on it: botocore retries a call whose answer is late, and
#: a retry of a batch that was only slow is the whole batch's work again (BENCHMARKS.md, item 6).
BATCH_READ_TIMEOUT = 120
# Error codes that mean "try again later" rather than "storage refused".
_TRANSIENT_CODES = {"SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError"}
_HINTS = {
    "AccessDenied": "check the credentials and the bucket's policy",
    "InvalidAccessKeyId": "check the access key",
    "SignatureDoesNotMatch": "check the secret key",
    "NoSuchBucket": "check the bucket name",
    # HEAD answers carry no body, so no error code either: only the status.
    "403": "access denied; check the access key, the secret key and the bucket's policy",
}


def _host_header(url: str, parts: Any) -> str:
    """The Host header botocore signs: lower case, the port only when it is not the default."""
    host = parts.hostname
    if is_valid_ipv6_endpoint_url(url):
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def storages_options() -> dict[str, Any]:
    """OPTIONS of the project's S3 entry in ``STORAGES`` ("default" first), if it has one."""
    entries = getattr(settings, "STORAGES", {}) or {}
    for alias in sorted(entries, key=lambda name: name != "default"):
        entry = entries[alias]
        try:
            backend = import_string(entry.get("BACKEND", ""))
        except ImportError:
            continue
        if isinstance(backend, type) and issubclass(backend, S3Storage):
            return dict(entry.get("OPTIONS", {}))
    return {}


@functools.lru_cache(maxsize=8)
def _sigv4_signing_key(secret: str, day: str, region: str) -> bytes:
    """SigV4's key for a day and region, derived once (four HMACs), not for every URL."""
    key = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


@dataclass(frozen=True)
class _Head:
    """What every URL of one kind shares, learned from the client: all before the key."""

    origin: str  # scheme://netloc
    path: str  # the path up to the key, percent-encoded
    host: str  # the Host header botocore signs
    extra: list[tuple[str, str]]  # parameters besides the X-Amz-* ones


class UrlSigner:
    """Presigned URLs signed here with SigV4 (query string, UNSIGNED-PAYLOAD), as botocore signs
    them, without the client's per-call machinery around the signature: endpoint-ruleset
    resolution, parameter validation, serialization and its request and header objects cost
    about 160 us of CPU per URL inside a request, and upload/request signs two (BENCHMARKS.md,
    item 2). This does the same in about 20 us.

    What precedes the key in an object's URL comes from the client, once per kind of URL: it
    presigns a probe key and the signer keeps the URL up to that key, and the parameters it
    adds besides the X-Amz-* ones. The signer's own URL for the probe must then equal the
    client's in everything but the timestamp and the signature (scheme, host, path, credential
    scope, signed headers, every parameter and their order); if anything differs (an endpoint
    rule or a signing step this signer does not follow), the client signs every URL of that
    kind, as before. Tests pin botocore's clock and require the very same URL, byte for byte.
    """

    PROBE_KEY = "uploadkit-probe/ä b~x.bin"
    _VARYING = {"X-Amz-Date", "X-Amz-Signature", "X-Amz-Credential"}

    def __init__(self, client: Any, session: Any, bucket: str) -> None:
        self.client = client
        self.session = session  # the client's: the same credentials, refreshed as they expire
        self.bucket = bucket
        self.region = client.meta.region_name
        self._heads: dict[tuple[str, tuple[str, ...]], _Head | None] = {}
        self._lock = threading.Lock()

    def _client_url(self, method: str, name: str, headers: dict[str, str], expires_in: int) -> str:
        params = {"Bucket": self.bucket, "Key": name}
        if "Content-Type" in headers:
            params["ContentType"] = headers["Content-Type"]
        if "Content-Length" in headers:
            params["ContentLength"] = int(headers["Content-Length"])
        operation = {"PUT": "put_object", "GET": "get_object"}[method]
        return self.client.generate_presigned_url(
            operation, Params=params, ExpiresIn=expires_in, HttpMethod=method
        )

    def _own_url(
        self, head: _Head, method: str, name: str, headers: dict[str, str], expires_in: int
    ) -> str:
        credentials = self.session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        credentials = credentials.get_frozen_credentials()
        timestamp = botocore.auth.get_current_datetime().strftime("%Y%m%dT%H%M%SZ")
        day = timestamp[:8]
        scope = f"{day}/{self.region}/s3/aws4_request"
        path = head.path + percent_encode(name, safe="/~")
        signed = {"host": head.host}
        signed.update((k.lower(), " ".join(str(v).split())) for k, v in headers.items())
        names = sorted(signed)
        auth = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
            ("X-Amz-Date", timestamp),
            ("X-Amz-Expires", str(int(expires_in))),
            ("X-Amz-SignedHeaders", ";".join(names)),
        ]
        if credentials.token is not None:
            auth.append(("X-Amz-Security-Token", credentials.token))
        query = [(percent_encode(k), percent_encode(v)) for k, v in [*head.extra, *auth]]
        canonical = "\n".join([
            method,
            path,
            "&".join(f"{k}={v}" for k, v in sorted(query)),
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            "UNSIGNED-PAYLOAD",
        ])
        to_sign = "\n".join([
            "AWS4-HMAC-SHA256", timestamp, scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ])
        key = _sigv4_signing_key(credentials.secret_key, day, self.region)
        signature = hmac.digest(key, to_sign.encode(), "sha256").hex()
        return f"{head.origin}{path}?{'&'.join(f'{k}={v}' for k, v in query)}&X-Amz-Signature={signature}"

    def _head(self, method: str, headers: dict[str, str]) -> _Head | None:
        kind = (method, tuple(sorted(headers)))
        if kind in self._heads:  # learned once; only the learning takes the lock
            return self._heads[kind]
        with self._lock:
            if kind not in self._heads:
                self._heads[kind] = self._learn(method, headers)
            return self._heads[kind]

    def _learn(self, method: str, headers: dict[str, str]) -> _Head | None:
        """The client's URL for the probe key, up to the key; None if ours would differ."""
        url = self._client_url(method, self.PROBE_KEY, headers, 60)
        theirs = urlsplit(url)
        encoded = percent_encode(self.PROBE_KEY, safe="/~")
        if not theirs.path.endswith("/" + encoded):
            return None
        head = _Head(
            origin=f"{theirs.scheme}://{theirs.netloc}",
            path=theirs.path[: -len(encoded)],
            host=_host_header(url, theirs),
            extra=[(k, v) for k, v in parse_qsl(theirs.query, keep_blank_values=True)
                   if not k.startswith("X-Amz-")],
        )
        ours = urlsplit(self._own_url(head, method, self.PROBE_KEY, headers, 60))

        def comparable(parts: Any) -> tuple[Any, ...]:
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            fixed = [(k, v) for k, v in pairs if k not in self._VARYING]
            credential = dict(pairs).get("X-Amz-Credential", "").split("/")
            order = [k for k, _ in pairs]
            return parts.scheme, parts.netloc, parts.path, order, fixed, credential[:1] + credential[2:]

        if comparable(ours) != comparable(theirs):
            logger.warning("S3 URLs: signed by the client on every call (%s differs)", theirs.netloc)
            return None
        return head

    def sign(self, method: str, name: str, headers: dict[str, str], expires_in: int) -> str:
        head = self._head(method, headers)
        if head is None:
            return self._client_url(method, name, headers, expires_in)
        return self._own_url(head, method, name, headers, expires_in)


class S3Backend(StorageBackend):
    """Presigned SigV4 PUTs with the type and length signed in; HEAD to verify."""

    delete_batch_size = 1000  # DeleteObjects' limit
    max_url_lifetime = 7 * 24 * 3600  # SigV4 presigned URLs' limit

    def __init__(self, **options: Any) -> None:
        try:
            self.storage = S3Storage(**{**storages_options(), **options})
        except ImproperlyConfigured as exc:
            # e.g. "Invalid setting 'bukcet' for S3Storage": the message names the option.
            raise ConfigurationError(f"S3 storage backend: {exc}") from exc
        storage = self.storage
        for source in (storage.signature_version, storage.client_config.signature_version):
            if source not in (None, "s3v4"):
                raise ConfigurationError(
                    f"S3 storage backend: signature_version {source!r} cannot sign the "
                    "Content-Length into upload URLs; use 's3v4' (the default)."
                )
        # Ours, then the user's client_config, then SigV4 always.
        storage.client_config = _CLIENT_DEFAULTS.merge(storage.client_config).merge(
            Config(signature_version="s3v4")
        )
        if storage.session_profile:
            self.session = boto3.Session(profile_name=storage.session_profile)
        else:
            self.session = boto3.Session(
                aws_access_key_id=storage.access_key,
                aws_secret_access_key=storage.secret_key,
                aws_session_token=storage.security_token,
            )
        # One client, shared by all threads (boto3 clients are thread-safe, resources are not).
        self.client = self._make_client(storage.client_config)
        self._batch_client: Any = None
        self._batch_client_lock = threading.Lock()
        self.signer = UrlSigner(self.client, self.session, self.bucket_name)

    def _make_client(self, config: Config) -> Any:
        storage = self.storage
        return self.session.client(
            "s3",
            region_name=storage.region_name,
            use_ssl=storage.use_ssl,
            endpoint_url=storage.endpoint_url,
            config=config,
            verify=storage.verify,
        )

    @property
    def batch_client(self) -> Any:
        """The client for DeleteObjects: the same, with a read timeout of BATCH_READ_TIMEOUT at
        least. Made on first use (in the worker, as a rule), under a lock: a boto3 Session is
        not safe to make clients from in two threads at once."""
        with self._batch_client_lock:
            if self._batch_client is None:
                config = self.storage.client_config
                timeout = max(float(config.read_timeout or 0), BATCH_READ_TIMEOUT)
                self._batch_client = self._make_client(config.merge(Config(read_timeout=timeout)))
            return self._batch_client

    @property
    def bucket_name(self) -> str | None:
        return self.storage.bucket_name

    def has_credentials(self) -> bool:
        """Whether boto3 finds credentials anywhere (options, settings, env, profile, role)."""
        try:
            return self.session.get_credentials() is not None
        except BotoCoreError:
            return False

    def check_bucket(self) -> None:
        """Ask storage whether the bucket exists and these credentials may use it."""
        with self._errors("check the bucket"):
            try:
                self.client.head_bucket(Bucket=self.bucket_name)
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    raise StorageError(f"Bucket {self.bucket_name!r} does not exist.") from exc
                raise

    def _name(self, key: str) -> str:
        """The object's name in the bucket: the key under the storage's ``location``."""
        return self.storage._normalize_name(clean_name(key))

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn boto3's exceptions into the API's: 503 when worth retrying, else 500."""
        try:
            yield
        except (BotoConnectionError, HTTPClientError) as exc:
            raise StorageUnavailable(
                f"Storage is unreachable ({type(exc).__name__}) while trying to {action}; "
                "try again shortly."
            ) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if status >= 500 or code in _TRANSIENT_CODES:
                raise StorageUnavailable(
                    f"Storage answered {code} while trying to {action}; try again shortly."
                ) from exc
            hint = _HINTS.get(code, error.get("Message") or "see the server log")
            raise StorageError(
                f"Storage refused to {action} in bucket {self.bucket_name!r}: {code} ({hint})."
            ) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise StorageError(
                f"No usable S3 credentials to {action}: set access_key and secret_key."
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(f"Storage failed to {action}: {exc}") from exc

    # -- the interface -----------------------------------------------------------------------

    def presigned_put_url(
        self, key: str, *, content_type: str, size: int, expires_in: int
    ) -> str:
        # Both headers are signed: another type or length gets 403.
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        with self._errors("sign an upload URL"):
            return self.signer.sign("PUT", self._name(key), headers, expires_in)

    def head(self, key: str) -> ObjectInfo | None:
        with self._errors("check an uploaded object"):
            try:
                response = self.client.head_object(Bucket=self.bucket_name, Key=self._name(key))
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    return None
                raise
        return ObjectInfo(
            size=int(response["ContentLength"]),
            content_type=response.get("ContentType") or "application/octet-stream",
        )

    def read_prefix(self, key: str, length: int) -> bytes:
        if length <= 0:
            return b""
        with self._errors("read an uploaded object"):
            try:
                response = self.client.get_object(
                    Bucket=self.bucket_name, Key=self._name(key), Range=f"bytes=0-{length - 1}"
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""  # an empty object
                raise
            return response["Body"].read(length)

    def url(self, key: str) -> str:
        """django-storages' URL: custom domain, else bucket URL, presigned if querystring_auth.

        The presigned one is the signer's (the same URL, made faster); the others are
        django-storages' own.
        """
        storage = self.storage
        with self._errors("build a file URL"):
            if storage.querystring_auth and not storage.custom_domain:
                return self.signer.sign("GET", self._name(key), {}, storage.querystring_expire)
            return storage.url(key)

    def delete_many(self, keys: Iterable[str]) -> DeleteResult:
        result = DeleteResult()
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), self.delete_batch_size):
            batch = keys[start : start + self.delete_batch_size]
            names = {self._name(key): key for key in batch}
            result.calls += 1
            try:
                with self._errors("delete objects"):
                    response = self.batch_client.delete_objects(
                        Bucket=self.bucket_name,
                        Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
                    )
            except StorageError as exc:
                # The whole call was refused: every key in it failed, for the same reason.
                result.errors.update({key: exc.message for key in batch})
                continue
            for error in response.get("Errors") or []:
                key = names.get(error.get("Key", ""), error.get("Key", ""))
                result.errors[key] = f"{error.get('Code')}: {error.get('Message')}"
            result.deleted.extend(key for key in batch if key not in result.errors)
        return result

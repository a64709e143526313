"""Standard Webhooks signing and verification, and the webhook URL guard.

This module imports nothing from Django at load time, so a receiver written in Python (Flask,
FastAPI, a script) can ``from django_uploadkit.webhooks import verify_webhook`` without a
configured Django project. The server side (events, delivery, re-send) is
``webhook_delivery.py``.

The scheme (https://www.standardwebhooks.com/):

- ``webhook-id``: the event id, the same on every retry of one event (deduplicate on it);
- ``webhook-timestamp``: unix seconds of this attempt;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, the key
  being the base64-decoded part of the secret after ``whsec_``. Several space-separated
  signatures may be present (during a secret rotation); one valid signature is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from typing import Any, Mapping
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DEFAULT_TOLERANCE = 300

__all__ = [
    "UnsafeWebhookUrl",
    "WebhookVerificationError",
    "check_webhook_url",
    "generate_secret",
    "sign_webhook",
    "verify_webhook",
]


class WebhookVerificationError(Exception):
    """The request is not a valid, fresh webhook signed with this secret."""


class UnsafeWebhookUrl(ValueError):
    """A webhook URL that must not be called (scheme, or an address inside the network)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def generate_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (Standard Webhooks recommends 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("The webhook secret is not valid base64.") from None


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``v1,<base64>`` signature of one attempt."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + _as_bytes(body)
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"Missing {name} header.")


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Check a received webhook and return its parsed JSON payload.

    ``headers`` is any mapping (header names are matched case-insensitively); ``body`` is the
    raw request body, exactly as received. Raises ``WebhookVerificationError`` when a header is
    missing, the timestamp is more than ``tolerance`` seconds away from now (replays), or no
    signature matches.
    """
    msg_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise WebhookVerificationError("Invalid webhook-timestamp header.") from None
    if abs(time.time() - timestamp) > tolerance:
        raise WebhookVerificationError("Webhook timestamp is outside the tolerance.")
    expected = sign_webhook(secret, msg_id, timestamp, body).encode()
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return json.loads(_as_bytes(body))
    raise WebhookVerificationError("No matching webhook signature.")


# -- the SSRF guard ----------------------------------------------------------------------------


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_webhook_url(url: str, *, allow_private: bool | None = None) -> None:
    """Refuse what a webhook must never call: non-http(s) URLs, and (unless ``allow_private``,
    default the ``ALLOW_PRIVATE_WEBHOOKS`` setting) hosts resolving to loopback, private,
    link-local, multicast or otherwise non-global addresses. Every resolved address must pass.
    """
    if allow_private is None:
        from .conf import uploadkit_settings

        allow_private = bool(uploadkit_settings.ALLOW_PRIVATE_WEBHOOKS)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeWebhookUrl("The webhook URL is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhookUrl("Webhook URLs must use http or https.")
    host = parts.hostname
    if not host:
        raise UnsafeWebhookUrl("The webhook URL has no host.")
    if not host.isascii():
        # The name delivery will connect to: requests encodes hosts with IDNA 2008 (UTS 46),
        # where getaddrinfo's own codec (IDNA 2003) maps e.g. "ß" to "ss", another domain.
        import idna  # requests' own dependency; loaded only for such hosts

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise UnsafeWebhookUrl(f"The webhook host {host!r} is not a valid domain name.") from None
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError):
        raise UnsafeWebhookUrl(f"The webhook host {host!r} cannot be resolved.") from None
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if _forbidden(ipaddress.ip_address(address)):
            raise UnsafeWebhookUrl(
                f"The webhook host {host!r} resolves to a private or reserved address "
                f"({address}); such URLs are refused."
            )

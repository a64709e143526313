"""Rate limits on the API: per key and per project on every request, per route on
``upload/request``, and failed authentication per client address.

The limits come from ``UPLOADKIT`` (``RATE_LIMIT_*``); ``None`` switches one off. Every
response carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
(seconds until the tightest bucket is full again); a refusal is 429 ``RATE_LIMITED`` with
``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .conf import uploadkit_settings
from .exceptions import RateLimited
from .ratelimit import Decision, Rate, get_limiter, parse_rate

_ATTR = "_uploadkit_rate"


def _rate(value: str | None) -> Rate | None:
    return parse_rate(value) if value else None


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the header a trusted proxy sets (``CLIENT_IP_HEADER``)."""
    header = uploadkit_settings.CLIENT_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "unknown")


def remember(request: HttpRequest | Request, decisions: list[Decision]) -> None:
    """Keep the tightest decision for the response headers."""
    django_request = getattr(request, "_request", request)
    candidates = decisions + ([getattr(django_request, _ATTR)] if hasattr(django_request, _ATTR) else [])
    setattr(django_request, _ATTR, min(candidates, key=lambda d: (d.allowed, d.remaining)))


def _check(request: HttpRequest | Request, buckets: list[tuple[str, Rate | None]]) -> None:
    active = [(key, rate) for key, rate in buckets if rate is not None]
    if not active:
        return
    decisions = get_limiter().hit(active)
    remember(request, decisions)
    if not decisions[0].allowed:
        retry_after = max(d.retry_after for d in decisions)
        raise RateLimited(f"Rate limit exceeded; retry in {retry_after} s.", retry_after=retry_after)


class ApiKeyThrottle(BaseThrottle):
    """Per key and per project, in one round trip to the limiter."""

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = getattr(request.user, "api_key", None)
        if api_key is None:
            return True  # staff sessions of the browsable API
        _check(
            request,
            [
                (f"key:{api_key.pk}", _rate(uploadkit_settings.RATE_LIMIT_PER_KEY)),
                (f"project:{api_key.project_id}", _rate(uploadkit_settings.RATE_LIMIT_PER_PROJECT)),
            ],
        )
        return True


def check_route_rate(request: Request, project_id: int, route_slug: str) -> None:
    rates = uploadkit_settings.RATE_LIMIT_ROUTES or {}
    _check(request, [(f"route:{project_id}:{route_slug}", _rate(rates.get(route_slug)))])


def check_auth_failures_allowed(request: HttpRequest | Request) -> None:
    """Refuse a client address that has failed authentication too often, before any lookup."""
    rate = _rate(uploadkit_settings.RATE_LIMIT_AUTH_FAILURES)
    if rate is None:
        return
    decision = get_limiter().peek(f"authfail:{client_ip(request)}", rate)
    if not decision.allowed:
        remember(request, [decision])
        raise RateLimited(
            f"Too many failed authentications; retry in {decision.retry_after} s.",
            retry_after=decision.retry_after,
        )


def record_auth_failure(request: HttpRequest | Request) -> None:
    rate = _rate(uploadkit_settings.RATE_LIMIT_AUTH_FAILURES)
    if rate is not None:
        remember(request, get_limiter().hit([(f"authfail:{client_ip(request)}", rate)]))


def add_headers(request: HttpRequest | Request, response: HttpResponseBase) -> None:
    decision: Decision | None = getattr(getattr(request, "_request", request), _ATTR, None)
    if decision is not None:
        response["X-RateLimit-Limit"] = str(decision.limit)
        response["X-RateLimit-Remaining"] = str(decision.remaining)
        response["X-RateLimit-Reset"] = str(decision.reset)
        if not decision.allowed:
            response["Retry-After"] = str(decision.retry_after)

"""Token-bucket rate limits: atomic in Redis (one round trip, shared by every web process),
or in process memory when no Redis is configured.

A limit such as ``"120/minute"`` is a bucket of 120 tokens refilled at 120 per minute: bursts up
to the limit, a steady rate after that.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from django.core.signals import setting_changed

from .conf import uploadkit_settings
from .exceptions import ConfigurationError

logger = logging.getLogger(__name__)

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    capacity: int
    period: float  # seconds to refill the whole bucket

    @property
    def per_second(self) -> float:
        return self.capacity / self.period


@lru_cache(maxsize=64)
def parse_rate(value: str) -> Rate:
    """``"120/minute"``, ``"10/second"``, ``"1000/hour"``, ``"5/10s"``."""
    try:
        count, _, period = value.partition("/")
        capacity = int(count)
        if period in _PERIODS:
            seconds = float(_PERIODS[period])
        elif period.endswith("s"):
            seconds = float(period[:-1])
        else:
            raise ValueError
        if capacity < 1 or seconds <= 0:
            raise ValueError
    except (ValueError, AttributeError):
        raise ConfigurationError(
            f"Invalid rate {value!r}: use '<count>/<second|minute|hour|day>' or '<count>/<N>s'."
        ) from None
    return Rate(capacity, seconds)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one token is available (0 when allowed)


def _decide(allowed: bool, tokens: float, rate: Rate) -> Decision:
    per_second = rate.per_second
    return Decision(
        allowed=allowed,
        limit=rate.capacity,
        remaining=max(0, math.floor(tokens)),
        reset=math.ceil((rate.capacity - tokens) / per_second),
        retry_after=0 if allowed else max(1, math.ceil((1 - tokens) / per_second)),
    )


class Limiter(Protocol):
    def hit(self, buckets: list[tuple[str, Rate]], cost: int = 1) -> list[Decision]: ...

    def peek(self, key: str, rate: Rate) -> Decision: ...


class MemoryLimiter:
    """Per process: right for ``make run`` and one-process deployments."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, key: str, rate: Rate, now: float) -> float:
        tokens, stamp = self._buckets.get(key, (rate.capacity, now))
        return min(rate.capacity, tokens + (now - stamp) * rate.per_second)

    def hit(self, buckets: list[tuple[str, Rate]], cost: int = 1) -> list[Decision]:
        with self._lock:
            now = time.monotonic()
            levels = [self._level(key, rate, now) for key, rate in buckets]
            allowed = all(level >= cost for level in levels)
            decisions = []
            for (key, rate), level in zip(buckets, levels):
                if allowed:
                    level -= cost
                self._buckets[key] = (level, now)
                decisions.append(_decide(allowed, level, rate))
            return decisions

    def peek(self, key: str, rate: Rate) -> Decision:
        with self._lock:
            level = self._level(key, rate, time.monotonic())
            return _decide(level >= 1, level, rate)


# KEYS: bucket keys. ARGV: cost, peek(0/1), then capacity and period (ms) per key.
# All buckets are checked first and tokens taken only if every one allows: all or nothing,
# in one atomic script, using Redis' own clock so web processes need not agree on time.
_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local cost = tonumber(ARGV[1])
local peek = tonumber(ARGV[2]) == 1
local levels = {}
local allowed = 1
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[1 + i * 2])
  local period = tonumber(ARGV[2 + i * 2])
  local data = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(data[1]) or capacity
  local ts = tonumber(data[2]) or now
  tokens = math.min(capacity, tokens + (now - ts) * capacity / period)
  levels[i] = tokens
  if tokens < cost then allowed = 0 end
end
local out = {allowed}
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[1 + i * 2])
  local period = tonumber(ARGV[2 + i * 2])
  local tokens = levels[i]
  if not peek then
    if allowed == 1 then tokens = tokens - cost end
    redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', now)
    redis.call('PEXPIRE', key, period)
  end
  out[i + 1] = tostring(tokens)
end
return out
"""


class RedisLimiter:
    """Shared by all processes; one EVALSHA per request whatever the number of buckets.

    If Redis cannot be reached the limiter does not fail the request: it falls back to
    per-process buckets for ``FALLBACK_SECONDS`` and then tries Redis again.
    """

    FALLBACK_SECONDS = 5.0

    def __init__(self, url: str, prefix: str = "uploadkit:rl:") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix
        self.script = self.client.register_script(_LUA)
        self.fallback = MemoryLimiter()
        self._down_until = 0.0
        self._errors = (redis.ConnectionError, redis.TimeoutError)

    def _run(self, buckets: list[tuple[str, Rate]], cost: int, peek: bool) -> list[Decision]:
        if time.monotonic() < self._down_until:
            return self._fallback(buckets, cost, peek)
        try:
            return self._eval(buckets, cost, peek)
        except self._errors as exc:
            logger.warning("Rate limiter: Redis unreachable (%s); limiting per process", exc)
            self._down_until = time.monotonic() + self.FALLBACK_SECONDS
            return self._fallback(buckets, cost, peek)

    def _fallback(self, buckets: list[tuple[str, Rate]], cost: int, peek: bool) -> list[Decision]:
        if peek:
            return [self.fallback.peek(key, rate) for key, rate in buckets]
        return self.fallback.hit(buckets, cost)

    def _eval(self, buckets: list[tuple[str, Rate]], cost: int, peek: bool) -> list[Decision]:
        args: list[object] = [cost, 1 if peek else 0]
        for _, rate in buckets:
            args += [rate.capacity, int(rate.period * 1000)]
        result = self.script(keys=[self.prefix + key for key, _ in buckets], args=args)
        allowed = bool(int(result[0]))
        return [
            _decide(allowed, float(level), rate)
            for level, (_, rate) in zip(result[1:], buckets)
        ]

    def hit(self, buckets: list[tuple[str, Rate]], cost: int = 1) -> list[Decision]:
        return self._run(buckets, cost, peek=False)

    def peek(self, key: str, rate: Rate) -> Decision:
        return self._run([(key, rate)], 1, peek=True)[0]


_limiter: Limiter | None = None


def get_limiter() -> Limiter:
    global _limiter
    if _limiter is None:
        url = uploadkit_settings.RATE_LIMIT_REDIS_URL
        _limiter = (
            RedisLimiter(url, uploadkit_settings.RATE_LIMIT_KEY_PREFIX) if url else MemoryLimiter()
        )
    return _limiter


def _reset(**kwargs: object) -> None:
    global _limiter
    if kwargs.get("setting") in (None, "UPLOADKIT"):
        _limiter = None


setting_changed.connect(_reset)

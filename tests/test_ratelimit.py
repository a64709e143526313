"""The token buckets themselves: exact under concurrency, in Redis across processes."""

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_uploadkit.ratelimit import MemoryLimiter, RedisLimiter, parse_rate

from .ratelimit_worker import hammer

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_the_redis_limiter_is_exact_across_processes():
    prefix = f"uploadkit:test:{uuid.uuid4().hex}:"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=hammer, args=(REDIS_URL, prefix, 40, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    allowed = sum(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    assert allowed == 50  # 160 attempts, exactly the bucket's 50 tokens granted


def test_the_memory_limiter_is_exact_across_threads():
    limiter, rate = MemoryLimiter(), parse_rate("50/hour")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: limiter.hit([("k", rate)])[0].allowed, range(200)))
    assert sum(results) == 50


@pytest.mark.parametrize("limiter", [MemoryLimiter, lambda: RedisLimiter(
    REDIS_URL, f"uploadkit:test:{uuid.uuid4().hex}:")])
def test_buckets_are_all_or_nothing(limiter):
    limiter = limiter()
    small, big = parse_rate("1/hour"), parse_rate("10/hour")
    first = limiter.hit([("a", big), ("b", small)])
    second = limiter.hit([("a", big), ("b", small)])
    assert [d.allowed for d in first] == [True, True]
    assert [d.allowed for d in second] == [False, False]
    assert second[0].remaining == 9  # the refused hit took nothing from the bigger bucket
    assert limiter.peek("a", big).remaining == 9


def test_the_bucket_refills_over_time():
    limiter, rate = MemoryLimiter(), parse_rate("2/1s")
    assert all(limiter.hit([("k", rate)])[0].allowed for _ in range(2))
    refused = limiter.hit([("k", rate)])[0]
    assert not refused.allowed and refused.retry_after == 1
    import time

    time.sleep(0.6)
    assert limiter.hit([("k", rate)])[0].allowed


@pytest.mark.parametrize("bad", ["ten/minute", "5/fortnight", "0/minute", "5"])
def test_a_malformed_rate_is_a_configuration_error(bad):
    with pytest.raises(ImproperlyConfigured):
        parse_rate(bad)

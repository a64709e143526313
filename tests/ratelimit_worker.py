"""Run in a separate process by tests/test_ratelimit.py: hits a shared Redis bucket."""

from django_uploadkit.ratelimit import RedisLimiter, parse_rate


def hammer(url: str, prefix: str, count: int, queue) -> None:
    limiter = RedisLimiter(url, prefix)
    rate = parse_rate("50/hour")
    queue.put(sum(limiter.hit([("shared", rate)])[0].allowed for _ in range(count)))

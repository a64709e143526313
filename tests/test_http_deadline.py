"""A Deadline ends a watched HTTP exchange at its time, however slowly the other side answers,
and touches nothing after it has been left."""

from __future__ import annotations

import time

import pytest
import urllib3

from django_uploadkit.http_deadline import Deadline, pool_manager

from .servers.slow_http import SlowServer


def post(manager: urllib3.PoolManager, url: str, timeout: float, **options) -> urllib3.BaseHTTPResponse:
    return manager.urlopen("POST", url, body=b"{}", retries=False, timeout=timeout, **options)


def test_a_trickled_answer_is_cut_at_the_deadline_though_each_read_is_in_time():
    with SlowServer(interval=0.02) as server:  # ~2.4 s for the whole answer, 20 ms a byte
        with Deadline(0.5) as deadline:
            try:
                response = post(pool_manager(), server.url, timeout=1)
            except urllib3.exceptions.HTTPError:
                response = None
        assert deadline.expired
        assert server.wait_for(1) == [True]  # the server saw the client hang up
        # http.client took the cut for the end of the headers: what came looks like an answer.
        # Only ``expired`` tells (webhook_delivery counts such an attempt as failed).
        assert response is None or response.data != b"ok"


def test_outside_a_deadline_the_same_answer_arrives_in_full():
    with SlowServer(interval=0.01) as server:
        response = post(pool_manager(), server.url, timeout=1)
        assert response.status == 200 and response.data == b"ok"
        assert server.wait_for(1) == [False]


def test_a_deadline_left_in_time_leaves_the_pooled_connection_alone():
    manager = pool_manager()
    with SlowServer(interval=0) as server:
        with Deadline(0.3) as deadline:
            assert post(manager, server.url, timeout=1).data == b"ok"
        time.sleep(0.5)  # past the first deadline: the watchdog must not shut the socket now
        with Deadline(5) as second:
            assert post(manager, server.url, timeout=1).data == b"ok"
        assert not deadline.expired and not second.expired
        assert server.connections == 1  # the keep-alive connection served both
        assert server.wait_for(2) == [False, False]


def test_a_stalled_body_through_a_proxy_is_cut_too():
    """The proxy's pools are the watched ones as well: the request goes to the slow server as
    an HTTP proxy, for an address where nothing listens."""
    with SlowServer(mode="stall", stall=3) as proxy:
        manager = pool_manager(proxy.url.rsplit("/", 1)[0])
        with Deadline(0.5) as deadline:
            response = post(manager, "http://127.0.0.9:9/hook", timeout=2, preload_content=False)
            # Cut: the body ends short. Unwatched, this read would wait for the 2 s read
            # timeout and raise ReadTimeoutError instead.
            with pytest.raises(urllib3.exceptions.ProtocolError, match="IncompleteRead"):
                response.read(10)
        assert deadline.expired


def test_the_watchdog_wakes_once_for_all_that_fell_due_together():
    """Finished exchanges' deadlines still come due; one every 5 ms must not mean a wake-up
    every 5 ms."""
    from django_uploadkit.http_deadline import SLACK, _watchdog

    dog = _watchdog()
    before = dog.wakeups
    count, spacing = 100, 0.005
    for _ in range(count):
        with Deadline(0.05):
            pass
        time.sleep(spacing)
    time.sleep(0.05 + 2 * SLACK)
    woke = dog.wakeups - before
    assert SLACK == 0.1 and 1 <= woke <= 20  # about 0.5 s / SLACK = 5, not 100

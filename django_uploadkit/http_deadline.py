"""A total time limit on one HTTP exchange made with urllib3.

A read timeout bounds each connect and each read, not the exchange: a receiver that sends its
answer a byte at a time, each just inside the timeout, holds the caller as long as it likes.
Celery's time limits end such a task only in the prefork pool, and the threads and solo pools
that docs/celery.md gives for webhooks have none. So a webhook attempt runs inside a
``Deadline``: one watchdog thread per process shuts down the socket of an exchange still running
at its deadline, which ends the blocked read at once with an error.

Only pool managers made by ``pool_manager`` are watched; sockets are learned as each request
has been sent (``getresponse``), which covers a reused keep-alive connection as well as a new
one, and a proxy's.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager

_local = threading.local()
#: How late the watchdog may act on a deadline, in seconds.
SLACK = 0.1


class Deadline:
    """``with Deadline(seconds) as d:``: every watched exchange the thread makes inside ends by
    ``seconds`` from now; ``d.expired`` says afterwards whether the deadline cut one short.

    A cut exchange does not always raise: http.client takes the EOF for the end of the headers,
    and a body without a length for its end. Whatever was read, treat it as failed when
    ``d.expired``."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[Any] = []
        self._done = False
        self._lock = threading.Lock()

    def __enter__(self) -> "Deadline":
        self._outer = getattr(_local, "deadline", None)
        _local.deadline = self
        _watchdog().watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        # Under the lock: once this returns, the watchdog never touches these sockets again,
        # so a pooled connection is safe to reuse for the next exchange.
        with self._lock:
            self._done = True
            self._sockets.clear()
        _local.deadline = self._outer

    def _track(self, sock: Any) -> None:
        with self._lock:
            if self._done:
                return
            if self.expired:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: Any) -> None:
    """Wakes a thread blocked reading ``sock`` (close() alone would not)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):  # already closed; or a TLS-in-TLS transport
        try:
            sock.close()
        except OSError:
            pass


class _Watchdog:
    """One thread per process: sleeps until the earliest deadline, expires what is due."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self.wakeups = 0  # times it woke to expire what was due (tests check it stays few)
        threading.Thread(target=self._run, name="uploadkit-http-deadline", daemon=True).start()

    def watch(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    # Up to SLACK late, so that one wake-up takes all that fell due meanwhile:
                    # most entries are exchanges long finished, and at hundreds of attempts a
                    # second a wake-up each would cost more than the attempts' own deadlines.
                    self._wake.wait(self._heap[0][0] - time.monotonic() + SLACK if self._heap else None)
                self.wakeups += 1
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for deadline in due:  # outside the condition: a finished one returns at once
                deadline._expire()


_watchdogs: dict[int, _Watchdog] = {}
_watchdogs_lock = threading.Lock()


def _watchdog() -> _Watchdog:
    """This process's watchdog, started after a fork (threads do not survive one)."""
    pid = os.getpid()
    dog = _watchdogs.get(pid)
    if dog is None:
        with _watchdogs_lock:
            dog = _watchdogs.get(pid)
            if dog is None:
                _watchdogs.clear()
                dog = _watchdogs[pid] = _Watchdog()
    return dog


class _Watched:
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_local, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline._track(self.sock)
        return super().getresponse(*args, **kwargs)


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


def pool_manager(proxy_url: str | None = None, **connection_pool_kw: Any) -> PoolManager:
    """A urllib3 ``PoolManager`` (a ``ProxyManager`` through the HTTP(S) proxy ``proxy_url``)
    whose connections a ``Deadline`` can cut short."""
    if proxy_url is None:
        manager = PoolManager(**connection_pool_kw)
    else:
        manager = ProxyManager(proxy_url, **connection_pool_kw)
    manager.pool_classes_by_scheme = _POOLS
    return manager

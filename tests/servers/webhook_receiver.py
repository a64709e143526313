"""A real HTTP webhook receiver on 127.0.0.1 (a thread in the test process).

It answers each POST with the next status from a script (then 200), and keeps every request
it received, raw headers and body included, for the test to verify.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)


class WebhookReceiver:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """``tls``: (certificate file, key file) to answer over HTTPS instead of HTTP."""
        self.received: list[Received] = []
        self._script: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Condition()
        self.in_flight = 0
        self.max_in_flight = 0
        self._gather, self._gather_timeout = 0, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._arrive()
                status, extra = receiver._next()
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    receiver._lock.notify_all()
                payload = f"status {status}".encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                with receiver._lock:
                    receiver.in_flight -= 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "https" if tls else "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}/hooks"

    def script(self, *responses: int | tuple[int, dict[str, str]]) -> None:
        """The next responses, in order (a status, or a status and extra headers)."""
        with self._lock:
            self._script = [r if isinstance(r, tuple) else (r, {}) for r in responses]

    def gather(self, count: int, timeout: float = 10.0) -> None:
        """Hold requests until ``count`` are in flight at once (or ``timeout``), then stop
        holding: a sender that sends one request at a time leaves ``max_in_flight`` at 1."""
        self._gather, self._gather_timeout = count, timeout

    def _arrive(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._lock.notify_all()
            if self._gather:
                self._lock.wait_for(lambda: self.max_in_flight >= self._gather, self._gather_timeout)
                self._gather = 0

    def _next(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            return self._script.pop(0) if self._script else (200, {})

    def for_path(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def wait_for(self, count: int, timeout: float = 20.0, path: str = "/hooks") -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.for_path(path)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver got {len(self.for_path(path))} request(s) on {path}, "
                        f"expected {count}"
                    )
                self._lock.wait(left)
            return list(self.for_path(path))

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

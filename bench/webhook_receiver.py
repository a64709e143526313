"""The benchmark's webhook receiver: ``python -m bench.webhook_receiver PORT`` (secret in
``BENCH_WEBHOOK_SECRET``), on 127.0.0.1 only.

Every POST is checked with ``django_uploadkit.webhooks.verify_webhook`` (the function the docs
give receivers): 200 when the signature and timestamp hold, 400 otherwise. HTTP/1.1 with
keep-alive, one thread per connection, so a sender that reuses connections can. ``GET /stats``
answers what it saw: verified and refused requests, distinct webhook ids, the times of the
first and last verified one, and how many TCP connections were opened. ``POST /reset`` clears it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django_uploadkit.webhooks import WebhookVerificationError, verify_webhook

SECRET = os.environ["BENCH_WEBHOOK_SECRET"]


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.ok = 0
        self.bad = 0
        self.ids: set[str] = set()
        self.first: float | None = None
        self.last: float | None = None
        self.connections = 0


state = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm holds the body
        # back until the client's delayed ACK (40 ms) on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with state.lock:
            state.connections += 1

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/reset":
            with state.lock:
                state.reset()
            self._answer(200, b"reset")
            return
        try:
            verify_webhook(SECRET, dict(self.headers.items()), body)
        except WebhookVerificationError as exc:
            with state.lock:
                state.bad += 1
            self._answer(400, str(exc).encode())
            return
        now = time.time()
        with state.lock:
            state.ok += 1
            state.ids.add(self.headers["webhook-id"])
            state.first = now if state.first is None else state.first
            state.last = now
        self._answer(200, b"ok")

    def do_GET(self) -> None:  # noqa: N802
        with state.lock:
            stats = {"ok": state.ok, "bad": state.bad, "unique": len(state.ids),
                     "first": state.first, "last": state.last, "connections": state.connections}
        self._answer(200, json.dumps(stats).encode(), "application/json")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""A real HTTP server on 127.0.0.1 that answers slowly, as a hostile webhook receiver may.

Each request it reads whole, then sends its answer ``step`` bytes at a time, ``interval``
seconds apart (``trickle``), or sends its headers and then nothing (``stall``). It records, for
each exchange, whether the client hung up before the answer was sent in full.
"""

from __future__ import annotations

import socket
import threading
import time

ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
          b"X-Padding: " + b"p" * 40 + b"\r\n\r\nok")


class SlowServer:
    def __init__(self, mode: str = "trickle", interval: float = 0.1, stall: float = 5.0) -> None:
        self.mode, self.interval, self.stall = mode, interval, stall
        self.cut: list[bool] = []  # per exchange: the client hung up first
        self.connections = 0
        self._done = threading.Condition()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._closing = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def __enter__(self) -> "SlowServer":
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        self._sock.close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[bool]:
        with self._done:
            assert self._done.wait_for(lambda: len(self.cut) >= count, timeout), self.cut
            return list(self.cut)

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            while True:
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if not line:
                    return  # the client closed its keep-alive connection
                reader.read(length)
                self._record(self._answer(conn))

    def _answer(self, conn: socket.socket) -> bool:
        """Sends the answer its way; True if the client hung up before it was all sent."""
        try:
            if self.mode == "stall":
                conn.sendall(ANSWER[:-2])
                time.sleep(self.stall)
                conn.sendall(ANSWER[-2:])
                return False
            for i in range(len(ANSWER)):
                conn.sendall(ANSWER[i:i + 1])
                time.sleep(self.interval)
            return False
        except OSError:
            return True

    def _record(self, cut: bool) -> None:
        with self._done:
            self.cut.append(cut)
            self._done.notify_all()

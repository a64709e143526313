"""A real S3-compatible server for tests: ``@20minutes/s3rver`` 4.0.4 run under node.

Why s3rver rather than a mock: it verifies SigV4 signatures (header and presigned
query auth), so tests exercise the real signing path of boto3 and of browsers.

What s3rver 4.0.4 accepts as credentials: it has no option for them. Keys live in a
process-wide registry (``lib/models/account.js``) seeded with access key ``S3RVER`` /
secret ``S3RVER``. The launcher adds the pair given here and, when the access key
differs from ``S3RVER``, revokes the default one, so exactly one pair is valid.
An unknown access key gets 403 ``InvalidAccessKeyId``; a wrong secret gets 403
``SignatureDoesNotMatch``. Requests carrying no auth at all are NOT rejected:
s3rver has no ACLs, so anonymous GET/PUT/DELETE succeed.

Usage::

    with S3Server() as s3:
        boto3.client("s3", endpoint_url=s3.endpoint_url, ...)
        s3.stop(); ...; s3.start()   # same port, same data directory
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).with_name("s3rver_launcher.js")
S3RVER_PACKAGE = REPO_ROOT / "node_modules" / "@20minutes" / "s3rver" / "package.json"


def _free_port() -> int:
    """Ask the kernel for an unused loopback port (small race, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class S3Server:
    """One s3rver process with one bucket (permissive CORS) in a fresh temp dir.

    Port and data dir are chosen once, in ``__init__``, so ``stop()`` followed by
    ``start()`` (or ``restart()``) brings storage back at the same URL with the same
    objects. ``close()`` (and leaving the ``with`` block) also deletes the data dir.
    """

    region = "us-east-1"

    def __init__(
        self,
        bucket: str = "uploadkit-test",
        access_key: str = "S3RVER",
        secret_key: str = "S3RVER",
        port: int | None = None,
        start_timeout: float = 20.0,
        verbose: bool = False,
    ) -> None:
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.port = port or _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.verbose = verbose
        self.directory = Path(tempfile.mkdtemp(prefix="uploadkit-s3rver-"))
        self._log_path = self.directory.with_name(self.directory.name + ".log")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Launch node and block until the port accepts connections."""
        if self.running:
            return
        if not S3RVER_PACKAGE.is_file():
            raise RuntimeError(
                f"@20minutes/s3rver is not installed in {REPO_ROOT / 'node_modules'}; "
                f"run `npm ci` in {REPO_ROOT}"
            )
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("`node` (Node.js >= 20) is not on PATH; needed for s3rver")
        if _port_answers(self.port):
            raise RuntimeError(f"port {self.port} is already in use")
        env = {
            **os.environ,
            "S3RVER_PORT": str(self.port),
            "S3RVER_DIR": str(self.directory),
            "S3RVER_BUCKET": self.bucket,
            "S3RVER_ACCESS_KEY": self.access_key,
            "S3RVER_SECRET_KEY": self.secret_key,
            "S3RVER_VERBOSE": "1" if self.verbose else "0",
        }
        # A log file, not a pipe: an unread pipe could fill up and stall the server.
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [node, str(LAUNCHER)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        atexit.register(self.stop)  # don't leave node running if a test run aborts
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"s3rver exited with code {self._proc.returncode}:\n{self.log()}"
                )
            if _port_answers(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"s3rver did not answer on port {self.port} within "
            f"{self.start_timeout}s:\n{self.log()}"
        )

    def stop(self) -> None:
        """Terminate the process and wait; keeps port and data dir for ``start()``."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop and delete the data dir and log (the server cannot be restarted)."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
        self._log_path.unlink(missing_ok=True)

    def log(self) -> str:
        """The server's combined stdout/stderr so far (for failure messages)."""
        try:
            return self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> S3Server:
        try:
            self.start()
        except BaseException:
            self.close()  # __exit__ won't run if __enter__ raises
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

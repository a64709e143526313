"""Settings of the benchmark's Celery worker: ``bench.settings`` plus two bench-only probes,
both switched on by environment variables the harness sets (nothing here changes behaviour):

- ``BENCH_S3_CALL_LOG``: every DeleteObjects HTTP request this process sends (each attempt,
  retries included) appends one line "<pid> <keys in the request>" to that file, from a botocore
  ``before-send`` hook registered on every client botocore creates (and a "# ... answered"
  line when the answer, or the error, comes back). This is how the harness counts storage
  calls: at the wire, not from our own bookkeeping.
- ``BENCH_READY_FILE``: written when the worker is ready to consume (the worker logs at WARNING,
  so its "ready" line is not printed).
"""

import os
import time

from bench.settings import *  # noqa: F401,F403

_CALL_LOG = os.environ.get("BENCH_S3_CALL_LOG")
_READY_FILE = os.environ.get("BENCH_READY_FILE")

if _CALL_LOG:
    import botocore.session

    _create_client = botocore.session.Session.create_client

    def _count_delete_objects(request, **kwargs):  # type: ignore[no-untyped-def]
        body = request.body if isinstance(request.body, bytes) else (request.body or b"")
        if not isinstance(body, bytes):  # a stream: read it and put it back
            data = body.read()
            body.seek(0)
            body = data
        _append(f"{os.getpid()} {body.count(b'<Key>')} {time.time():.3f}\n")

    def _answered(response_dict=None, exception=None, **kwargs):  # type: ignore[no-untyped-def]
        status = (response_dict or {}).get("status_code") or type(exception).__name__
        _append(f"# {os.getpid()} answered {status} {time.time():.3f}\n")

    def _append(line: str) -> None:
        fd = os.open(_CALL_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def _create_client_counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        client = _create_client(self, *args, **kwargs)
        client.meta.events.register("before-send.s3.DeleteObjects", _count_delete_objects)
        client.meta.events.register("response-received.s3.DeleteObjects", _answered)
        return client

    botocore.session.Session.create_client = _create_client_counting

if _READY_FILE:
    from celery.signals import worker_ready

    @worker_ready.connect(weak=False)
    def _ready(**kwargs):  # type: ignore[no-untyped-def]
        with open(_READY_FILE, "w") as f:
            f.write(str(os.getpid()))

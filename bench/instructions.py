"""Instructions per request, counted by valgrind (callgrind): ``python -m bench.instructions``.

The machine is shared and its speed swings by a factor of two within minutes, so throughput
figures compare two versions of the code only roughly. An instruction count does not swing: the
same code, inputs and data give the same count whatever else the machine is doing. Each case
runs in its own process under ``valgrind --tool=callgrind --instr-atstart=no``; the process sets
itself up, warms up, and counts only the measured loop (``callgrind_control -i on/off``):

- ``ceiling``: ``POST /bench/ceiling`` through Django's WSGI handler (bench.views).
- ``upload_request``: ``POST /api/v1/upload/request`` (local backend, PostgreSQL), the same way.
- ``webhook_attempt``: ``webhook_delivery.attempt_delivery`` for one event, delivered to
  ``bench/webhook_receiver.py`` in its own process (which is not counted).

Only Python's own process is counted: PostgreSQL, the receiver and the kernel are not. Prints a
table and writes ``bench/instructions.json``. To compare with another commit, run the same
command in a worktree of it (its bench/.venv and node_modules may be symlinks to these).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
CASES = ("ceiling", "upload_request", "webhook_attempt")
WARMUP, MEASURED = 30, 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", choices=CASES, help="(internal) run one case under callgrind")
    args = parser.parse_args()
    if args.case:
        run_case(args.case)
        return
    from bench.run import api_project, django_setup, ensure_database, log

    ensure_database()
    django_setup()  # migrations and the fixtures made once, here, not by three cases at once
    api_project()
    out_dir = BENCH / ".data" / "callgrind"
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = {}
    for case in CASES:
        procs[case] = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out_dir / case}.out", sys.executable, "-m", "bench.instructions",
             "--case", case],
            cwd=BENCH.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        log(f"{case}: under callgrind (pid {procs[case].pid})")
    results: dict[str, Any] = {}
    try:
        for case, proc in procs.items():
            output, _ = proc.communicate()
            collected = re.search(r"Collected : (\d+)", output)
            if proc.returncode != 0 or not collected or "MEASURED-OK" not in output:
                raise SystemExit(f"{case} failed:\n{output[-3000:]}")
            results[case] = {"instructions_per_call": int(collected.group(1)) / MEASURED, "calls": MEASURED}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=BENCH.parent,
                            capture_output=True, text=True).stdout.strip()
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
              "python": sys.version.split()[0], "results": results}
    (BENCH / "instructions.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"Instructions per call (callgrind, {MEASURED} calls after {WARMUP} warm-up), commit {commit}:")
    for case, r in results.items():
        print(f"  {case:16s} {r['instructions_per_call'] / 1e6:8.3f} M")
    ratio = results["upload_request"]["instructions_per_call"] / results["ceiling"]["instructions_per_call"]
    print(f"  upload_request ÷ ceiling {ratio:.2f}; wrote bench/instructions.json")


def measured(loop: Callable[[], None]) -> None:
    """Count only ``loop``: callgrind is told to start and stop by its control tool."""
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
    loop()
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
    print("MEASURED-OK", flush=True)


def run_case(case: str) -> None:
    if case == "webhook_attempt":
        os.environ["UPLOADKIT_ALLOW_PRIVATE_WEBHOOKS"] = "1"  # the receiver is on loopback
    import django

    from bench import run

    os.environ.update(run.base_env())  # as run.django_setup(), without migrating again
    django.setup()
    if case == "webhook_attempt":
        webhook_case()
    else:
        request_case(case)


def request_case(case: str) -> None:
    from django.core.wsgi import get_wsgi_application

    from bench import run
    from django_uploadkit.keys import create_api_key
    from django_uploadkit.models import Project

    app = get_wsgi_application()
    key = ""
    if case == "upload_request":
        key = create_api_key(Project.objects.get(slug="bench-api"), name="bench").plaintext
    body = run.OUR_BODY.encode()
    path = "/bench/ceiling" if case == "ceiling" else "/api/v1/upload/request"

    def call() -> None:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8765", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1:8765",
        }
        if case == "upload_request":
            environ["HTTP_X_API_KEY"] = key
        status: list[str] = []
        response = app(environ, lambda s, headers, exc_info=None: status.append(s))
        b"".join(response)
        response.close()
        if not status[0].startswith("200"):
            raise RuntimeError(f"{path} answered {status[0]}")

    for _ in range(WARMUP):
        call()
    measured(lambda: [call() for _ in range(MEASURED)])


def webhook_case() -> None:
    from django.db import transaction

    from bench import run
    from django_uploadkit import webhook_delivery
    from django_uploadkit.models import File, FileRoute, Project, WebhookEvent
    from django_uploadkit.webhooks import generate_secret

    secret = generate_secret()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_receiver", str(port)], cwd=BENCH.parent,
        env={**os.environ, "BENCH_WEBHOOK_SECRET": secret}, stdout=subprocess.PIPE,
    )
    try:
        assert receiver.stdout and receiver.stdout.readline().strip() == b"READY"
        project, _ = Project.objects.get_or_create(slug="bench-instructions", defaults={"name": "Bench"})
        route, _ = FileRoute.objects.get_or_create(
            project=project, slug="imageUploader",
            defaults={"allowed_types": ["image/*"], "max_size": 4 * 1024 * 1024},
        )
        project.webhook_url, project.webhook_secret = f"http://127.0.0.1:{port}/", secret
        project.save(update_fields=["webhook_url", "webhook_secret"])
        tag = time.time_ns()
        files = File.objects.bulk_create([
            File(project=project, route=route, key=f"uploads/instr-{tag}-{i}/photo.jpg", name="photo.jpg",
                 size=1000, content_type="image/jpeg", status=File.Status.UPLOADED)
            for i in range(WARMUP + MEASURED)
        ])
        with transaction.atomic():
            events = webhook_delivery.record_file_events(webhook_delivery.FILE_UPLOADED, files)
        ids = [e.pk for e in events]
        for pk in ids[:WARMUP]:
            webhook_delivery.attempt_delivery(pk)
        measured(lambda: [webhook_delivery.attempt_delivery(pk) for pk in ids[WARMUP:]])
        delivered = WebhookEvent.objects.filter(pk__in=ids, status=WebhookEvent.Status.DELIVERED).count()
        if delivered != len(ids):
            raise RuntimeError(f"{delivered} of {len(ids)} events delivered")
        WebhookEvent.objects.filter(pk__in=ids).delete()
        File.objects.filter(pk__in=[f.pk for f in files]).delete()
    finally:
        receiver.terminate()
        receiver.wait()
        run.purge_queue()  # the outbox published the events' messages; no worker takes them


if __name__ == "__main__":
    main()

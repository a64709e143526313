"""The benchmark harness: ``python -m bench.run [--quick] [--only 1,3]`` from the repository root,
in the benchmark environment (``make bench`` / ``make bench-quick`` build it).

Every HTTP figure comes from wrk against gunicorn (``bench/gunicorn.conf.py``) serving
``bench.settings`` on PostgreSQL (database ``uploadkit_bench``, created if missing). Each figure
is the median of several runs with their min and max; each ratio is computed pair by pair from
runs interleaved A B A B, then summarised the same way. Nothing here asserts anything about
time: it prints figures and writes ``bench/results.json`` and ``BENCHMARKS.md`` (``--quick``
writes ``bench/results-quick.json`` only).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hmac
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
import timeit
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DATA = BENCH / ".data"
MEDIA = DATA / "media"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/uploadkit_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
# One Celery queue per harness run: the web process publishes to it, the bench worker consumes it.
QUEUE = os.environ.get("BENCH_CELERY_QUEUE", f"uploadkit-bench-{os.getpid()}")
BUCKET = "uploadkit-bench"
CONNECTIONS = 32

sys.path.insert(0, str(ROOT))

PROFILES = {
    # wrk seconds per run, runs per side, listing rows and depth, PUT size in MiB, PUT runs
    # files deleted through the API per run and runs; webhook events per run and runs
    "full": dict(seconds=10, runs=5, warmup=3, rows=1_000_000, depth=200_000, put_mib=1024, put_runs=5,
                 deletes=10_000, delete_runs=3, hooks=5_000, hook_runs=3,
                 hook_variants=["threads", "one_per_message", "prefork"], floors=True),
    "quick": dict(seconds=2, runs=3, warmup=1, rows=100_000, depth=20_000, put_mib=128, put_runs=2,
                  deletes=1_000, delete_runs=1, hooks=500, hook_runs=1,
                  hook_variants=["threads", "one_per_message"], floors=False),
}

#: Item 7's worker configurations: (pool, concurrency, extra environment), each one worker
#: process (prefork: its parent and one child). The first one a profile names is the figure
#: (the webhook worker docs/celery.md gives); the others are measured beside it, A B A B. All
#: run the example project's settings (CELERY_DB_REUSE_MAX = 1000), except "no_db_reuse":
#: Celery's default, under which its Django fix-up closes the database connection every task.
HOOK_VARIANTS: dict[str, tuple[str, int, dict[str, str]]] = {
    "threads": ("threads", 4, {}),
    "one_per_message": ("threads", 4, {}),
    "solo": ("solo", 1, {}),
    "prefork": ("prefork", 1, {}),
    "no_db_reuse": ("solo", 1, {"CELERY_DB_REUSE_MAX": "0"}),
}
#: Variants whose events are recorded with another ``WEBHOOK_BATCH_SIZE`` than the shipped
#: one (10 events of a project per task message). "one_per_message": a message per event, as
#: events recorded one by one (one upload completed at a time) are sent whatever the setting.
HOOK_BATCH_SIZES: dict[str, int] = {"one_per_message": 1}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": [round(v, 3) for v in values],
    }


# -- environment -------------------------------------------------------------------------------


def base_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "UPLOADKIT_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=PG_URL,
        REDIS_URL=REDIS_URL,
        MEDIA_ROOT=str(MEDIA),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        PYTHONPATH=str(ROOT),
        CELERY_QUEUE=QUEUE,
    )
    env.update(extra)
    return env


def s3_env(s3: Any) -> dict[str, str]:
    return {
        "UPLOADKIT_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": s3.bucket,
        "AWS_S3_ENDPOINT_URL": s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_S3_REGION_NAME": s3.region,
        "AWS_S3_ADDRESSING_STYLE": "path",
    }


def ensure_database() -> None:
    import psycopg

    name = PG_URL.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    os.environ.update(base_env())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# -- servers -----------------------------------------------------------------------------------


class Gunicorn:
    """gunicorn with bench/gunicorn.conf.py, bound to 127.0.0.1 only."""

    def __init__(self, env: dict[str, str], workers: int = 2 * (os.cpu_count() or 1) + 1) -> None:
        self.env = {**env, "BENCH_PORT": str(PORT), "BENCH_WORKERS": str(workers)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{PORT}"

    def __enter__(self) -> "Gunicorn":
        DATA.mkdir(parents=True, exist_ok=True)
        self.log = open(DATA / "gunicorn.log", "ab")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", str(BENCH / "gunicorn.conf.py")],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {DATA / 'gunicorn.log'}")
            try:
                urllib.request.urlopen(self.url + "/bench/ceiling", timeout=1).read()
                if len(self.workers()) >= int(self.env["BENCH_WORKERS"]):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer within 30 s")

    def workers(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.proc.pid).children()] if self.proc else []

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@contextlib.contextmanager
def s3_server() -> Iterator[Any]:
    from tests.servers.s3 import S3Server

    with S3Server(bucket=BUCKET) as s3:
        yield s3


class Worker:
    """``celery -A example_project worker`` on the run's queue (Redis), with bench.worker_settings:
    the example project's settings as deployed, plus the DeleteObjects counter and a ready file."""

    def __init__(self, env: dict[str, str], concurrency: int, call_log: Path | None = None,
                 pool: str = "prefork") -> None:
        self.ready_file = DATA / f"worker-ready-{os.getpid()}"
        self.env = {**env, "DJANGO_SETTINGS_MODULE": "bench.worker_settings",
                    "BENCH_READY_FILE": str(self.ready_file)}
        if call_log is not None:
            self.env["BENCH_S3_CALL_LOG"] = str(call_log)
        self.concurrency = concurrency
        self.pool = pool
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Worker":
        DATA.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        self.log = open(DATA / "worker.log", "ab")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "example_project", "worker",
             "-Q", QUEUE, "-n", f"{QUEUE}@%h", "--pool", self.pool,
             "--concurrency", str(self.concurrency), "--without-mingle", "--without-gossip",
             "--without-heartbeat", "--loglevel", "WARNING"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited: see {DATA / 'worker.log'}")
            if self.ready_file.exists():
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the Celery worker was not ready within 60 s")

    def pids(self) -> list[int]:
        import psutil

        if not self.proc:
            return []
        return [self.proc.pid] + [c.pid for c in psutil.Process(self.proc.pid).children()]

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.ready_file.unlink(missing_ok=True)
        self.log.close()


def purge_queue() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        names = list(client.scan_iter(match=f"{QUEUE}*"))
        if names:
            client.delete(*names)
    finally:
        client.close()


def use_broker() -> None:
    """Make the example project's Celery app (broker: REDIS_URL, queue: QUEUE) this process's."""
    from example_project.celery import app

    app.set_current()
    app.set_default()


# -- wrk ---------------------------------------------------------------------------------------


#: Process groups whose CPU time each load run charges to its requests (by process name).
CPU_GROUPS = {"gunicorn": "gunicorn", "postgres": "postgres", "s3rver": "node", "wrk": "wrk",
              "celery": "celery"}


def cpu_seconds() -> dict[tuple[str, int, int], float]:
    """CPU time (user + system) used so far by each live process of a group, keyed by (group,
    pid, start time), and by the machine (key ("machine", 0, 0))."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[tuple[str, int, int], float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        for group, prefix in CPU_GROUPS.items():
            if name.startswith(prefix):
                used[(group, int(pid), int(fields[19]))] = (int(fields[11]) + int(fields[12])) / tick
    busy = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    used[("machine", 0, 0)] = (sum(map(int, busy[:3])) + sum(map(int, busy[4:8]))) / tick  # all but idle
    return used


def cpu_used(before: dict[tuple[str, int, int], float],
             after: dict[tuple[str, int, int], float]) -> dict[str, float]:
    """CPU seconds each group used between two ``cpu_seconds`` readings, per process: one that
    started in between counts from zero, and one that ended in between is left out (its time
    is lost, where a sum over live processes would have gone down by all it ever used)."""
    used = dict.fromkeys([*CPU_GROUPS, "machine"], 0.0)
    for key, seconds in after.items():
        used[key[0]] += seconds - before.get(key, 0.0)
    return used


def wrk(url: str, seconds: float, method: str = "GET", body: str = "", key: str = "") -> dict[str, Any]:
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_BODY": body, "BENCH_KEY": key}
    cpu_before, wrk_before = cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(BENCH / "wrk.lua"), url],
        env=env, capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout
    cpu = cpu_used(cpu_before, cpu_seconds())
    # wrk starts and ends between the two readings: its CPU is this process's waited-for child's.
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu["wrk"] = (wrk_after.ru_utime + wrk_after.ru_stime) - (wrk_before.ru_utime + wrk_before.ru_stime)
    line = next(l for l in out.splitlines() if l.startswith("BENCH_JSON "))
    r = json.loads(line[len("BENCH_JSON "):])
    errors = sum(v for k, v in r.items() if k.startswith("errors_"))
    if errors:
        log(f"  wrk reported errors on {url}: {r}")
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": errors,
        "requests": r["requests"],
        # Where each request's CPU went, in microseconds: what the ratios cannot show.
        "cpu_us": {group: seconds / max(r["requests"], 1) * 1e6 for group, seconds in cpu.items()},
    }


def check(url: str, method: str, body: str, key: str) -> None:
    """One request before the load: the endpoint must answer 200 with what we send."""
    req = urllib.request.Request(url, data=body.encode() if body else None, method=method)
    if body:
        req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("x-api-key", key)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200, resp.status


def interleaved(sides: dict[str, dict[str, str]], p: dict[str, Any]) -> dict[str, Any]:
    """Warm each side up, then run them A B A B ...; figures per side and ratios per pair."""
    for name, s in sides.items():
        check(s["url"], s.get("method", "GET"), s.get("body", ""), s.get("key", ""))
        wrk(s["url"], p["warmup"], s.get("method", "GET"), s.get("body", ""), s.get("key", ""))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for i in range(p["runs"]):
        for name, s in sides.items():
            r = wrk(s["url"], p["seconds"], s.get("method", "GET"), s.get("body", ""), s.get("key", ""))
            runs[name].append(r)
            log(f"  run {i + 1} {name}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms")
    result: dict[str, Any] = {}
    for name, rs in runs.items():
        result[name] = {
            "rps": summary([r["rps"] for r in rs]),
            "p50_ms": summary([r["p50_ms"] for r in rs]),
            "p99_ms": summary([r["p99_ms"] for r in rs]),
            "errors": sum(r["errors"] for r in rs),
            "cpu_us": {group: summary([r["cpu_us"][group] for r in rs]) for group in rs[0]["cpu_us"]},
            "endpoint": f"{sides[name].get('method', 'GET')} {sides[name]['url'].split(str(PORT), 1)[1]}",
        }
    return {"sides": result, "raw": runs}


def ratio(runs: dict[str, list[dict[str, Any]]], a: str, b: str, field: str) -> dict[str, Any]:
    return summary([ra[field] / rb[field] for ra, rb in zip(runs[a], runs[b])])


# -- fixtures in the database ------------------------------------------------------------------


def api_project() -> tuple[Any, str]:
    """Project ``bench-api`` with route imageUploader (image/*, 4 MB), route big (1 GiB+), a key."""
    from django_uploadkit.keys import create_api_key
    from django_uploadkit.models import FileRoute, Project

    project, _ = Project.objects.get_or_create(slug="bench-api", defaults={"name": "Bench API"})
    FileRoute.objects.get_or_create(
        project=project, slug="imageUploader",
        defaults={"allowed_types": ["image/*"], "max_size": 4 * 1024 * 1024},
    )
    FileRoute.objects.update_or_create(
        project=project, slug="big",
        defaults={"allowed_types": ["application/octet-stream"], "max_size": 4 * 1024**3},
    )
    return project, create_api_key(project, name="bench").plaintext


def listing_project(rows: int) -> tuple[Any, str]:
    """Project ``bench-list-<rows>`` with exactly ``rows`` UPLOADED files, loaded once by SQL."""
    from django.db import connection

    from django_uploadkit.keys import create_api_key
    from django_uploadkit.models import File, FileRoute, Project

    project, _ = Project.objects.get_or_create(slug=f"bench-list-{rows}", defaults={"name": "Bench list"})
    route, _ = FileRoute.objects.get_or_create(
        project=project, slug="imageUploader",
        defaults={"allowed_types": ["image/*"], "max_size": 4 * 1024 * 1024},
    )
    have = File.objects.filter(project=project).count()  # the harness's own check, not the API's
    if have != rows:
        log(f"loading {rows:,} files into project {project.slug} (once; kept for later runs)")
        started = time.monotonic()
        table = File._meta.db_table
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])
            cur.execute(
                f"""
                INSERT INTO {table} (id, project_id, route_id, key, name, size, content_type,
                                     status, metadata, created_at, uploaded_at)
                SELECT 'file_' || lpad(to_hex(%s::bigint * 100000000 + g), 26, '0'), %s, %s,
                       'uploads/' || md5(%s || ':' || g) || '/photo-' || g || '.jpg',
                       'photo-' || g || '.jpg', 1000 + g, 'image/jpeg', 'UPLOADED', '{{}}'::jsonb,
                       now() - make_interval(secs => %s - g), now() - make_interval(secs => %s - g)
                FROM generate_series(1, %s) AS g
                """,
                [project.pk, project.pk, route.pk, project.pk, rows, rows, rows],
            )
            cur.execute(f"ANALYZE {table}")
        log(f"  loaded in {time.monotonic() - started:.1f} s")
    return project, create_api_key(project, name="bench").plaintext


# -- 1 and 2: upload/request -------------------------------------------------------------------

OUR_BODY = json.dumps(
    {"fileName": "photo.jpg", "fileSize": 204800, "contentType": "image/jpeg", "routeSlug": "imageUploader"}
)


def bench_request_vs_ceiling(p: dict[str, Any], key: str) -> dict[str, Any]:
    log("1. POST /api/v1/upload/request (local backend) vs the DRF ceiling")
    sides = {
        "uploadkit": {"url": "/api/v1/upload/request", "method": "POST", "body": OUR_BODY, "key": key},
        "ceiling": {"url": "/bench/ceiling", "method": "POST", "body": OUR_BODY},
    }
    if p["floors"]:  # the ceiling plus a round trip, plus the one INSERT (bench/views.py)
        sides["round_trip"] = {"url": "/bench/round-trip", "method": "POST", "body": OUR_BODY}
        sides["insert_only"] = {"url": "/bench/insert", "method": "POST", "body": OUR_BODY}
    with Gunicorn(base_env()) as g:
        out = interleaved({name: {**s, "url": g.url + s["url"]} for name, s in sides.items()}, p)
    out["ratio_rps"] = ratio(out["raw"], "uploadkit", "ceiling", "rps")
    if p["floors"]:
        out["ratio_round_trip"] = ratio(out["raw"], "round_trip", "ceiling", "rps")
        out["ratio_insert_only"] = ratio(out["raw"], "insert_only", "ceiling", "rps")
    return out


def bench_request_vs_peer(p: dict[str, Any], key: str) -> dict[str, Any]:
    from bench.peer_app.models import FIELD_ID

    log("2. POST /api/v1/upload/request (s3 backend) vs django-s3-file-field upload-initialize, same s3rver")
    peer_body = json.dumps(
        {"field_id": FIELD_ID, "file_name": "photo.jpg", "file_size": 204800, "content_type": "image/jpeg"}
    )
    with s3_server() as s3, Gunicorn(base_env(**s3_env(s3))) as g:
        out = interleaved(
            {
                "uploadkit_s3": {"url": g.url + "/api/v1/upload/request", "method": "POST", "body": OUR_BODY, "key": key},
                "peer": {"url": g.url + "/bench/peer/upload-initialize/", "method": "POST", "body": peer_body},
            },
            p,
        )
    out["ratio_rps"] = ratio(out["raw"], "uploadkit_s3", "peer", "rps")
    return out


# -- 3: listing --------------------------------------------------------------------------------


def bench_listing(p: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from django_uploadkit import services
    from django_uploadkit.cursors import encode_cursor
    from django_uploadkit.models import File

    rows, depth = p["rows"], p["depth"]
    log(f"3. GET /api/v1/files?limit=50 on {rows:,} files: first page vs {depth:,} deep")
    project, key = listing_project(rows)
    # The cursor a client holds after paging through `depth` files.
    last = (
        File.objects.filter(project=project).order_by("-created_at", "-id")
        .values_list("created_at", "id")[depth - 1]
    )
    cursor = encode_cursor(*last)

    sql: dict[str, Any] = {}
    client = Client()
    client.get("/api/v1/files?limit=1", HTTP_X_API_KEY=key)  # the key's last_used_at write, once
    for name, query in (("first", "limit=50"), ("deep", f"limit=50&cursor={cursor}")):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/v1/files?{query}", HTTP_X_API_KEY=key)
        assert response.status_code == 200, response.content
        assert len(response.json()["files"]) == 50
        queries = [q["sql"] for q in ctx.captured_queries]
        page_sql = [q for q in queries if File._meta.db_table in q and "SELECT" in q]
        with CaptureQueriesContext(connection) as ctx2:
            services.list_files(project, limit=50, cursor=cursor if name == "deep" else None)
        listing_sql = ctx2.captured_queries[-1]["sql"]
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + listing_sql)
            plan = [r[0] for r in cur.fetchall()]
        sql[name] = {
            "queries_per_request": len(queries),
            "queries": queries,
            "count_star": any("COUNT(" in q.upper() for q in queries),
            "listing_plan": plan,
            "uses_listing_index": any("uploadkit_file_listing" in line for line in plan),
            "execution_ms": float(plan[-1].split(":")[1].split()[0]),
            "rows_removed_by_filter": sum(
                int(line.split(":")[1]) for line in plan if "Rows Removed by Filter" in line
            ),
        }
        log(f"  {name}: {len(queries)} queries, COUNT(*): {sql[name]['count_star']}, "
            f"index scan on uploadkit_file_listing: {sql[name]['uses_listing_index']}, {plan[-1].strip()}")

    with Gunicorn(base_env()) as g:
        out = interleaved(
            {
                "first_page": {"url": g.url + "/api/v1/files?limit=50", "key": key},
                "deep_page": {"url": g.url + f"/api/v1/files?limit=50&cursor={cursor}", "key": key},
            },
            p,
        )
    out["ratio_p50"] = ratio(out["raw"], "deep_page", "first_page", "p50_ms")
    out["ratio_rps"] = ratio(out["raw"], "first_page", "deep_page", "rps")
    out["sql"] = sql
    out["sql_execution_ratio"] = sql["deep"]["execution_ms"] / max(sql["first"]["execution_ms"], 1e-3)
    out["rows"], out["depth"] = rows, depth
    return out


# -- 4: API-key authentication cost ------------------------------------------------------------


def profile_is_full(p: dict[str, Any]) -> bool:
    return p["seconds"] == PROFILES["full"]["seconds"]


def bench_auth(p: dict[str, Any], key: str) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from django_uploadkit import keys
    from django_uploadkit.models import ApiKey

    log("4. API-key authentication in process: CPU outside the one indexed query")
    prefix = keys._split(key)
    row = ApiKey.objects.select_related("project").get(prefix=prefix)

    def non_db() -> None:
        # authenticate_key's steps, with the row it would fetch already in hand.
        pfx = keys._split(key)
        assert pfx is not None
        if not hmac.compare_digest(row.hashed_key, keys.hash_key(key)):
            raise AssertionError
        now = timezone.now()
        if row.is_revoked or row.is_expired(now):
            raise AssertionError
        keys._touch(row, now)

    def full() -> None:
        keys.authenticate_key(key)

    def query_only() -> None:
        # The query authenticate_key makes: its SQL built once per connection (queries.py).
        keys._BY_PREFIX.first("default", prefix=prefix)

    def orm_query() -> None:
        # The same query built by the ORM on each call, as before the compiled query.
        next(iter(ApiKey.objects.select_related("project").filter(prefix=prefix).order_by()), None)

    with CaptureQueriesContext(connection) as ctx:
        full()
        full()
    number = 20000 if profile_is_full(p) else 5000
    out: dict[str, Any] = {"queries_per_auth": len(ctx.captured_queries) / 2}
    parts: dict[str, Callable[[], Any]] = {
        "non_db_us": non_db,
        "split_us": lambda: keys._split(key),
        "hash_us": lambda: keys.hash_key(key),
        "compare_us": lambda: hmac.compare_digest(row.hashed_key, "0" * 64),
    }
    for name, fn in parts.items():
        fn()
        times = [t / number * 1e6 for t in timeit.repeat(fn, number=number, repeat=5, timer=time.process_time)]
        out[name] = summary(times)
    n_db = number // 10 if profile_is_full(p) else 200
    full_t = [t / n_db * 1e6 for t in timeit.repeat(full, number=n_db, repeat=5)]
    query_t = [t / n_db * 1e6 for t in timeit.repeat(query_only, number=n_db, repeat=5)]
    orm_t = [t / n_db * 1e6 for t in timeit.repeat(orm_query, number=n_db, repeat=5)]
    out["full_with_query_us"] = summary(full_t)
    out["query_only_us"] = summary(query_t)
    out["orm_query_us"] = summary(orm_t)
    out["full_minus_query_us"] = summary([a - b for a, b in zip(full_t, query_t)])
    log(f"  non-DB CPU per request: {out['non_db_us']['median']:.2f} us "
        f"(split {out['split_us']['median']:.2f}, hash {out['hash_us']['median']:.2f}); "
        f"with the query: {out['full_with_query_us']['median']:.0f} us, query alone {out['query_only_us']['median']:.0f} us")
    return out


# -- 5: local PUT ingest -----------------------------------------------------------------------


def vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bench_ingest(p: dict[str, Any], key: str) -> dict[str, Any]:
    mib = p["put_mib"]
    size = mib * 1024 * 1024
    log(f"5. local backend PUT of {mib} MiB vs dd to the same disk (both flushed with fsync)")
    MEDIA.mkdir(parents=True, exist_ok=True)
    sources = {}
    for n in sorted({16, mib}):
        src = DATA / f"source-{n}MiB.bin"
        if not src.exists() or src.stat().st_size != n * 1024 * 1024:
            subprocess.run(["dd", "if=/dev/urandom", f"of={src}", "bs=1M", f"count={n}", "status=none"], check=True)
        sources[n] = src
    dd_target = MEDIA / "dd-target.bin"

    def run_dd() -> float:
        os.sync()  # each side pays for writing back its own bytes only, not what came before
        started = time.monotonic()
        subprocess.run(
            ["dd", f"if={sources[mib]}", f"of={dd_target}", "bs=1M", "conv=fdatasync", "status=none"],
            check=True,
        )
        elapsed = time.monotonic() - started
        dd_target.unlink()
        return size / elapsed / 1e6

    import requests

    def run_put(g: Gunicorn, n: int) -> float:
        body = {"fileName": "big.bin", "fileSize": n * 1024 * 1024,
                "contentType": "application/octet-stream", "routeSlug": "big"}
        ticket = requests.post(g.url + "/api/v1/upload/request", json=body, headers={"x-api-key": key}, timeout=30)
        ticket.raise_for_status()
        t = ticket.json()
        os.sync()
        started = time.monotonic()
        out = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-T", str(sources[n]),
             "-H", "Content-Type: application/octet-stream", "-H", "Expect:", t["uploadUrl"]],
            capture_output=True, text=True, check=True, timeout=600,
        ).stdout
        stored = MEDIA / "uploadkit" / t["key"]
        fsync_path(stored)
        elapsed = time.monotonic() - started
        assert out == "200", out
        assert stored.stat().st_size == n * 1024 * 1024
        stored.unlink()
        return n * 1024 * 1024 / elapsed / 1e6

    # One worker, fresh: its peak RSS is the upload's.
    with Gunicorn(base_env(), workers=1) as g:
        (worker,) = g.workers()
        rss_idle = vm(worker, "VmRSS")
        run_put(g, 16)
        hwm_small = vm(worker, "VmHWM")
        dd_runs, put_runs = [], []
        for i in range(p["put_runs"]):
            dd_runs.append(run_dd())
            put_runs.append(run_put(g, mib))
            log(f"  run {i + 1}: dd {dd_runs[-1]:.0f} MB/s, PUT {put_runs[-1]:.0f} MB/s")
        hwm_big = vm(worker, "VmHWM")
    out = {
        "size_mib": mib,
        "dd_mb_s": summary(dd_runs),
        "put_mb_s": summary(put_runs),
        "ratio": summary([a / b for a, b in zip(put_runs, dd_runs)]),
        "worker_rss_idle_mb": rss_idle / 1e6,
        "worker_peak_rss_after_16mib_mb": hwm_small / 1e6,
        f"worker_peak_rss_after_{mib}mib_mb": hwm_big / 1e6,
        "worker_peak_rss_mb": hwm_big / 1e6,
    }
    log(f"  worker RSS idle {rss_idle / 1e6:.0f} MB, peak after 16 MiB {hwm_small / 1e6:.0f} MB, "
        f"after {mib} MiB {hwm_big / 1e6:.0f} MB")
    return out


# -- 6: deletion through the API and the task queue ---------------------------------------------


def s3_client(s3: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=s3.endpoint_url, aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key, region_name=s3.region,
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 5}),
    )


def objects_left(client: Any, bucket: str, prefix: str) -> int:
    """1 while any object is left under the prefix, then 0: one ListObjects call (MaxKeys=1).
    Version 1 of the listing, because s3rver 4.0.4 under Node 20 fails (500) to make the
    continuation token a truncated ListObjectsV2 needs; v1 pages by marker."""
    return len(client.list_objects(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("Contents", []))


def api_deletes(url: str, key: str, object_keys: list[str], connections: int) -> dict[str, Any]:
    """DELETE /api/v1/files/<key> for every key, ``connections`` at a time (keep-alive clients)."""
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import quote, urlsplit

    host, port = urlsplit(url).hostname, urlsplit(url).port
    local = threading.local()
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(object_key: str) -> None:
        for attempt in range(3):  # a connection the server closed is opened again
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(host, port, timeout=60)
            try:
                conn.request("DELETE", "/api/v1/files/" + quote(object_key, safe="/"),
                             headers={"x-api-key": key})
                response = conn.getresponse()
                response.read()
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    local.conn = None
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                local.conn = None
                if attempt == 2:
                    raise
        with lock:
            statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.monotonic()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(one, object_keys))
    return {"seconds": time.monotonic() - started, "statuses": statuses}


def bench_deletes(p: dict[str, Any], key: str) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    import redis
    from django.db import connection

    from django_uploadkit import services
    from django_uploadkit.models import File, FileRoute, OutboxMessage, Project

    n = p["deletes"]
    log(f"6. deleting {n:,} files through the API ({CONNECTIONS} connections) and the task queue "
        f"(a Celery worker on Redis) from the s3 backend on s3rver")
    project = Project.objects.get(slug="bench-api")
    route = FileRoute.objects.get(project=project, slug="imageUploader")
    call_log = DATA / f"delete-calls-{os.getpid()}.log"
    runs: list[dict[str, Any]] = []
    broker = redis.Redis.from_url(REDIS_URL)
    with s3_server() as s3:
        client = s3_client(s3)
        env = base_env(**s3_env(s3))
        prefix = "uploads/"
        with Worker(env, concurrency=os.cpu_count() or 2, call_log=call_log), Gunicorn(env) as g:
            for i in range(p["delete_runs"]):
                OutboxMessage.objects.filter(task="django_uploadkit.tasks.delete_objects").delete()
                files = [
                    File(project=project, route=route, key=services.new_object_key(f"del-{j}.jpg"),
                         name=f"del-{j}.jpg", size=1, content_type="image/jpeg",
                         status=File.Status.UPLOADED)
                    for j in range(n)
                ]
                File.objects.bulk_create(files, batch_size=1000)
                with ThreadPoolExecutor(16) as pool:
                    list(pool.map(lambda f: client.put_object(Bucket=s3.bucket, Key=f.key, Body=b"x",
                                                              ContentType="image/jpeg"), files))
                assert objects_left(client, s3.bucket, prefix) == 1
                call_log.unlink(missing_ok=True)
                connection.close()  # no idle transaction held across the run

                # Polled once the API calls are done (no object can be gone before its DELETE):
                # listing a big bucket costs s3rver CPU that the deletion itself needs.
                started = time.monotonic()
                api = api_deletes(g.url, key, [f.key for f in files], CONNECTIONS)
                gone_at: list[float] = []
                poll_client = s3_client(s3)
                while time.monotonic() < started + 600:
                    if objects_left(poll_client, s3.bucket, prefix) == 0:
                        gone_at.append(time.monotonic())
                        break
                    time.sleep(0.5)
                if not gone_at:
                    raise RuntimeError("objects were still there 600 s after the deletes began")
                # Let queued work finish (nothing left in the queue or the outbox) before counting.
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and (
                    broker.llen(QUEUE) or OutboxMessage.objects.filter(
                        task="django_uploadkit.tasks.delete_objects").exists()
                ):
                    time.sleep(0.2)
                time.sleep(1.0)
                lines = call_log.read_text().splitlines() if call_log.exists() else []
                calls = [int(line.split()[1]) for line in lines if not line.startswith("#")]
                shutil.copy(call_log, DATA / f"delete-calls-run{i + 1}.log") if lines else None
                deleted_rows = File.objects.filter(pk__in=[f.pk for f in files],
                                                   status=File.Status.DELETED).count()
                run = {
                    "files": n,
                    "wall_s": gone_at[0] - started,
                    "api_s": api["seconds"],
                    "api_rps": n / api["seconds"],
                    "statuses": api["statuses"],
                    "delete_objects_calls": len(calls),
                    "keys_in_calls": sum(calls),
                    "largest_call": max(calls, default=0),
                    "rows_deleted": deleted_rows,
                }
                runs.append(run)
                log(f"  run {i + 1}: all {n:,} objects gone after {run['wall_s']:.1f} s "
                    f"(API: {run['api_rps']:.0f} DELETE/s, {api['statuses']}); "
                    f"{len(calls)} DeleteObjects calls carrying {sum(calls):,} keys")
                File.objects.filter(pk__in=[f.pk for f in files]).delete()
    broker.close()
    purge_queue()
    call_log.unlink(missing_ok=True)
    return {
        "files": n,
        "wall_s": summary([r["wall_s"] for r in runs]),
        "api_rps": summary([r["api_rps"] for r in runs]),
        "delete_objects_calls": summary([r["delete_objects_calls"] for r in runs]),
        "keys_in_calls": summary([r["keys_in_calls"] for r in runs]),
        "runs": runs,
    }


# -- 7: webhook delivery ----------------------------------------------------------------------


class Receiver:
    """bench/webhook_receiver.py in its own process, on a free port of 127.0.0.1."""

    def __init__(self, secret: str) -> None:
        from tests.servers.s3 import _free_port

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.env = {**os.environ, "BENCH_WEBHOOK_SECRET": secret, "PYTHONPATH": str(ROOT)}
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Receiver":
        DATA.mkdir(parents=True, exist_ok=True)
        self.log = open(DATA / "receiver.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.webhook_receiver", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.stats()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("the webhook receiver did not answer within 20 s")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{self.port}/reset", data=b"", method="POST"),
            timeout=5,
        ).read()

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


def worker_options(name: str) -> str:
    """How a variant's worker is started (and its events recorded), as the table shows it."""
    pool, concurrency, extra = HOOK_VARIANTS[name]
    words = [f"--pool {pool} --concurrency {concurrency}", *(f"{k}={v}" for k, v in extra.items())]
    if name in HOOK_BATCH_SIZES:
        words.append(f"WEBHOOK_BATCH_SIZE={HOOK_BATCH_SIZES[name]}")
    return " ".join(words)


def bench_webhooks(p: dict[str, Any]) -> dict[str, Any]:
    import redis
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import override_settings

    from django_uploadkit import webhook_delivery
    from django_uploadkit.conf import uploadkit_settings
    from django_uploadkit.models import File, FileRoute, Project, WebhookEvent
    from django_uploadkit.webhooks import generate_secret

    n = p["hooks"]
    log(f"7. webhook delivery: {n:,} file.uploaded events through one Celery worker process "
        f"({', '.join(p['hook_variants'])}) to a local receiver that verifies every signature")
    project, _ = Project.objects.get_or_create(slug="bench-hooks", defaults={"name": "Bench hooks"})
    route, _ = FileRoute.objects.get_or_create(
        project=project, slug="imageUploader",
        defaults={"allowed_types": ["image/*"], "max_size": 4 * 1024 * 1024},
    )
    secret = generate_secret()
    runs: list[dict[str, Any]] = []
    broker = redis.Redis.from_url(REDIS_URL)
    # The receiver is on loopback: the worker must be allowed to call it (development setting).
    env = base_env(UPLOADKIT_ALLOW_PRIVATE_WEBHOOKS="1")
    variants = {k: HOOK_VARIANTS[k] for k in p["hook_variants"]}
    order = [(i, name) for i in range(p["hook_runs"]) for name in variants]
    with Receiver(secret) as rx:
        # Set directly: the guard in set_webhook_url would refuse loopback in this process.
        project.webhook_url, project.webhook_secret = rx.url, secret
        project.save(update_fields=["webhook_url", "webhook_secret"])
        for i, variant in order:
            purge_queue()
            files = [
                File(project=project, route=route, key=f"uploads/bench-hook-{i}-{j}/photo.jpg",
                     name="photo.jpg", size=1000, content_type="image/jpeg",
                     status=File.Status.UPLOADED)
                for j in range(n)
            ]
            File.objects.bulk_create(files, batch_size=1000)
            # The events are queued before the worker starts, so the rate is the worker's alone.
            batch = HOOK_BATCH_SIZES.get(variant, uploadkit_settings.WEBHOOK_BATCH_SIZE)
            started = time.monotonic()
            with override_settings(UPLOADKIT={**settings.UPLOADKIT, "WEBHOOK_BATCH_SIZE": batch}):
                with transaction.atomic():
                    events = webhook_delivery.record_file_events(webhook_delivery.FILE_UPLOADED, files)
            queued_s = time.monotonic() - started
            messages = -(-n // batch)
            assert len(events) == n and broker.llen(QUEUE) == messages, broker.llen(QUEUE)
            connection.close()
            rx.reset()
            pool, concurrency, extra = variants[variant]
            with Worker({**env, **extra}, concurrency=concurrency, pool=pool) as w:
                ready, cpu_before = time.time(), cpu_seconds()
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    stats = rx.stats()
                    if stats["unique"] >= n:
                        break
                    time.sleep(0.2)
                else:
                    raise RuntimeError(f"the receiver got {stats} after 600 s")
                cpu = cpu_used(cpu_before, cpu_seconds())
                children = len(w.pids()) - 1
            delivered = WebhookEvent.objects.filter(
                pk__in=[e.pk for e in events], status=WebhookEvent.Status.DELIVERED).count()
            run = {
                "variant": variant,
                "events": n,
                "deliveries_per_s": (stats["ok"] - 1) / (stats["last"] - stats["first"]),
                "from_worker_ready_s": stats["last"] - ready,
                "verified": stats["ok"],
                "refused": stats["bad"],
                "distinct_ids": stats["unique"],
                "receiver_connections": stats["connections"],
                "events_delivered_in_db": delivered,
                "queueing_s": queued_s,
                "worker": worker_options(variant),
                "task_messages": messages,
                "child_processes": children,
                # From the worker's ready to the last delivery: the worker's processes, all of
                # PostgreSQL's, and the whole machine (the receiver and Redis included).
                "cpu_us_per_delivery": {g: cpu[g] / n * 1e6 for g in ("celery", "postgres", "machine")},
            }
            runs.append(run)
            log(f"  run {i + 1} {variant}: {run['deliveries_per_s']:.0f} deliveries/s "
                f"({stats['ok']:,} verified, {stats['bad']} refused, {stats['connections']} "
                f"connections; all {n:,} delivered {run['from_worker_ready_s']:.1f} s after the "
                f"worker was ready; {delivered:,} DELIVERED in the database)")
            WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).delete()
            File.objects.filter(pk__in=[f.pk for f in files]).delete()
    broker.close()
    purge_queue()
    by = {name: [r for r in runs if r["variant"] == name] for name in variants}
    first = p["hook_variants"][0]
    return {
        "events": n,
        "variants": {name: worker_options(name) for name in variants},
        "deliveries_per_s": summary([r["deliveries_per_s"] for r in by[first]]),
        **{f"deliveries_per_s_{name}": summary([r["deliveries_per_s"] for r in by[name]]) for name in variants},
        # Each run of the first variant over the run of another made just after it (A B A B).
        **{f"ratio_{first}_over_{name}": summary([a["deliveries_per_s"] / b["deliveries_per_s"]
                                                  for a, b in zip(by[first], by[name])])
           for name in variants if name != first},
        "all_verified": all(r["verified"] >= n and r["refused"] == 0 and r["events_delivered_in_db"] == n for r in runs),
        "receiver_connections": summary([r["receiver_connections"] for r in runs]),
        **{f"cpu_us_per_delivery_{name}": {g: summary([r["cpu_us_per_delivery"][g] for r in by[name]])
                                           for g in ("celery", "postgres", "machine")}
           for name in variants},
        "runs": runs,
    }


# -- the report --------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import version

    from django.db import connection

    def cmd(*args: str) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    cpu = next(
        (l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")),
        platform.processor(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return {
        "cpu": f"{cpu} ({os.cpu_count()} cores)",
        "memory": f"{mem / 1024**3:.0f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": version("Django"),
        "djangorestframework": version("djangorestframework"),
        "gunicorn": version("gunicorn"),
        "psycopg": version("psycopg"),
        "boto3": version("boto3"),
        "django-s3-file-field (peer)": version("django-s3-file-field"),
        "postgresql": pg,
        "wrk": cmd("wrk", "-v").split(" [")[0] if shutil.which("wrk") else "?",
        "node (s3rver)": cmd("node", "--version"),
        "git commit": cmd("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
    }


def fmt(s: dict[str, Any], digits: int = 0, unit: str = "") -> str:
    f = f"{{:.{digits}f}}"
    return f"{f.format(s['median'])}{unit} ({f.format(s['min'])}–{f.format(s['max'])})"


def cpu(side: dict[str, Any], groups: tuple[str, ...]) -> str:
    """Median CPU per request of each group, in microseconds: ``2283 / 453 / 2868``."""
    return " / ".join(f"{side['cpu_us'][g]['median']:.0f}" for g in groups) if "cpu_us" in side else "?"


def table(results: dict[str, Any]) -> list[str]:
    rows = ["| # | measure | figure: median (min–max) | target | met |", "| --- | --- | --- | --- | --- |"]
    r = results["results"]
    if "1" in r:
        u, c = r["1"]["sides"]["uploadkit"], r["1"]["sides"]["ceiling"]
        rows += [
            f"| 1 | upload/request (local), req/s | {fmt(u['rps'])} | | |",
            f"| 1 | ceiling (bare DRF constant JSON), req/s | {fmt(c['rps'])} | | |",
            f"| 1 | upload/request ÷ ceiling, throughput | {fmt(r['1']['ratio_rps'], 2)} | ≥ 0.5 | {'yes' if r['1']['ratio_rps']['median'] >= 0.5 else 'no'} |",
            f"| 1 | upload/request p50 / p99, ms | {fmt(u['p50_ms'], 1)} / {fmt(u['p99_ms'], 1)} | p99 < 25 | {'yes' if u['p99_ms']['median'] < 25 else 'no'} |",
            f"| 1 | ceiling p50 / p99, ms | {fmt(c['p50_ms'], 1)} / {fmt(c['p99_ms'], 1)} | | |",
            f"| 1 | CPU per request, µs: gunicorn / postgres / whole machine; ours, ceiling | "
            f"{cpu(u, ('gunicorn', 'postgres', 'machine'))}; {cpu(c, ('gunicorn', 'postgres', 'machine'))} | | |",
        ]
        if "ratio_insert_only" in r["1"]:
            t, i = r["1"]["sides"]["round_trip"], r["1"]["sides"]["insert_only"]
            rows += [
                f"| 1 | floor: ceiling + one SELECT 1, req/s; ÷ ceiling | {fmt(t['rps'])}; {fmt(r['1']['ratio_round_trip'], 2)} | | |",
                f"| 1 | floor: ceiling + the one INSERT alone, req/s; ÷ ceiling | {fmt(i['rps'])}; {fmt(r['1']['ratio_insert_only'], 2)} | | |",
                f"| 1 | CPU per request, µs: gunicorn / postgres / whole machine; + SELECT 1, + INSERT | "
                f"{cpu(t, ('gunicorn', 'postgres', 'machine'))}; {cpu(i, ('gunicorn', 'postgres', 'machine'))} | | |",
            ]
    if "2" in r:
        u, c = r["2"]["sides"]["uploadkit_s3"], r["2"]["sides"]["peer"]
        rows += [
            f"| 2 | upload/request (s3 backend), req/s | {fmt(u['rps'])} | | |",
            f"| 2 | django-s3-file-field upload-initialize, req/s | {fmt(c['rps'])} | | |",
            f"| 2 | ours ÷ peer, throughput | {fmt(r['2']['ratio_rps'], 2)} | ≥ 2 | {'yes' if r['2']['ratio_rps']['median'] >= 2 else 'no'} |",
            f"| 2 | ours p50 / p99, ms | {fmt(u['p50_ms'], 1)} / {fmt(u['p99_ms'], 1)} | | |",
            f"| 2 | peer p50 / p99, ms | {fmt(c['p50_ms'], 1)} / {fmt(c['p99_ms'], 1)} | | |",
            f"| 2 | CPU per request, µs: gunicorn / postgres / s3rver / whole machine; ours, peer | "
            f"{cpu(u, ('gunicorn', 'postgres', 's3rver', 'machine'))}; "
            f"{cpu(c, ('gunicorn', 'postgres', 's3rver', 'machine'))} | | |",
        ]
    if "3" in r:
        f_, d = r["3"]["sides"]["first_page"], r["3"]["sides"]["deep_page"]
        no_count = not r["3"]["sql"]["first"]["count_star"] and not r["3"]["sql"]["deep"]["count_star"]
        rows += [
            f"| 3 | files?limit=50, first page, req/s; p50 ms | {fmt(f_['rps'])}; {fmt(f_['p50_ms'], 1)} | | |",
            f"| 3 | files?limit=50, {r['3']['depth']:,} deep, req/s; p50 ms | {fmt(d['rps'])}; {fmt(d['p50_ms'], 1)} | | |",
            f"| 3 | deep ÷ first, p50 latency | {fmt(r['3']['ratio_p50'], 2)} | ≤ 1.5 | {'yes' if r['3']['ratio_p50']['median'] <= 1.5 else 'no'} |",
            f"| 3 | the page's SQL alone (EXPLAIN ANALYZE), first / deep, ms; rows filtered out | {r['3']['sql']['first']['execution_ms']:.3f} / {r['3']['sql']['deep']['execution_ms']:.3f}; {r['3']['sql']['deep']['rows_removed_by_filter']} | ≤ 1.5× | {'yes' if r['3']['sql']['deep']['execution_ms'] <= 1.5 * r['3']['sql']['first']['execution_ms'] + 0.05 else 'no'} |",
            f"| 3 | COUNT(*) in either request; queries per request | {'none' if no_count else 'PRESENT'}; {r['3']['sql']['first']['queries_per_request']} and {r['3']['sql']['deep']['queries_per_request']} | none | {'yes' if no_count else 'no'} |",
        ]
    if "4" in r:
        a = r["4"]
        rows += [
            f"| 4 | API-key auth CPU outside the query, µs | {fmt(a['non_db_us'], 2)} | < 10 | {'yes' if a['non_db_us']['median'] < 10 else 'no'} |",
            f"| 4 | of which HMAC-SHA256 of the key, µs | {fmt(a['hash_us'], 2)} | | |",
            f"| 4 | whole authenticate_key with its one query, µs (query alone) | {fmt(a['full_with_query_us'])} ({fmt(a['query_only_us'])}) | | |",
            *([f"| 4 | the same query built by the ORM on every call, µs | {fmt(a['orm_query_us'])} | | |"]
              if "orm_query_us" in a else []),
        ]
    if "5" in r:
        i = r["5"]
        rows += [
            f"| 5 | local PUT of {i['size_mib']} MiB, MB/s | {fmt(i['put_mb_s'])} | | |",
            f"| 5 | dd of the same file to the same disk, MB/s | {fmt(i['dd_mb_s'])} | | |",
            f"| 5 | PUT ÷ dd | {fmt(i['ratio'], 2)} | ≥ 0.5 | {'yes' if i['ratio']['median'] >= 0.5 else 'no'} |",
            f"| 5 | worker peak RSS: idle / after 16 MiB / after {i['size_mib']} MiB, MB | {i['worker_rss_idle_mb']:.0f} / {i['worker_peak_rss_after_16mib_mb']:.0f} / {i['worker_peak_rss_mb']:.0f} | < 100, flat | {'yes' if i['worker_peak_rss_mb'] < 100 and i['worker_peak_rss_mb'] - i['worker_peak_rss_after_16mib_mb'] < 10 else 'no'} |",
        ]
    if "6" in r:
        d = r["6"]
        calls = d["delete_objects_calls"]
        rows += [
            f"| 6 | delete {d['files']:,} files (API, {CONNECTIONS} connections) until every object is gone, s | {fmt(d['wall_s'], 1)} | | |",
            f"| 6 | of which the API calls, DELETE/s | {fmt(d['api_rps'])} | | |",
            f"| 6 | DeleteObjects HTTP calls seen at the wire (keys carried) | {fmt(calls)} ({fmt(d['keys_in_calls'])}) | {d['files'] // 1000} | {'yes' if calls['median'] <= d['files'] // 1000 else 'no'} |",
        ]
    if "7" in r:
        h = r["7"]
        first = next(iter(h["variants"]))
        rows.append(
            f"| 7 | webhook deliveries/s, one worker process (`worker {h['variants'][first]}`) | {fmt(h['deliveries_per_s'])} | ≥ 200 | {'yes' if h['deliveries_per_s']['median'] >= 200 else 'no'} |"
        )
        for name, command in list(h["variants"].items())[1:]:
            rows += [
                f"| 7 | the same, `worker {command}` | {fmt(h['deliveries_per_s_' + name])} | | |",
                f"| 7 | the first ÷ this one (runs interleaved) | {fmt(h['ratio_' + first + '_over_' + name], 2)} | | |",
            ]
        if f"cpu_us_per_delivery_{first}" in h:  # since the eighth round
            per = "; ".join(cpu({"cpu_us": h[f"cpu_us_per_delivery_{name}"]}, ("celery", "postgres", "machine"))
                            for name in h["variants"])
            rows.append(f"| 7 | CPU per delivery, µs: worker / postgres / whole machine; {', '.join(h['variants'])} | {per} | | |")
        rows.append(f"| 7 | every signature verified, every event DELIVERED | {'yes' if h['all_verified'] else 'NO'} | | |")
    return rows


def write_markdown(results: dict[str, Any]) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else ""
    start, end = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
    v = results["versions"]
    block = [
        start,
        f"Run {results['date']} with `{results['command']}` ({results['profile']} profile: "
        f"{results['params']['runs']} interleaved runs of {results['params']['seconds']} s per side, "
        f"{CONNECTIONS} connections).",
        "",
        "Machine and versions: " + "; ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        *table(results),
        end,
    ]
    if start in text and end in text:
        text = text.split(start)[0] + "\n".join(block) + text.split(end, 1)[1]
    else:
        text = text + "\n" + "\n".join(block) + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller and shorter (under two minutes)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7", help="comma-separated items to run")
    args = parser.parse_args()
    profile = "quick" if args.quick else "full"
    # BENCH_OVERRIDES='{"delete_runs": 1}' changes a profile's sizes for a one-off measurement.
    p = {**PROFILES[profile], **json.loads(os.environ.get("BENCH_OVERRIDES", "{}"))}
    only = set(args.only.split(","))
    started = time.monotonic()

    ensure_database()
    django_setup()
    _, key = api_project()
    results: dict[str, Any] = {}
    if "4" in only:
        results["4"] = bench_auth(p, key)
    if "1" in only:
        results["1"] = bench_request_vs_ceiling(p, key)
    if "2" in only:
        results["2"] = bench_request_vs_peer(p, key)
    if "3" in only:
        results["3"] = bench_listing(p)
    if "5" in only:
        results["5"] = bench_ingest(p, key)
    if "6" in only or "7" in only:
        use_broker()
    if "6" in only:
        results["6"] = bench_deletes(p, key)
    if "7" in only:
        results["7"] = bench_webhooks(p)
    doc = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "make bench-quick" if args.quick else "make bench",
        "profile": profile,
        "params": {**p, "connections": CONNECTIONS},
        "versions": versions(),
        "elapsed_s": round(time.monotonic() - started, 1),
        "results": results,
    }
    everything = only == {"1", "2", "3", "4", "5", "6", "7"}
    # Only a full run of every item replaces the published figures; anything less goes aside.
    out = BENCH / ("results-quick.json" if args.quick else "results.json" if everything else "results-partial.json")
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print("\n".join(table(doc)))
    if not args.quick and everything:
        write_markdown(doc)
    log(f"done in {doc['elapsed_s']} s; wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

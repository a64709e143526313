"""How long the admin dashboard takes over 100,000 files (a benchmark, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/dashboard.py
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python benchmarks/dashboard.py --files 100000

It creates a throwaway test database (Django's test-database machinery, like the test suite),
fills one project with N files over 60 days across 4 routes and all statuses, then times
``dashboard.build_dashboard`` alone and the whole admin page (queries + template), plus the
admin file list, each several times. Prints the figures and writes them as JSON
(default ``artifacts/benchmarks/dashboard.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")


def timed(fn, repeat: int) -> dict[str, float]:
    fn()  # warm up (connection, caches)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
        "runs": repeat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--output", default=str(ROOT / "artifacts" / "benchmarks" / "dashboard.json"))
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from django_uploadkit.dashboard import build_dashboard
    from django_uploadkit.models import File, FileRoute, Project

    setup_test_environment()
    # Its own database, so it never collides with a test run's.
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / "uploadkit_dashboard_bench.sqlite3")
    else:
        test_settings["NAME"] = "uploadkit_dashboard_bench"
    settings.ALLOWED_HOSTS = ["testserver"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        project = Project.objects.create(slug="bench", name="Bench")
        Project.objects.create(slug="other", name="Other")
        routes = [
            FileRoute.objects.create(project=project, slug=slug, max_size=10**9)
            for slug in ("images", "documents", "videos", "avatars")
        ]
        statuses = (
            [File.Status.UPLOADED] * 80 + [File.Status.DELETED] * 8 + [File.Status.FAILED] * 4
            + [File.Status.EXPIRED] * 5 + [File.Status.PENDING] * 3
        )
        now = timezone.now()
        start = time.perf_counter()
        batch = []
        for i in range(args.files):
            status = statuses[i % len(statuses)]
            created = now - timedelta(minutes=(i * 60 * 24 * 60) // args.files)
            batch.append(
                File(
                    project=project, route=routes[i % 4], key=f"uploads/{i:08d}/f.jpg",
                    name=f"f{i}.jpg", size=1000 + (i % 5000) * 100, content_type="image/jpeg",
                    status=status, created_at=created,
                    uploaded_at=created if status in (File.Status.UPLOADED, File.Status.DELETED) else None,
                )
            )
            if len(batch) == 5000:
                File.objects.bulk_create(batch)
                batch = []
        File.objects.bulk_create(batch)
        fill_s = time.perf_counter() - start
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_superuser("bench", "b@example.com", "pw")
        client = Client()
        client.force_login(user)
        dashboard_url = f"/admin/django_uploadkit/project/{project.pk}/dashboard/"
        files_url = "/admin/django_uploadkit/file/"

        def page(url):
            def get():
                response = client.get(url)
                assert response.status_code == 200, response.status_code
            return get

        with CaptureQueriesContext(connection) as queries:
            build_dashboard(project)
        results = {
            "database": connection.vendor,
            "files": args.files,
            "fill_seconds": round(fill_s, 1),
            "dashboard_queries": len(queries.captured_queries),
            "build_dashboard": timed(lambda: build_dashboard(project), args.repeat),
            "dashboard_page": timed(page(dashboard_url), args.repeat),
            "file_changelist_page": timed(page(files_url), args.repeat),
        }
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"UploadKit dashboard over {results['files']:,} files on {results['database']}"
          f" (filled in {results['fill_seconds']} s)")
    print(f"  queries per dashboard: {results['dashboard_queries']}")
    for name in ("build_dashboard", "dashboard_page", "file_changelist_page"):
        r = results[name]
        print(f"  {name:22} median {r['median_ms']:8.1f} ms   min {r['min_ms']:8.1f}   max {r['max_ms']:8.1f}   ({r['runs']} runs)")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"  written to {out}")


if __name__ == "__main__":
    main()

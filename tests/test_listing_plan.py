"""A deep listing page is one index range scan that starts at the cursor (PostgreSQL's plan).

Found by the listing benchmark (BENCHMARKS.md, item 3): without a plain ``created_at <=``
bound next to the keyset's OR, PostgreSQL scanned the index from the newest file and filtered
out every row before the cursor, so a page 200,000 files deep cost 200,000 rows. The plan, not
a time, is asserted here.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_uploadkit import services
from django_uploadkit.cursors import encode_cursor
from django_uploadkit.models import File

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="reads PostgreSQL's EXPLAIN output"
)


def test_a_cursor_page_bounds_the_index_scan_by_the_cursor(project, route):
    base = timezone.now()
    File.objects.bulk_create(
        File(project=project, route=route, key=f"uploads/p{i:04d}/f.jpg", name="f.jpg", size=1,
             content_type="image/jpeg", status="UPLOADED", created_at=base - timedelta(seconds=i))
        for i in range(300)
    )
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {File._meta.db_table}")
    cursor_row = File.objects.order_by("-created_at", "-id")[199]
    with CaptureQueriesContext(connection) as ctx:
        page = services.list_files(
            project, limit=50, cursor=encode_cursor(cursor_row.created_at, cursor_row.id)
        )
    assert page.files[0].created_at < cursor_row.created_at
    (sql,) = [q["sql"] for q in ctx.captured_queries]
    assert "COUNT(" not in sql.upper()
    with connection.cursor() as cur:
        # A small table: ask for the plan that a big one gets.
        cur.execute("SET enable_seqscan = off")
        cur.execute("SET enable_bitmapscan = off")
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cur.fetchone()[0][0]["Plan"]
        cur.execute("RESET enable_seqscan")
        cur.execute("RESET enable_bitmapscan")
    scan = plan
    while scan.get("Plans"):
        scan = scan["Plans"][0]
    assert scan["Node Type"] == "Index Scan", plan
    assert "created_at" in scan["Index Cond"], scan
    assert scan.get("Rows Removed by Filter", 0) <= 1, scan

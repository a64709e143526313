"""A deep listing page is one index range scan that starts at the cursor.

Found by the listing benchmark (BENCHMARKS.md, item 3): without a plain ``created_at <=``
bound next to the keyset's OR, PostgreSQL scanned the index from the newest file and filtered
out every row before the cursor, so a page 200,000 files deep cost 200,000 rows. The query's
shape is asserted on every database; on PostgreSQL the plan is asserted too, with the
listing index as the only index the planner may use (on a 300-row table it would otherwise
pick whichever index its statistics of the moment favour).
"""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_uploadkit import services
from django_uploadkit.cursors import encode_cursor
from django_uploadkit.models import File


def test_a_cursor_page_bounds_the_index_scan_by_the_cursor(project, route):
    base = timezone.now()
    File.objects.bulk_create(
        File(project=project, route=route, key=f"uploads/p{i:04d}/f.jpg", name="f.jpg", size=1,
             content_type="image/jpeg", status="UPLOADED", created_at=base - timedelta(seconds=i))
        for i in range(300)
    )
    cursor_row = File.objects.order_by("-created_at", "-id")[199]
    with CaptureQueriesContext(connection) as ctx:
        page = services.list_files(
            project, limit=50, cursor=encode_cursor(cursor_row.created_at, cursor_row.id)
        )
    assert page.files[0].created_at < cursor_row.created_at
    (sql,) = [q["sql"] for q in ctx.captured_queries]
    assert "COUNT(" not in sql.upper()
    # The plain upper bound, ANDed with the keyset condition: what an index range scan starts at.
    assert '."created_at" <= ' in sql and " AND (" in sql, sql
    if connection.vendor != "postgresql":
        return
    table = File._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname <> %s",
            [table, "uploadkit_file_listing"],
        )
        others = [row[0] for row in cur.fetchall()]
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before the DDL
        # Inside the test's transaction: rolled back with it.
        for name in others:
            cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}" CASCADE')
            cur.execute(f'DROP INDEX IF EXISTS "{name}" CASCADE')
        cur.execute(f"ANALYZE {table}")
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cur.fetchone()[0][0]["Plan"]
    scan = plan
    while scan.get("Plans"):
        scan = scan["Plans"][0]
    assert scan.get("Index Name") == "uploadkit_file_listing", plan
    assert "created_at" in scan["Index Cond"], scan
    assert scan.get("Rows Removed by Filter", 0) <= 1, scan

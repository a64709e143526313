"""The project dashboard: the right figures for a known set of files, in a fixed number of
queries whatever the number of files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_uploadkit.dashboard import build_dashboard
from django_uploadkit.models import File, FileRoute, Project

Status = File.Status


def add_file(route: FileRoute, status: str, *, size: int = 100, days_ago: int = 0, now=None) -> File:
    now = now or timezone.now()
    when = now - timedelta(days=days_ago)
    return File.objects.create(
        project=route.project,
        route=route,
        key=f"uploads/{File.objects.count()}/a.png",
        name="a.png",
        size=size,
        content_type="image/png",
        status=status,
        created_at=when,
        uploaded_at=when if status in (Status.UPLOADED, Status.DELETED) else None,
    )


@pytest.fixture
def known_files(route: FileRoute):
    """imageUploader: 3 stored (100+200+300 bytes; today, today, 2 days ago), 1 deleted
    (uploaded 2 days ago), 2 failed, 1 expired, 1 pending; docs: 1 stored (1000 bytes, 40 days
    ago: outside the chart); another project's files never count."""
    now = timezone.now()
    docs = FileRoute.objects.create(project=route.project, slug="docs", max_size=10**6)
    add_file(route, Status.UPLOADED, size=100, now=now)
    add_file(route, Status.UPLOADED, size=200, now=now)
    add_file(route, Status.UPLOADED, size=300, days_ago=2, now=now)
    add_file(route, Status.DELETED, size=5000, days_ago=2, now=now)
    add_file(route, Status.FAILED, now=now)
    add_file(route, Status.FAILED, days_ago=3, now=now)
    add_file(route, Status.EXPIRED, days_ago=1, now=now)
    add_file(route, Status.PENDING, now=now)
    add_file(docs, Status.UPLOADED, size=1000, days_ago=40, now=now)
    other = Project.objects.create(slug="other", name="Other")
    other_route = FileRoute.objects.create(project=other, slug="imageUploader", max_size=10**6)
    add_file(other_route, Status.UPLOADED, size=7, now=now)
    add_file(other_route, Status.FAILED, now=now)
    return now


def test_the_figures_for_a_known_set_of_files(project, known_files):
    dashboard = build_dashboard(project, now=known_files)
    assert [(r.slug, r.files, r.bytes) for r in dashboard.routes] == [
        ("docs", 1, 1000),
        ("imageUploader", 3, 600),
    ]
    assert dashboard.files == 4 and dashboard.bytes == 1600
    assert dashboard.failed == 2 and dashboard.expired == 1 and dashboard.pending == 1
    assert len(dashboard.days) == 30
    today = timezone.localdate(known_files)
    per_day = dict(dashboard.days)
    assert per_day[today] == 2
    assert per_day[today - timedelta(days=2)] == 2  # the deleted file was uploaded that day
    assert sum(per_day.values()) == 4  # the 40-day-old upload is outside the chart
    assert dashboard.days[0][0] == today - timedelta(days=29) and dashboard.days[-1][0] == today
    assert [b.count for b in dashboard.bars] == [c for _, c in dashboard.days]
    tallest = max(dashboard.bars, key=lambda b: b.height)
    assert tallest.count == 2 and all(b.height == 0 for b in dashboard.bars if b.count == 0)


def test_the_dashboard_page_draws_the_chart_with_those_counts(admin_client, project, known_files):
    response = admin_client.get(f"/admin/django_uploadkit/project/{project.pk}/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    today = timezone.localdate(known_files)
    assert f'data-day="{today.isoformat()}" data-count="2"' in page
    assert page.count('class="uk-day"') == 30
    assert '<svg id="uploads-chart"' in page
    assert 'data-metric="failed"><span class="uk-value">2<' in page
    assert 'data-metric="expired"><span class="uk-value">1<' in page
    assert '<tr data-route="imageUploader"><td>imageUploader</td><td class="uk-num">3</td><td class="uk-num">600</td>' in page


def test_the_dashboard_is_a_fixed_number_of_queries(
    admin_client, project, route, django_assert_max_num_queries
):
    add_file(route, Status.UPLOADED)
    with django_assert_max_num_queries(5):
        build_dashboard(project)
    url = f"/admin/django_uploadkit/project/{project.pk}/dashboard/"
    with django_assert_max_num_queries(12) as few:
        admin_client.get(url)
    routes = [FileRoute.objects.create(project=project, slug=f"r{i}", max_size=10) for i in range(5)]
    File.objects.bulk_create(
        File(project=project, route=routes[i % 5], key=f"uploads/b{i}/x.png", name="x.png", size=i,
             content_type="image/png", status=Status.UPLOADED, uploaded_at=timezone.now()
             - timedelta(days=i % 30))
        for i in range(300)
    )
    with django_assert_max_num_queries(5):
        build_dashboard(project)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(url)

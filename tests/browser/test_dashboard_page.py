"""The dashboard renders its chart with the right counts for a known set of files."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from django_uploadkit.models import File, FileRoute, Project

from .conftest import login, screenshot

Status = File.Status


def test_the_dashboard_chart_shows_the_known_counts(page, admin_user):
    project = Project.objects.create(slug="acme", name="Acme")
    images = FileRoute.objects.create(project=project, slug="imageUploader", max_size=10**7)
    docs = FileRoute.objects.create(project=project, slug="documents", max_size=10**7)
    now = timezone.now()
    plan = {0: 3, 1: 1, 4: 5, 10: 2, 29: 1}  # days ago -> uploads that day
    n = 0
    for days_ago, count in plan.items():
        for _ in range(count):
            n += 1
            route = images if n % 3 else docs
            File.objects.create(
                project=project, route=route, key=f"uploads/k{n}/f.png", name=f"f{n}.png",
                size=1024 * n, content_type="image/png", status=Status.UPLOADED,
                created_at=now - timedelta(days=days_ago), uploaded_at=now - timedelta(days=days_ago),
            )
    for status, count in ((Status.FAILED, 2), (Status.EXPIRED, 3)):
        for i in range(count):
            n += 1
            File.objects.create(project=project, route=images, key=f"uploads/k{n}/f.png",
                                name="x.png", size=1, content_type="image/png", status=status)

    login(page)
    page.goto(f"/admin/django_uploadkit/project/{project.pk}/change/")
    page.click("a.uploadkit-dashboard-link")
    page.wait_for_selector("#uploads-chart")

    today = timezone.localdate(now)
    days = page.locator("#uploads-chart g.uk-day")
    assert days.count() == 30
    counts = {
        g.get_attribute("data-day"): int(g.get_attribute("data-count")) for g in days.all()
    }
    expected = {(today - timedelta(days=d)).isoformat(): c for d, c in plan.items()}
    assert {day: c for day, c in counts.items() if c} == expected
    # The bars are drawn in proportion: the busiest day is the tallest, empty days are flat.
    heights = {
        g.get_attribute("data-day"): g.locator("rect").bounding_box()["height"] for g in days.all()
    }
    busiest = (today - timedelta(days=4)).isoformat()
    assert max(heights, key=heights.get) == busiest
    one = heights[(today - timedelta(days=1)).isoformat()]
    assert abs(heights[busiest] / one - 5) < 0.1
    assert all(heights[d] == 0 for d, c in counts.items() if c == 0)

    def metric(name: str) -> str:
        return page.locator(f"[data-metric='{name}'] .uk-value").inner_text()

    assert metric("files") == "12" and metric("uploads") == "12"
    assert metric("failed") == "2" and metric("expired") == "3"
    assert page.locator("#routes-table tr[data-route='documents'] td").nth(1).inner_text() == "4"
    assert page.locator("#routes-table tr[data-route='imageUploader'] td").nth(1).inner_text() == "8"
    screenshot(page, "dashboard")

"""The admin dashboard's figures for one project, in a fixed number of aggregate queries.

Whatever the number of files: one query for files and bytes by route, one for the counts by
status, one for uploads per day and one for webhook events. Each
is a GROUP BY the database answers from the project's rows; nothing is loaded row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import File, FileRoute, Project, WebhookEvent
from .services import format_size

Status = File.Status

CHART_WIDTH = 720
CHART_HEIGHT = 180
CHART_TOP = 16  # room for the tallest bar's label
CHART_BOTTOM = 22  # room for the date labels


@dataclass(frozen=True)
class RouteStats:
    slug: str
    files: int
    bytes: int

    @property
    def size(self) -> str:
        return format_size(self.bytes)


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float
    label: str  # the date under the bar, every few days; "" elsewhere

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class WebhookStats:
    total: int
    succeeded: int

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.total if self.total else None


@dataclass
class Dashboard:
    project: Project
    routes: list[RouteStats]
    by_status: dict[str, int]
    days: list[tuple[date, int]]
    bars: list[Bar] = field(default_factory=list)
    webhooks: WebhookStats | None = None

    @property
    def files(self) -> int:
        return sum(r.files for r in self.routes)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.routes)

    @property
    def size(self) -> str:
        return format_size(self.bytes)

    @property
    def failed(self) -> int:
        return self.by_status.get(Status.FAILED, 0)

    @property
    def expired(self) -> int:
        return self.by_status.get(Status.EXPIRED, 0)

    @property
    def pending(self) -> int:
        return self.by_status.get(Status.PENDING, 0)

    @property
    def uploads_in_period(self) -> int:
        return sum(count for _, count in self.days)

    @property
    def max_per_day(self) -> int:
        return max((count for _, count in self.days), default=0)

    @property
    def chart_width(self) -> int:
        return CHART_WIDTH

    @property
    def chart_height(self) -> int:
        return CHART_HEIGHT

    @property
    def chart_baseline(self) -> int:
        return CHART_HEIGHT - CHART_BOTTOM


def build_dashboard(project: Project, *, now: datetime | None = None, days: int = 30) -> Dashboard:
    now = now or timezone.now()
    uploaded = Q(files__status=Status.UPLOADED)
    routes = [
        RouteStats(slug, n or 0, size or 0)
        for slug, n, size in FileRoute.objects.filter(project=project)
        .annotate(n=Count("files", filter=uploaded), size=Sum("files__size", filter=uploaded))
        .order_by("slug")
        .values_list("slug", "n", "size")
    ]
    by_status = dict(
        File.objects.filter(project=project)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    dashboard = Dashboard(
        project=project,
        routes=routes,
        by_status=by_status,
        days=uploads_per_day(project, now=now, days=days),
        webhooks=webhook_stats(project),
    )
    dashboard.bars = chart_bars(dashboard.days)
    return dashboard


def uploads_per_day(project: Project, *, now: datetime, days: int) -> list[tuple[date, int]]:
    """Completed uploads per calendar day (current time zone), the last ``days`` days, oldest
    first, days without uploads included. Deleted files count on the day they were uploaded."""
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    counts = dict(
        File.objects.filter(project=project, uploaded_at__gte=start)
        .annotate(day=TruncDate("uploaded_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)]


def webhook_stats(project: Project) -> WebhookStats | None:
    """Finished webhook events and how many were delivered (pending ones are not counted);
    None when the project has sent none."""
    totals = WebhookEvent.objects.filter(
        project=project, status__in=[WebhookEvent.Status.DELIVERED, WebhookEvent.Status.FAILED]
    ).aggregate(
        total=Count("pk"), succeeded=Count("pk", filter=Q(status=WebhookEvent.Status.DELIVERED))
    )
    if not totals["total"]:
        return None
    return WebhookStats(total=totals["total"], succeeded=totals["succeeded"])


def chart_bars(days: list[tuple[date, int]]) -> list[Bar]:
    """Geometry of an SVG bar chart, drawn by the template: no script, works offline."""
    if not days:
        return []
    top = max(count for _, count in days) or 1
    slot = CHART_WIDTH / len(days)
    usable = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    bars = []
    for i, (day, count) in enumerate(days):
        height = round(usable * count / top, 1)
        label = day.strftime("%b %d") if i % 5 == 0 else ""
        bars.append(
            Bar(
                day=day,
                count=count,
                x=round(i * slot + slot * 0.15, 1),
                y=round(CHART_HEIGHT - CHART_BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                label=label,
            )
        )
    return bars

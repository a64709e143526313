"""Creating projects and routes the same way from the admin, commands and tests."""

from __future__ import annotations

from .models import FileRoute, Project


def ensure_project(slug: str, name: str | None = None) -> tuple[Project, bool]:
    project = Project.objects.filter(slug=slug).first()
    if project is not None:
        return project, False
    project = Project(slug=slug, name=name or slug)
    project.full_clean()
    project.save()
    return project, True


def ensure_route(
    project: Project, slug: str, *, allowed_types: list[str], max_size: int
) -> tuple[FileRoute, bool]:
    """Create the route, or bring an existing one to these rules."""
    route = FileRoute.objects.filter(project=project, slug=slug).first()
    created = route is None
    route = route or FileRoute(project=project, slug=slug)
    route.allowed_types = allowed_types
    route.max_size = max_size
    route.full_clean()
    route.save()
    return route, created

"""Finding a project's route by slug: every upload/request needs one, and routes rarely change.

Each worker process keeps the routes it has read, tagged with the project's ``routes_version``.
The request's project comes fresh from the database with its API key, so a cached route is used
only while that version is still current; any change to a route through the model (the admin,
``uploadkit_create_route``, ``projects.ensure_route``, ``route.save()`` or ``.delete()``) moves
to a new version in the same transaction, and the next request in every process reads the
route again (a route moved to another project changes both projects' versions).
``QuerySet.update()``, ``bulk_create()`` and ``bulk_update()`` send no signals: call
``routes_changed(project_id)`` after using them on routes.
"""

from __future__ import annotations

from typing import Any

from django.db import router
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .ids import new_version
from .models import FileRoute, Project

MAX_CACHED = 4096  # routes kept per process; the cache starts over when it is full

# (database, project id, slug) -> (routes_version, FileRoute field values, or None for "no such
# route"). The values are shared by every request that hits them: they are never mutated.
_cache: dict[tuple[str, int, str], tuple[int, tuple[Any, ...] | None]] = {}
_FIELDS = [f.attname for f in FileRoute._meta.concrete_fields]


def get_route(project: Project, slug: str) -> FileRoute | None:
    """The project's route with this slug, or None; no query while the cached copy is current."""
    db = project._state.db or router.db_for_read(FileRoute)
    cached = _cache.get((db, project.pk, slug))
    if cached is not None and cached[0] == project.routes_version:
        values = cached[1]
    else:
        rows = FileRoute.objects.using(db).filter(project=project, slug=slug).values_list(*_FIELDS)
        values = next(iter(rows), None)  # (project, slug) is unique
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[(db, project.pk, slug)] = (project.routes_version, values)
    if values is None:
        return None
    # A new instance per call, with its own list of patterns: nothing one request sets on it
    # is seen by another.
    route = FileRoute.from_db(db, _FIELDS, values)
    route.allowed_types = list(route.allowed_types)
    route.project = project
    return route


def routes_changed(project_id: int, using: str | None = None) -> None:
    """Give the project a new routes_version, so every process reads its routes again."""
    projects = Project.objects.using(using) if using else Project.objects
    projects.filter(pk=project_id).update(routes_version=new_version())


@receiver(pre_save, sender=FileRoute, dispatch_uid="uploadkit-route-saving")
def _remember_project(sender: type, instance: FileRoute, using: str, **kwargs: Any) -> None:
    """The project a route belonged to before this save: it loses the route if it moves."""
    if instance.pk is not None and not kwargs.get("raw"):
        rows = FileRoute.objects.using(using).filter(pk=instance.pk).values_list("project_id", flat=True)
        instance._uploadkit_previous_project_id = next(iter(rows), None)


@receiver(post_save, sender=FileRoute, dispatch_uid="uploadkit-route-saved")
@receiver(post_delete, sender=FileRoute, dispatch_uid="uploadkit-route-deleted")
def _route_changed(sender: type, instance: FileRoute, using: str, **kwargs: Any) -> None:
    routes_changed(instance.project_id, using)
    previous = getattr(instance, "_uploadkit_previous_project_id", None)
    if previous is not None and previous != instance.project_id:
        routes_changed(previous, using)

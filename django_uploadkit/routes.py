"""Finding a project's route by slug: every upload/request needs one, and routes rarely change.

Each worker process keeps the routes it has read, tagged with the project's ``routes_version``.
The request's project comes fresh from the database with its API key, so a cached route is used
only while that version is still current; any change to a route through the model (the admin,
``uploadkit_create_route``, ``projects.ensure_route``, ``route.save()`` or ``.delete()``) moves
to a new version in the same transaction, and the next request in every process reads the
route again. ``QuerySet.update()`` and ``bulk_create()`` send no signals: call
``routes_changed(project_id)`` after using them on routes.
"""

from __future__ import annotations

from typing import Any

from django.db import router
from django.db.models.signals import post_delete, post_save
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
    # A new instance per call: nothing one request sets on it is seen by another.
    route = FileRoute.from_db(db, _FIELDS, values)
    route.project = project
    return route


def routes_changed(project_id: int, using: str | None = None) -> None:
    """Give the project a new routes_version, so every process reads its routes again."""
    projects = Project.objects.using(using) if using else Project.objects
    projects.filter(pk=project_id).update(routes_version=new_version())


@receiver(post_save, sender=FileRoute, dispatch_uid="uploadkit-route-saved")
@receiver(post_delete, sender=FileRoute, dispatch_uid="uploadkit-route-deleted")
def _route_changed(sender: type, instance: FileRoute, using: str, **kwargs: Any) -> None:
    routes_changed(instance.project_id, using)

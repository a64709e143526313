"""Create or update a project's file route: allowed MIME patterns and maximum size."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import Project
from ...projects import ensure_route


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="Project slug.")
        parser.add_argument("slug", help="Route slug, e.g. imageUploader.")
        parser.add_argument(
            "--types", default="", help='Comma-separated MIME patterns, e.g. "image/*,application/pdf".'
        )
        parser.add_argument("--max-size", type=int, required=True, help="Maximum size in bytes.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        types = [t.strip() for t in options["types"].split(",") if t.strip()]
        try:
            route, created = ensure_route(
                project, options["slug"], allowed_types=types, max_size=options["max_size"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Route {route} {'created' if created else 'updated'}.")

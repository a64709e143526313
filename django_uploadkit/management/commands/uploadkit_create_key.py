"""Create an API key for a project and print it (alone on the last line; it is shown once)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ...keys import create_api_key
from ...models import Project


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="Project slug.")
        parser.add_argument("--name", default="")
        parser.add_argument("--test", action="store_true", help="Create a uk_test_ key.")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive.")
        issued = create_api_key(
            project,
            name=options["name"],
            environment="test" if options["test"] else "live",
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        self.stdout.write(f"Key {issued.api_key.prefix}… created for {project.slug}; store it now.")
        self.stdout.write(issued.plaintext)

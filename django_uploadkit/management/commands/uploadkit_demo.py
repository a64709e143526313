"""Ensure a demo project with route ``imageUploader`` (image/*, 4 MB) and print a new live key.

The key is alone on the last line of stdout, so scripts can take it with ``tail -n 1``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...keys import create_api_key
from ...projects import ensure_project, ensure_route

DEMO_ROUTE = "imageUploader"
DEMO_MAX_SIZE = 4 * 1024 * 1024


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", default="demo", help="Project slug (default: demo).")

    def handle(self, *args: Any, project: str, **options: Any) -> None:
        proj, created = ensure_project(project, name=f"{project} project")
        ensure_route(proj, DEMO_ROUTE, allowed_types=["image/*"], max_size=DEMO_MAX_SIZE)
        issued = create_api_key(proj, name="uploadkit_demo")
        self.stdout.write(
            f"Project {proj.slug} ({'created' if created else 'exists'}), "
            f"route {DEMO_ROUTE} (image/*, 4 MB)."
        )
        self.stdout.write(issued.plaintext)

"""Ensure a demo project with route ``imageUploader`` (image/*, 4 MB) and print a new live key.

The key is alone on the last line of stdout, so scripts can take it with ``tail -n 1``.
With ``--webhook-url URL`` the project's webhook URL is set (after the SSRF guard) and the
signing secret printed as ``WEBHOOK_SECRET=whsec_...`` on its own line, before the key line.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...keys import create_api_key
from ...projects import ensure_project, ensure_route
from ...webhook_delivery import rotate_webhook_secret, set_webhook_url
from ...webhooks import UnsafeWebhookUrl

DEMO_ROUTE = "imageUploader"
DEMO_MAX_SIZE = 4 * 1024 * 1024


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", default="demo", help="Project slug (default: demo).")
        parser.add_argument(
            "--webhook-url",
            default=None,
            help="Set the project's webhook URL and print its signing secret (WEBHOOK_SECRET=).",
        )

    def handle(
        self, *args: Any, project: str, webhook_url: str | None = None, **options: Any
    ) -> None:
        proj, created = ensure_project(project, name=f"{project} project")
        ensure_route(proj, DEMO_ROUTE, allowed_types=["image/*"], max_size=DEMO_MAX_SIZE)
        webhook_secret = None
        if webhook_url is not None:
            try:
                # The secret exists only in this output: an existing one is rotated.
                webhook_secret = set_webhook_url(proj, webhook_url)
            except UnsafeWebhookUrl as exc:
                raise CommandError(exc.message) from exc
            if webhook_url and webhook_secret is None:
                webhook_secret = rotate_webhook_secret(proj)
        issued = create_api_key(proj, name="uploadkit_demo")
        self.stdout.write(
            f"Project {proj.slug} ({'created' if created else 'exists'}), "
            f"route {DEMO_ROUTE} (image/*, 4 MB)."
        )
        if webhook_secret:
            self.stdout.write(f"WEBHOOK_SECRET={webhook_secret}")
        self.stdout.write(issued.plaintext)

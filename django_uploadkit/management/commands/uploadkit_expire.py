"""Run the expiry sweep now: stale PENDING uploads become EXPIRED, stray objects are removed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...services import expire_stale_uploads


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        count = expire_stale_uploads()
        self.stdout.write(f"Expired {count} upload(s).")

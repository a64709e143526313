"""Send queued work the web process could not hand to the broker, and re-queue lost webhook
retries (what the ``drain_outbox`` periodic task does, run by hand or from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...outbox import drain, pending_count
from ...webhook_delivery import rescue_stale


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Also send rows younger than OUTBOX_DRAIN_AFTER (their dispatch may be running).",
        )

    def handle(self, *args: Any, all: bool = False, **options: Any) -> None:
        rescued = rescue_stale()
        sent = drain(min_age=0 if all else None)
        self.stdout.write(
            f"Sent {sent} outbox message(s); re-queued {rescued} late webhook(s); "
            f"{pending_count()} still waiting."
        )

"""Revoke an API key by its prefix (as shown in the admin and by uploadkit_create_key)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...keys import revoke_api_key
from ...models import ApiKey


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, prefix: str, **options: Any) -> None:
        api_key = ApiKey.objects.filter(prefix=prefix.rstrip("…")).first()
        if api_key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        revoke_api_key(api_key)
        self.stdout.write(f"Key {api_key.prefix}… revoked.")

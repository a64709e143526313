"""Content negotiation for the v1 views: JSON at once for the clients that take it.

API clients send no Accept header, ``*/*`` or ``application/json``; for those DRF's negotiation
parses the header and every renderer's media type on each request (about 50 us of each
upload/request, BENCHMARKS.md item 1) only to pick the first renderer, JSON. Any other Accept
header, or a ``?format=`` override, is negotiated by DRF as before (the browsable API).
"""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

_TAKES_JSON = {None, "*/*", "application/json"}


class JsonFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        first = renderers[0] if renderers else None
        if (
            isinstance(first, JSONRenderer)
            and request.META.get("HTTP_ACCEPT") in _TAKES_JSON
            and not format_suffix
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)

"""The ceiling: the least a DRF endpoint can do (no auth, no throttle, a constant body), and two
floors above it: the ceiling plus one database round trip, and plus the one INSERT an
upload/request makes. The floors show what any endpoint that records an upload before it
answers pays on this machine, whatever its code (BENCHMARKS.md, item 1)."""

import secrets
from functools import cache

from django.db import connection
from django.utils import timezone

from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

BODY = {
    "fileId": "file_01JBENCH0000000000000000000",
    "uploadUrl": "http://127.0.0.1/uploadkit/objects/uploads/abc/photo.jpg?type=image%2Fjpeg",
    "cdnUrl": "http://127.0.0.1/uploadkit/objects/uploads/abc/photo.jpg",
    "key": "uploads/abc/photo.jpg",
}


class CeilingView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []

    def post(self, request):
        return Response(BODY)

    def get(self, request):
        return Response(BODY)


class RoundTripView(CeilingView):
    """The ceiling plus one round trip to PostgreSQL (``SELECT 1``)."""

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response(BODY)


@cache
def _bench_route() -> tuple[int, int]:
    from django_uploadkit.models import FileRoute

    route = FileRoute.objects.get(project__slug="bench-api", slug="imageUploader")
    return route.project_id, route.pk


class InsertView(CeilingView):
    """The ceiling plus the one INSERT of a PENDING file row an upload/request makes, as plain
    SQL and committed: no key, no validation, no signature."""

    def post(self, request):
        from django_uploadkit.models import File

        project_id, route_id = _bench_route()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {File._meta.db_table} (id, project_id, route_id, key, name, size,"
                " content_type, status, metadata, created_at) VALUES"
                " (%s, %s, %s, %s, 'photo.jpg', 204800, 'image/jpeg', 'PENDING', '{}', %s)",
                ["file_" + secrets.token_hex(13), project_id, route_id,
                 f"uploads/{secrets.token_hex(10)}/photo.jpg", timezone.now()],
            )
        return Response(BODY)

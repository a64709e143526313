"""The example URLs plus endpoints that fail on purpose, to test the error contract."""

from django.urls import path
from rest_framework.response import Response

from django_uploadkit.views import UploadKitAPIView
from example_project.urls import urlpatterns as base


class Boom(UploadKitAPIView):
    permission_classes = []

    def get(self, request):
        raise RuntimeError("secret internal detail: password=hunter2")


def plain_django_boom(request):
    raise ValueError("plain Django view failure with internal detail")


class DatabaseDrops(UploadKitAPIView):
    """Loses its database connection mid-request, for real."""

    permission_classes = []

    def get(self, request):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            if connection.vendor == "postgresql":
                # The server ends this very session, as a failover or restart would.
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            else:
                cursor.execute("SELECT * FROM a_table_that_is_not_there")
            cursor.execute("SELECT 1")
        return Response({"unreachable": True})


urlpatterns = base + [
    path("api/v1/test/db-drop", DatabaseDrops.as_view()),
    path("api/v1/test/boom", Boom.as_view()),
    path("api/v1/test/plain-boom", plain_django_boom),
]

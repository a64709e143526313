"""The example URLs plus endpoints that fail on purpose, to test the error contract."""

from django.urls import path

from django_uploadkit.views import UploadKitAPIView
from example_project.urls import urlpatterns as base


class Boom(UploadKitAPIView):
    permission_classes = []

    def get(self, request):
        raise RuntimeError("secret internal detail: password=hunter2")


def plain_django_boom(request):
    raise ValueError("plain Django view failure with internal detail")


urlpatterns = base + [
    path("api/v1/test/boom", Boom.as_view()),
    path("api/v1/test/plain-boom", plain_django_boom),
]

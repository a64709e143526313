from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django_uploadkit.urls")),
    # The example front page and the small backend it talks to (the key stays server-side).
    path("", views.index, name="example-index"),
    path("example/upload-url", views.upload_url, name="example-upload-url"),
    path("example/complete", views.complete, name="example-complete"),
    path("example/files", views.files, name="example-files"),
]

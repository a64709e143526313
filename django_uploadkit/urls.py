"""Include with ``path("", include("django_uploadkit.urls"))``: the API lives under /api/v1/."""

from django.urls import path

from . import schema, views

app_name = "uploadkit"

urlpatterns = [
    path("api/v1/upload/request", views.UploadRequestView.as_view(), name="upload-request"),
    path("api/v1/upload/complete", views.UploadCompleteView.as_view(), name="upload-complete"),
    path("api/v1/files", views.FileListView.as_view(), name="file-list"),
    path("api/v1/files/<path:key>", views.FileDetailView.as_view(), name="file-detail"),
    path("api/v1/schema/", schema.SchemaView.as_view(), name="schema"),
    path("api/v1/docs/", schema.SwaggerView.as_view(url_name="uploadkit:schema"), name="docs"),
    path("api/v1/redoc/", schema.RedocView.as_view(url_name="uploadkit:schema"), name="redoc"),
    path("uploadkit/objects/<path:key>", views.LocalObjectView.as_view(), name="local-object"),
]

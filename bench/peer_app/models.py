"""django-s3-file-field registers each S3FileField by "<app_label>.<Model>.<field>"; its
upload-initialize endpoint takes that id. The table is never created: initialize does not use it."""

from django.db import models
from s3_file_field import S3FileField


class PeerUpload(models.Model):
    blob = S3FileField()

    class Meta:
        app_label = "bench_peer"


FIELD_ID = "bench_peer.PeerUpload.blob"

"""The peer for benchmark 2: one model with django-s3-file-field's field, for its upload-initialize."""

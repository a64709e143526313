"""Self-hosted UploadKit v1 REST API for Django."""

__version__ = "0.1.0"

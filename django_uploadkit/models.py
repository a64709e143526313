"""The data: projects, their API keys and file routes, and the files uploaded through them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from .fields import EncryptedSecretField
from .ids import new_file_id, new_version
from .validators import validate_route_slug, validate_type_patterns


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    webhook_url = models.URLField(max_length=2000, blank=True, default="")
    # Standard Webhooks signing secret (whsec_ + base64). Signing needs it readable, so it is
    # encrypted at rest rather than hashed (fields.py); shown once when created or rotated
    # (webhook_delivery.set_webhook_url, rotate_webhook_secret).
    webhook_secret = EncryptedSecretField(blank=True, default="", editable=False)
    # The secret before the last rotation: deliveries carry both signatures for a grace period.
    webhook_secret_previous = EncryptedSecretField(blank=True, default="", editable=False)
    webhook_secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Replaced whenever one of the project's routes changes (routes.py): a worker's cached copy
    # of a route is used only while the project still has the version it was read under. Random,
    # so a project that gets a deleted one's id (SQLite reuses them) never matches its cache.
    # db_default: rows inserted by code that predates the field (a rolling deploy) get 0.
    routes_version = models.BigIntegerField(default=new_version, db_default=0, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Only routes.py changes routes_version. A project loaded before a route changed must not
        # write its older version back: cached routes of that version would be served again.
        if (
            self.pk is not None
            and not self._state.adding
            and kwargs.get("using") in (None, self._state.db)
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
        ):
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "routes_version"
            ]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # The SSRF guard runs wherever a project is validated (admin forms, full_clean).
        from .webhooks import UnsafeWebhookUrl, check_webhook_url

        if self.webhook_url:
            try:
                check_webhook_url(self.webhook_url)
            except UnsafeWebhookUrl as exc:
                from django.core.exceptions import ValidationError

                raise ValidationError({"webhook_url": exc.message}) from exc


class ApiKey(models.Model):
    """A project's API key. Only a keyed hash of the full key is stored (see ``keys.py``)."""

    class Environment(models.TextChoices):
        LIVE = "live", "Live"
        TEST = "test", "Test"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True, default="")
    environment = models.CharField(
        max_length=4, choices=Environment.choices, default=Environment.LIVE
    )
    # Non-secret, shown in lists, unique: how a presented key finds its row.
    prefix = models.CharField(max_length=32, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.project.slug})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.expires_at is not None and self.expires_at <= now

    def is_usable(self, now=None) -> bool:
        return not self.is_revoked and not self.is_expired(now)


class FileRoute(models.Model):
    """What a route accepts: MIME patterns (``image/*``, ``application/pdf``) and a size cap."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="routes")
    slug = models.CharField(max_length=100, validators=[validate_route_slug])
    allowed_types = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_type_patterns],
        help_text='MIME patterns such as "image/*" or "application/pdf"; empty allows any type.',
    )
    max_size = models.PositiveBigIntegerField(help_text="Maximum file size in bytes.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["project", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["project", "slug"], name="uploadkit_route_unique_slug")
        ]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.slug}"


class File(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        UPLOADED = "UPLOADED"
        DELETED = "DELETED"
        EXPIRED = "EXPIRED"
        FAILED = "FAILED"

    id = models.CharField(primary_key=True, max_length=40, default=new_file_id, editable=False)
    # No index of its own: uploadkit_file_listing and uploadkit_file_unique_key both start with
    # project, and every index is one more write on each upload/request.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="files", db_index=False
    )
    route = models.ForeignKey(FileRoute, on_delete=models.PROTECT, related_name="files")
    key = models.CharField(max_length=600)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "This project's files, newest first" with keyset pagination.
            models.Index(
                fields=["project", "-created_at", "-id"], name="uploadkit_file_listing"
            ),
            # The expiry sweep: stale PENDING files.
            models.Index(fields=["status", "created_at"], name="uploadkit_file_status"),
        ]
        constraints = [
            # "This project's file with this key": one index lookup.
            models.UniqueConstraint(fields=["project", "key"], name="uploadkit_file_unique_key")
        ]

    def __str__(self) -> str:
        return self.key


class WebhookEvent(models.Model):
    """One event for one project's endpoint: its id is the ``webhook-id`` of every attempt."""

    class Status(models.TextChoices):
        PENDING = "PENDING"
        DELIVERED = "DELIVERED"
        FAILED = "FAILED"

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhook_events")
    event_type = models.CharField(max_length=50)
    file_id = models.CharField(max_length=40, blank=True, default="", db_index=True)
    # The exact JSON body sent (and signed) on every attempt, serialized once.
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Attempts in the current run (a manual re-send starts a new run).
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A worker claims the event for one attempt until then (two copies never post at once).
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="uploadkit_webhook_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class WebhookDelivery(models.Model):
    """One attempt to deliver a webhook event: what was sent where, and what came back."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        outcome = self.status_code or self.error[:40] or "?"
        return f"{self.event_id} attempt {self.attempt}: {outcome}"


class OutboxMessage(models.Model):
    """A task to send to the broker, written in the same transaction as the change it follows.

    Sent right after the commit; if the broker is down then, the periodic drain sends it later
    (``outbox.py``). The row is deleted once the broker has accepted the message.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    # Set while a process is handing the row to the broker; a stale claim is retried.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["created_at"], name="uploadkit_outbox_created")]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)!r}"

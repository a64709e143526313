"""Django admin: projects with their routes and keys, files, and a dashboard per project.

Everything that changes state goes through the same code as the API: keys are issued by
``keys.create_api_key`` (the plaintext is shown once, in a message) and files are deleted by
``services.delete_files`` (row marked DELETED at once, object removed by the task).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from . import services, webhook_delivery
from .dashboard import build_dashboard
from .keys import IssuedKey, create_api_key
from .models import ApiKey, File, FileRoute, Project, WebhookDelivery, WebhookEvent


def _announce_key(request: HttpRequest, issued: IssuedKey) -> None:
    messages.warning(
        request,
        format_html(
            'New API key for {}: <code class="uploadkit-new-key">{}</code> '
            "Copy it now: it is shown only this once and cannot be recovered.",
            issued.api_key.project.slug,
            issued.plaintext,
        ),
    )


def key_status(key: ApiKey) -> str:
    if key.is_revoked:
        return "revoked"
    if key.is_expired():
        return "expired"
    return "active"


class AllowedTypesField(forms.CharField):
    """``image/*, application/pdf`` in the form, a list in the model."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return ", ".join(value or [])

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class FileRouteForm(forms.ModelForm):
    allowed_types = AllowedTypesField(
        required=False,
        help_text='Comma-separated MIME patterns such as "image/*, application/pdf"; '
        "empty allows any type.",
    )

    class Meta:
        model = FileRoute
        fields = ["slug", "allowed_types", "max_size"]


class FileRouteInline(admin.TabularInline):
    model = FileRoute
    form = FileRouteForm
    extra = 0
    fields = ["slug", "allowed_types", "max_size", "human_max_size"]
    readonly_fields = ["human_max_size"]

    @admin.display(description="Max size")
    def human_max_size(self, route: FileRoute) -> str:
        return services.format_size(route.max_size) if route.max_size else "-"


class ApiKeyInline(admin.TabularInline):
    """Existing keys read-only but for name and expiry; a new row issues a key on save."""

    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "prefix",
        "name",
        "environment",
        "created_at",
        "last_used_at",
        "expires_at",
        "status",
    ]
    readonly_fields = ["prefix", "created_at", "last_used_at", "status"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields

    @admin.display(description="Status")
    def status(self, key: ApiKey) -> str:
        return key_status(key) if key.pk else "-"


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "webhook_url", "created_at", "dashboard_link"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [FileRouteInline, ApiKeyInline]
    # Webhook endpoints are HTTPS; also silences Django 5's scheme deprecation warning.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Dashboard")
    def dashboard_link(self, project: Project) -> str:
        url = reverse(f"{self.admin_site.name}:django_uploadkit_project_dashboard", args=[project.pk])
        return format_html('<a href="{}">Dashboard</a>', url)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ApiKey:
            return super().save_formset(request, form, formset, change)
        # New keys are issued by keys.create_api_key, so the hash is made and the plaintext
        # exists only in the message; existing keys may change their name and expiry.
        for key_form in formset.forms:
            if not key_form.has_changed() or key_form in formset.deleted_forms:
                continue
            key = key_form.instance
            if key.pk is None:
                issued = create_api_key(
                    form.instance,
                    name=key.name,
                    environment=key.environment,
                    expires_at=key.expires_at,
                )
                key_form.instance = issued.api_key
                _announce_key(request, issued)
            else:
                key.save(update_fields=["name", "expires_at"])
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path(
                "dashboards/",
                view(self.dashboards_view),
                name="django_uploadkit_project_dashboards",
            ),
            path(
                "<int:project_id>/dashboard/",
                view(self.dashboard_view),
                name="django_uploadkit_project_dashboard",
            ),
        ] + super().get_urls()

    def dashboards_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "UploadKit dashboards",
            "opts": self.model._meta,
            "projects": Project.objects.order_by("slug"),
        }
        return TemplateResponse(request, "admin/django_uploadkit/dashboards.html", context)

    def dashboard_view(self, request: HttpRequest, project_id: int) -> HttpResponse:
        project = get_object_or_404(Project, pk=project_id)
        if not self.has_view_permission(request, project):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Dashboard: {project.name}",
            "opts": self.model._meta,
            "original": project,
            "dashboard": build_dashboard(project),
        }
        return TemplateResponse(request, "admin/django_uploadkit/dashboard.html", context)


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["project", "name", "environment", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "project",
        "environment",
        "created_at",
        "last_used_at",
        "expires_at",
        "status",
    ]
    list_filter = ["environment", "project"]
    list_select_related = ["project"]
    search_fields = ["prefix", "name", "project__slug"]
    actions = ["revoke_keys", "expire_keys"]
    show_full_result_count = False

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["project", "name", "environment", "expires_at"]
        return [
            "project",
            "prefix",
            "name",
            "environment",
            "status",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["project", "prefix", "environment", "status", "created_at", "last_used_at", "revoked_at"]

    @admin.display(description="Status")
    def status(self, key: ApiKey) -> str:
        return key_status(key)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        issued = create_api_key(
            obj.project, name=obj.name, environment=obj.environment, expires_at=obj.expires_at
        )
        # The admin goes on with this instance (log entry, redirect): make it the saved row.
        obj.__dict__.update({k: v for k, v in issued.api_key.__dict__.items() if k != "_state"})
        obj._state.adding = False
        _announce_key(request, issued)

    @admin.action(description="Revoke selected keys (they get 401 at once)")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)

    @admin.action(description="Expire selected keys now")
    def expire_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        now = timezone.now()
        count = queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).update(
            expires_at=now
        )
        self.message_user(request, f"Expired {count} key(s).", messages.SUCCESS)


@admin.register(FileRoute)
class FileRouteAdmin(admin.ModelAdmin):
    form = FileRouteForm
    list_display = ["slug", "project", "allowed", "human_max_size", "created_at"]
    list_filter = ["project"]
    list_select_related = ["project"]
    search_fields = ["slug", "project__slug"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["fields"] = ["project", "slug", "allowed_types", "max_size"]
        return super().get_form(request, obj, **kwargs)

    @admin.display(description="Allowed types")
    def allowed(self, route: FileRoute) -> str:
        return ", ".join(route.allowed_types) or "any"

    @admin.display(description="Max size", ordering="max_size")
    def human_max_size(self, route: FileRoute) -> str:
        return services.format_size(route.max_size)


class MajorTypeFilter(admin.SimpleListFilter):
    """By the type's first half (image, video, ...): no query to list the choices."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(t, t) for t in ("image", "video", "audio", "text", "application")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[File]) -> QuerySet[File]:
        if self.value():
            return queryset.filter(content_type__startswith=f"{self.value()}/")
        return queryset


class ViewAndDeleteOnly:
    """Rows that only the service layer creates and changes: the admin views and deletes them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(File)
class FileAdmin(ViewAndDeleteOnly, admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "name",
        "status",
        "route_slug",
        "project",
        "human_size",
        "content_type",
        "created_at",
    ]
    list_display_links = ["name"]
    list_filter = ["status", "project", "route", MajorTypeFilter, "created_at"]
    list_select_related = ["project", "route"]
    search_fields = ["name", "key", "=id"]
    date_hierarchy = None
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "id",
        "project",
        "route",
        "name",
        "key",
        "preview",
        "human_size",
        "content_type",
        "status",
        "metadata_pretty",
        "created_at",
        "uploaded_at",
        "deleted_at",
    ]
    readonly_fields = fields

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, search_term.strip())

    @admin.display(description="Route", ordering="route__slug")
    def route_slug(self, file: File) -> str:
        return file.route.slug

    @admin.display(description="Size", ordering="size")
    def human_size(self, file: File) -> str:
        return services.format_size(file.size)

    def _viewable(self, file: File) -> bool:
        return file.status == File.Status.UPLOADED

    @admin.display(description="")
    def thumbnail(self, file: File) -> str:
        if not self._viewable(file) or not file.content_type.startswith("image/"):
            return ""
        return format_html(
            '<a href="{0}" target="_blank" rel="noopener"><img class="uploadkit-thumb" '
            'src="{0}" alt="" loading="lazy" width="48" height="48" '
            'style="object-fit:cover;border-radius:3px"></a>',
            services.file_url(file),
        )

    @admin.display(description="File")
    def preview(self, file: File) -> str:
        if not self._viewable(file):
            return f"({file.get_status_display().lower()}: no object to show)"
        url = services.file_url(file)
        if file.content_type.startswith("image/"):
            return format_html(
                '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="" '
                'style="max-width:320px;max-height:240px"></a><br><a href="{0}">{0}</a>',
                url,
            )
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', url)

    @admin.display(description="Metadata")
    def metadata_pretty(self, file: File) -> str:
        if not file.metadata:
            return "-"
        return format_html(
            '<pre style="margin:0;white-space:pre-wrap">{}</pre>',
            json.dumps(file.metadata, indent=2, ensure_ascii=False, sort_keys=True),
        )

    # Deleting from the admin is deleting through the service, as the API does.
    def delete_model(self, request: HttpRequest, obj: File) -> None:
        services.delete_files([obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        services.delete_files(queryset)


# -- webhooks ------------------------------------------------------------------------------


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ["attempt", "attempted_at", "status_code", "succeeded", "duration_ms", "error", "url"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Send again (same webhook-id, a fresh run of attempts)")
def send_again(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    events = (
        WebhookEvent.objects.filter(pk__in=queryset.values("event_id"))
        if queryset.model is WebhookDelivery
        else queryset
    )
    count = 0
    for event in events:
        webhook_delivery.resend(event)
        count += 1
    modeladmin.message_user(request, f"Sending {count} event(s) again.", messages.SUCCESS)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ViewAndDeleteOnly, admin.ModelAdmin):
    list_display = ["id", "event_type", "project", "status", "attempts", "created_at",
                    "last_attempt_at", "delivered_at"]
    list_filter = ["status", "event_type", "project"]
    list_select_related = ["project"]
    search_fields = ["=id", "=file_id"]
    show_full_result_count = False
    actions = [send_again]
    inlines = [WebhookDeliveryInline]
    readonly_fields = ["id", "project", "event_type", "file_id", "status", "attempts",
                       "created_at", "last_attempt_at", "next_attempt_at", "delivered_at", "body"]
    fields = readonly_fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewAndDeleteOnly, admin.ModelAdmin):
    list_display = ["event", "project", "attempt", "attempted_at", "status_code", "succeeded",
                    "duration_ms", "short_error"]
    list_filter = ["succeeded", "event__event_type", "event__project"]
    list_select_related = ["event__project"]
    search_fields = ["=event__id", "url"]
    show_full_result_count = False
    actions = [send_again]

    @admin.display(description="Project", ordering="event__project__slug")
    def project(self, delivery: WebhookDelivery) -> str:
        return delivery.event.project.slug

    @admin.display(description="Error")
    def short_error(self, delivery: WebhookDelivery) -> str:
        return (delivery.error[:80] + "…") if len(delivery.error) > 80 else delivery.error

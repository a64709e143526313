from django.apps import AppConfig


class UploadKitConfig(AppConfig):
    name = "django_uploadkit"
    verbose_name = "UploadKit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from . import routes  # noqa: F401  (connects the signals that expire cached routes)

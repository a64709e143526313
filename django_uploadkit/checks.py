"""System checks: configuration mistakes reported at startup, with namespaced ids."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from .storage import get_backend, reset_backend

    errors: list[Error] = []
    try:
        reset_backend()
        get_backend()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="uploadkit.E001"))
    return errors

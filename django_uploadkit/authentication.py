"""DRF authentication by the ``x-api-key`` header: the request sees only the key's project."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .exceptions import InvalidApiKey, MissingApiKey
from .keys import authenticate_key
from .models import ApiKey, Project

HEADER = "HTTP_X_API_KEY"


class ApiKeyPrincipal:
    """The ``request.user`` of an API-key request: not a Django user, just the key's project."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.project: Project = api_key.project

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        plaintext = request.META.get(HEADER, "").strip()
        if not plaintext:
            return None
        api_key = authenticate_key(plaintext)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey header="x-api-key"'


class HasProject(BasePermission):
    """Every v1 endpoint needs a project; without a key the answer is MISSING_API_KEY."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if project_of(request) is None:
            if request.META.get(HEADER, "").strip():
                raise InvalidApiKey()
            raise MissingApiKey()
        return True


def project_of(request: Request) -> Project | None:
    return getattr(request.user, "project", None)

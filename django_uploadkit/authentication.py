"""DRF authentication by the ``x-api-key`` header: the request sees only the key's project."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .exceptions import InvalidApiKey, InvalidRequest, MissingApiKey
from . import queries
from .keys import authenticate_key, forget_key, recall_key, remember_key
from .models import ApiKey, File, Project
from .throttling import check_auth_failures_allowed, record_auth_failure

HEADER = "HTTP_X_API_KEY"


class ApiKeyPrincipal:
    """The ``request.user`` of an API-key request: not a Django user, just the key's project."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_anonymous = False

    def __init__(self, api_key: ApiKey, recalled: bool = False) -> None:
        self.api_key = api_key
        self.project: Project = api_key.project
        # From this process's memory (keys.recall_key), not the database: only views whose write
        # checks the key use such a principal (ApiKeyAuthentication, recall_keys).
        self.recalled = recalled

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    """The ``x-api-key`` header. A view with ``recall_keys = True`` (upload/request, whose INSERT
    checks the key: keys.py) takes a key this process authenticated lately without a query;
    such a view decides any failure again with ``authenticate_again``."""

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        plaintext = request.META.get(HEADER, "").strip()
        if not plaintext:
            return None
        view = (request.parser_context or {}).get("view")
        recalling = getattr(view, "recall_keys", False) and queries.can_insert_directly(File)
        if recalling:
            recalled = recall_key(plaintext)
            if recalled is not None:
                return ApiKeyPrincipal(recalled, recalled=True), recalled
        check_auth_failures_allowed(request)
        try:
            api_key = authenticate_key(plaintext)
        except InvalidApiKey:
            record_auth_failure(request)
            raise
        if recalling:
            remember_key(api_key)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey header="x-api-key"'


def is_recalled(request: Request) -> bool:
    """Whether the request's key came from memory (never authenticates on its own)."""
    user = request.__dict__.get("_user")
    return isinstance(user, ApiKeyPrincipal) and user.recalled


def authenticate_again(request: Request) -> None:
    """Replace a recalled key with the database's verdict: InvalidApiKey if it is no longer usable."""
    forget_key(request.auth.hashed_key)
    result = ApiKeyAuthentication().authenticate(request)  # recalls nothing: forgotten
    if result is None:
        raise MissingApiKey()
    request.user, request.auth = result


class StaffPrincipal:
    """The ``request.user`` of a staff session using the browsable API against one project."""

    is_authenticated = True
    is_active = True
    is_staff = True
    is_anonymous = False

    def __init__(self, user: Any, project: Project | None) -> None:
        self.user = user
        self.project = project
        self.username = user.get_username()

    def __str__(self) -> str:
        return f"{self.username} (staff) on {self.project.slug if self.project else 'no project'}"


class StaffSessionAuthentication(SessionAuthentication):
    """A staff user logged into the admin uses the API against a project of their choosing.

    The project comes from ``?project=<slug>`` (remembered in the session) or, failing that,
    the session's last choice, or the only project there is. Only consulted when no
    ``x-api-key`` header is sent (``ApiKeyAuthentication`` comes first), so API-key clients
    are unaffected; a non-staff session is not authenticated at all. Unsafe methods need the
    CSRF token, as with any session authentication.
    """

    SESSION_KEY = "uploadkit_project"
    QUERY_PARAM = "project"

    def authenticate(self, request: Request) -> tuple[StaffPrincipal, None] | None:
        user = getattr(request._request, "user", None)
        if user is None or not user.is_active or not user.is_staff:
            return None
        self.enforce_csrf(request)
        session = request._request.session
        slug = request.query_params.get(self.QUERY_PARAM) or session.get(self.SESSION_KEY)
        if slug:
            project = Project.objects.filter(slug=slug).first()
            if project is None:
                raise InvalidRequest(f"No project {slug!r}: choose one with ?project=<slug>.")
        else:
            only = list(Project.objects.all()[:2])
            project = only[0] if len(only) == 1 else None
        if project is not None and session.get(self.SESSION_KEY) != project.slug:
            session[self.SESSION_KEY] = project.slug
        return StaffPrincipal(user, project), None

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey header="x-api-key"'


class HasProject(BasePermission):
    """Every v1 endpoint needs a project; without a key the answer is MISSING_API_KEY."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, StaffPrincipal) and request.user.project is None:
            raise InvalidRequest("Staff session: choose a project with ?project=<slug>.")
        if project_of(request) is None:
            if request.META.get(HEADER, "").strip():
                raise InvalidApiKey()
            raise MissingApiKey()
        return True


def project_of(request: Request) -> Project | None:
    return getattr(request.user, "project", None)

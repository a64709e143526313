"""Shared fixtures: a project with a route and a live key, and API clients that use it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from django_uploadkit.keys import IssuedKey, create_api_key
from django_uploadkit.models import FileRoute, Project
from django_uploadkit.projects import ensure_project, ensure_route

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def local_storage_root(settings, tmp_path: Path) -> Path:
    """Every test gets its own local-disk storage root (the embedded default)."""
    root = tmp_path / "storage"
    settings.UPLOADKIT = {**settings.UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(root)}}
    return root


@pytest.fixture
def project(db) -> Project:
    return ensure_project("acme", name="Acme")[0]


@pytest.fixture
def route(project: Project) -> FileRoute:
    return ensure_route(project, "imageUploader", allowed_types=["image/*"], max_size=4 * MB)[0]


@pytest.fixture
def issued_key(project: Project, route: FileRoute) -> IssuedKey:
    return create_api_key(project, name="tests")


@pytest.fixture
def api_key(issued_key: IssuedKey) -> str:
    return issued_key.plaintext


@pytest.fixture
def api(api_key: str) -> APIClient:
    """A client whose every request carries the project's key, as the reference text's do."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def other_project_api(db) -> APIClient:
    other = ensure_project("other", name="Other")[0]
    ensure_route(other, "imageUploader", allowed_types=["image/*"], max_size=4 * MB)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=create_api_key(other).plaintext)
    return client


def assert_error(response, status: int, code: str) -> None:
    """The one error shape: exactly ``error`` (a sentence) and ``code``, with this status."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error", "code"}, body
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"], body
    assert "Traceback" not in body["error"]


# -- secrets never reach a log ---------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    from .secret_scan import capture_logs

    config._uploadkit_log = Path(config.rootpath) / "artifacts" / "test-run.log"  # type: ignore[attr-defined]
    capture_logs(config._uploadkit_log)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log line (ours, Django's, the Celery worker's) holds a key or secret."""
    from .secret_scan import find_secrets

    config = session.config
    logs = [config._uploadkit_log]  # type: ignore[attr-defined]
    basetemp = getattr(config, "_tmp_path_factory", None)
    if basetemp is not None:
        logs += sorted(basetemp.getbasetemp().rglob("*.log"))
    hits = find_secrets(logs)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write("\n")
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(f"SECRETS FOUND IN LOGS ({len(hits)}):", red=True)
            for hit in hits[:20]:
                reporter.write_line(f"  {hit}", red=True)
    elif reporter:
        reporter.write_line(f"Log scan: no API key or webhook secret in {len(logs)} log file(s).")


@pytest.fixture(scope="session", autouse=True)
def _no_session_outlives_the_run(django_db_setup, django_db_blocker):
    """Before the test database is dropped, wait for other sessions on it to end.

    Worker subprocesses and live-server threads close their connections as they shut down,
    which can still be under way when the run ends; PostgreSQL refuses to drop a database in
    use. Sessions still there after 15 s are ended and reported: they are leaks to fix.
    """
    yield
    import logging
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        return
    others = (
        "SELECT pid, application_name, state FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        deadline = time.monotonic() + 15
        cursor.execute(others)
        while (rows := cursor.fetchall()) and time.monotonic() < deadline:
            time.sleep(0.2)
            cursor.execute(others)
        if rows:
            logging.getLogger("tests").warning("Sessions still open on the test database, ended: %s", rows)
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    connection.close()

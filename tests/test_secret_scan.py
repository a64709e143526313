"""The log scan that runs at the end of every test run finds secrets of every shape."""

import logging

from django_uploadkit.keys import create_api_key

from .secret_scan import find_secrets


def test_the_scan_finds_a_leaked_key_and_webhook_secret(tmp_path, project):
    key = create_api_key(project).plaintext
    log = tmp_path / "leak.txt"
    log.write_text(f"ok line\nGET /x key={key}\nsecret whsec_c2VjcmV0c2VjcmV0c2VjcmV0\n")
    hits = find_secrets([log])
    assert len(hits) == 2 and all(key not in hit for hit in hits)


def test_the_scan_passes_a_clean_log(tmp_path):
    log = tmp_path / "clean.txt"
    log.write_text("uk_live_ short prefix only\nnothing here\n")
    assert find_secrets([log]) == []


def test_failed_authentication_logs_no_key(project, anonymous, caplog):
    caplog.set_level(logging.DEBUG)
    key = create_api_key(project).plaintext
    anonymous.credentials(HTTP_X_API_KEY=key[:-1] + ("x" if key[-1] != "x" else "y"))
    anonymous.get("/api/v1/files")
    anonymous.credentials(HTTP_X_API_KEY=key)
    anonymous.get("/api/v1/files")
    assert not find_secrets_in_text(caplog.text)


def find_secrets_in_text(text):
    from .secret_scan import SECRET_RE

    return SECRET_RE.findall(text)

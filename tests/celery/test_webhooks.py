"""Signed webhooks, delivered by a real Celery worker (and in-process) to a real receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from django_uploadkit import webhook_delivery, webhook_http
from django_uploadkit.models import File, Project, WebhookDelivery, WebhookEvent
from django_uploadkit.webhooks import (
    UnsafeWebhookUrl,
    WebhookVerificationError,
    check_webhook_url,
    sign_webhook,
    verify_webhook,
)

from ..servers.slow_http import SlowServer
from ..servers.webhook_receiver import WebhookReceiver
from .conftest import TEST_UPLOADKIT, new_event, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

Status = WebhookEvent.Status


def hand_written_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks, from the spec: HMAC-SHA256 over "id.timestamp.body" keyed with the
    base64-decoded secret after "whsec_", base64 encoded, after "v1,"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        sig.split(",", 1)[1] == expected for sig in headers["webhook-signature"].split()
    )


def connect(project: Project, receiver) -> str:
    secret = webhook_delivery.set_webhook_url(project, receiver.url)
    assert secret and secret.startswith("whsec_")
    return secret


def test_completed_upload_reaches_the_receiver_signed(runner, project, upload, receiver):
    secret = connect(project, receiver)
    file = upload(metadata={"userId": "u_42"})

    (hook,) = receiver.wait_for(1)
    payload = verify_webhook(secret, hook.headers, hook.body)
    assert hand_written_check(secret, hook.headers, hook.body)
    assert hook.headers["webhook-id"].startswith("msg_")
    assert abs(int(hook.headers["webhook-timestamp"]) - time.time()) < 60
    assert payload["type"] == "file.uploaded"
    assert payload["timestamp"].endswith("Z")
    # The file exactly as the API returned it from complete, plus its metadata.
    assert payload["data"] == {**file, "metadata": {"userId": "u_42"}}
    event = wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).first())
    assert event.pk == hook.headers["webhook-id"]

    # A tampered body fails, and so does a correctly signed but old message (a replay).
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, hook.headers, hook.body.replace(b"u_42", b"u_43"))
    assert not hand_written_check(secret, hook.headers, hook.body + b" ")
    old = int(time.time()) - 3600
    old_headers = {**hook.headers, "webhook-timestamp": str(old),
                   "webhook-signature": sign_webhook(secret, hook.headers["webhook-id"], old,
                                                     hook.body)}
    assert hand_written_check(secret, old_headers, hook.body)  # the signature itself is fine
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(secret, old_headers, hook.body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("whsec_" + base64.b64encode(b"x" * 32).decode(), hook.headers, hook.body)


def test_deleting_a_file_sends_file_deleted(runner, project, api, upload, receiver):
    secret = connect(project, receiver)
    file = upload()
    response = api.delete(f"/api/v1/files/{file['key']}")
    assert response.status_code == 200

    hooks = receiver.wait_for(2)
    payloads = [verify_webhook(secret, h.headers, h.body) for h in hooks]
    assert sorted(p["type"] for p in payloads) == ["file.deleted", "file.uploaded"]
    deleted = next(p for p in payloads if p["type"] == "file.deleted")
    assert deleted["data"]["id"] == file["id"]
    assert deleted["data"]["status"] == "DELETED"
    assert deleted["data"]["metadata"] == {}


def test_500_twice_then_200_is_three_attempts_with_one_webhook_id(
    runner, project, upload, receiver
):
    secret = connect(project, receiver)
    receiver.script(500, 500, 200)
    upload()

    hooks = receiver.wait_for(3)
    assert len({h.headers["webhook-id"] for h in hooks}) == 1
    for hook in hooks:  # each attempt is signed afresh, and verifies
        verify_webhook(secret, hook.headers, hook.body)
    assert hooks[0].body == hooks[1].body == hooks[2].body

    event = wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).first())
    attempts = list(event.deliveries.order_by("attempt"))
    assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False), (2, 500, False), (3, 200, True)
    ]
    assert attempts[0].response_excerpt == "status 500"
    assert attempts[0].error == "HTTP 500"
    assert all(a.url == receiver.url and a.attempted_at for a in attempts)
    assert attempts[0].attempted_at < attempts[1].attempted_at < attempts[2].attempted_at
    assert event.attempts == 3 and event.delivered_at is not None
    time.sleep(0.5)
    assert len(receiver.received) == 3  # nothing more once delivered


def test_gives_up_after_the_schedule_then_resend_delivers(runner, project, upload, receiver):
    secret = connect(project, receiver)
    attempts = webhook_delivery.max_attempts()
    assert attempts >= 6
    receiver.script(*([503] * attempts))
    upload()

    event = wait_until(lambda: WebhookEvent.objects.filter(status=Status.FAILED).first())
    assert event.attempts == attempts
    assert event.deliveries.count() == attempts
    assert len(receiver.wait_for(attempts)) == attempts

    webhook_delivery.resend(event)  # what the admin's re-send does
    hooks = receiver.wait_for(attempts + 1)
    assert hooks[-1].headers["webhook-id"] == event.pk
    verify_webhook(secret, hooks[-1].headers, hooks[-1].body)
    wait_until(lambda: WebhookEvent.objects.get(pk=event.pk).status == Status.DELIVERED)
    assert WebhookDelivery.objects.filter(event=event).count() == attempts + 1


def test_network_error_is_recorded_and_retried(runner, project, upload, receiver):
    connect(project, receiver)
    receiver.server.shutdown()  # nothing listens any more: connection refused
    receiver.server.server_close()
    upload()
    event = wait_until(lambda: WebhookEvent.objects.filter(status=Status.FAILED).first())
    errors = list(event.deliveries.values_list("error", "status_code"))
    assert len(errors) == webhook_delivery.max_attempts()
    assert all(code is None and "ConnectionError" in error for error, code in errors)


def test_redirects_are_not_followed(runner, project, upload, receiver):
    connect(project, receiver)
    target = receiver.url.replace("/hooks", "/elsewhere")
    receiver.script((302, {"Location": target}), 200)
    upload()
    event = wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).first())
    assert list(event.deliveries.order_by("attempt").values_list("status_code", flat=True)) == [
        302, 200
    ]
    assert receiver.for_path("/elsewhere") == []


def test_secret_rotation_signs_with_both_secrets_for_a_while(runner, project, upload, receiver):
    old = connect(project, receiver)
    new = webhook_delivery.rotate_webhook_secret(project)
    assert new != old and new.startswith("whsec_")
    upload()
    (hook,) = receiver.wait_for(1)
    verify_webhook(new, hook.headers, hook.body)
    verify_webhook(old, hook.headers, hook.body)  # receivers not yet updated still verify


# -- the SSRF guard (no worker needed) ---------------------------------------------------------

PRIVATE_URLS = [
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://10.0.0.7/hook",
    "http://192.168.1.1/hook",
    "http://172.16.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_private_webhook_url_is_refused_without_the_development_setting(settings, project, url):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": False}
    with pytest.raises(UnsafeWebhookUrl):
        webhook_delivery.set_webhook_url(project, url)
    project.webhook_url = url
    with pytest.raises(ValidationError) as info:
        project.full_clean()  # what the admin's form runs
    assert "webhook_url" in info.value.message_dict
    assert Project.objects.get(pk=project.pk).webhook_url == ""

    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": True}
    webhook_delivery.set_webhook_url(project, url)
    assert Project.objects.get(pk=project.pk).webhook_url == url


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "gopher://x/"])
def test_only_http_and_https(settings, url):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": True}
    with pytest.raises(UnsafeWebhookUrl, match="http or https"):
        check_webhook_url(url)


def test_public_address_is_accepted(settings):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": False}
    check_webhook_url("https://93.184.215.14/hooks")  # a literal public address: no DNS needed


def test_the_guard_runs_again_at_delivery(settings, project, upload, receiver, tmp_path):
    """Saved while allowed, refused when delivering once it is not: nothing is sent."""
    settings.UPLOADKIT = {
        **settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": True, "WEBHOOK_RETRY_DELAYS": [0]
    }
    connect(project, receiver)
    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": False}
    upload()  # no worker: the embedded default delivers in-process after the commit
    event = WebhookEvent.objects.get()
    assert event.status == Status.FAILED
    assert all("private" in d.error for d in event.deliveries.all())
    assert receiver.received == []


# -- the demo command --------------------------------------------------------------------------


def test_demo_prints_the_webhook_secret_before_the_key(settings, db, receiver):
    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": True}
    out = StringIO()
    call_command("uploadkit_demo", "--webhook-url", receiver.url, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("uk_live_")
    assert lines[-2].startswith("WEBHOOK_SECRET=whsec_")
    project = Project.objects.get(slug="demo")
    assert project.webhook_url == receiver.url
    assert project.webhook_secret == lines[-2].split("=", 1)[1]

    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": False}
    with pytest.raises(CommandError, match="private"):
        call_command("uploadkit_demo", "--webhook-url", "http://127.0.0.1:1/x", stdout=StringIO())


def test_event_bodies_are_compact_json(runner, project, upload, receiver):
    connect(project, receiver)
    upload()
    (hook,) = receiver.wait_for(1)
    assert json.dumps(json.loads(hook.body), separators=(",", ":")).encode() == hook.body
    assert hook.headers["content-type"] == "application/json"


def test_a_threads_pool_worker_delivers_side_by_side_each_event_once(
    settings, threads_broker_app, use_app, project, route, receiver
):
    """One worker process with ``--pool threads`` (the webhook worker docs/celery.md gives):
    its deliveries overlap, and each event is still sent once, signed, and recorded once."""
    settings.UPLOADKIT = TEST_UPLOADKIT
    use_app(threads_broker_app)
    secret = connect(project, receiver)
    receiver.gather(2, timeout=3)  # under WEBHOOK_TIMEOUT: a held request is still answered
    files = File.objects.bulk_create([
        File(project=project, route=route, key=f"uploads/threads-{i}/a.png", name="a.png", size=8,
             content_type="image/png", status=File.Status.UPLOADED)
        for i in range(12)
    ])
    with transaction.atomic():
        events = webhook_delivery.record_file_events(webhook_delivery.FILE_UPLOADED, files)

    hooks = receiver.wait_for(12)
    assert receiver.max_in_flight >= 2  # two threads were sending at once
    payloads = [verify_webhook(secret, hook.headers, hook.body) for hook in hooks]
    assert sorted(hook.headers["webhook-id"] for hook in hooks) == sorted(e.pk for e in events)
    assert sorted(p["data"]["id"] for p in payloads) == sorted(f.pk for f in files)
    wait_until(lambda: WebhookEvent.objects.filter(status=Status.DELIVERED).count() == 12)
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    assert WebhookDelivery.objects.filter(succeeded=True).count() == 12
    assert len(receiver.received) == 12  # nothing sent twice


def test_deliveries_reuse_one_kept_alive_connection(settings, tmp_path, project):
    """One HTTP session per worker process: three deliveries to a keep-alive receiver go over
    one TCP connection (a new connection per delivery was most of an attempt's cost)."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from .conftest import TEST_UPLOADKIT

    settings.UPLOADKIT = {**TEST_UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(tmp_path)}}
    connections: list[int] = []

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connections.append(1)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        webhook_delivery.set_webhook_url(project, f"http://127.0.0.1:{server.server_address[1]}/h")
        events = [new_event(project) for _ in range(3)]
        for event in events:
            assert webhook_delivery.attempt_delivery(event.pk) is None
        assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"DELIVERED"}
        assert len(connections) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_an_attempt_is_two_statements_on_postgresql(settings, project, receiver,
                                                    django_assert_num_queries):
    """The claim with the read of the event and its project, then the attempt's row with the
    event's new state: one statement each on PostgreSQL. SQLite: the claim, the read, and
    BEGIN IMMEDIATE, INSERT, UPDATE, COMMIT."""
    settings.UPLOADKIT = TEST_UPLOADKIT
    connect(project, receiver)
    warm, measured = new_event(project), new_event(project)
    assert webhook_delivery.attempt_delivery(warm.pk) is None  # builds the SQL
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 6):
        assert webhook_delivery.attempt_delivery(measured.pk) is None
    assert WebhookEvent.objects.get(pk=measured.pk).status == Status.DELIVERED
    assert WebhookDelivery.objects.get(event_id=measured.pk).succeeded
    assert [hook.headers["webhook-id"] for hook in receiver.wait_for(2)] == [warm.pk, measured.pk]


def test_an_attempt_that_outlives_its_lease_leaves_the_event_to_its_new_owner(
    settings, project, receiver
):
    """Another worker may claim an event whose lease ran out while its attempt still waited
    for the receiver: the late attempt is recorded, but it changes neither the event's state
    nor its retries, which are the new claimant's."""
    import threading
    from datetime import timedelta

    from django.utils import timezone

    settings.UPLOADKIT = TEST_UPLOADKIT
    connect(project, receiver)
    event = new_event(project)
    receiver.gather(2, timeout=1.5)  # the first request is held 1.5 s, then answered 200
    returned = []

    def attempt_in_another_thread() -> None:
        try:
            returned.append(webhook_delivery.attempt_delivery(event.pk))
        finally:
            connection.close()  # this thread's own

    attempt = threading.Thread(target=attempt_in_another_thread)
    attempt.start()
    wait_until(lambda: WebhookEvent.objects.get(pk=event.pk).lease_until is not None)
    new_lease = timezone.now() + timedelta(minutes=5)  # what another worker's claim writes
    WebhookEvent.objects.filter(pk=event.pk).update(lease_until=new_lease)
    attempt.join(10)

    assert returned == [None]  # no retry of its own
    event.refresh_from_db()
    assert (event.status, event.attempts, event.lease_until) == (Status.PENDING, 0, new_lease)
    [late] = event.deliveries.all()
    assert late.succeeded and late.attempt == 1


def test_no_cookie_is_kept_between_deliveries(runner, project, upload, receiver):
    connect(project, receiver)
    receiver.script((200, {"Set-Cookie": "session=abc; Path=/"}))
    upload()
    receiver.wait_for(1)
    upload()
    hooks = receiver.wait_for(2)
    assert "cookie" not in hooks[1].headers


def test_each_process_makes_its_own_connection_pools(monkeypatch):
    first = webhook_http._http()
    assert webhook_http._http() is first
    monkeypatch.setattr(webhook_http.os, "getpid", lambda: -1)  # as after a fork
    assert webhook_http._http() is not first


# -- the environment: proxies ------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch, settings, tmp_path):
    """A clean environment for deliveries (read as requests reads it), read afresh: no proxy, CA bundle or .netrc variables
    but the test's own."""
    from .conftest import TEST_UPLOADKIT

    settings.UPLOADKIT = {**TEST_UPLOADKIT, "STORAGE_OPTIONS": {"ROOT": str(tmp_path)}}
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name in ("NETRC", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    webhook_http._environment.cache_clear()
    yield monkeypatch
    webhook_http._environment.cache_clear()


def deliver_one(project: Project, url: str) -> WebhookEvent:
    webhook_delivery.set_webhook_url(project, url)
    event = new_event(project)
    webhook_delivery.attempt_delivery(event.pk)
    event.refresh_from_db()
    return event


def origin(receiver: WebhookReceiver) -> str:
    return receiver.url.rsplit("/", 1)[0]


def test_a_proxy_from_the_environment_carries_deliveries(environment, project):
    with WebhookReceiver() as proxy:  # as a proxy, it is asked for the absolute URL
        environment.setenv("http_proxy", origin(proxy))
        # Nothing listens on 127.0.0.9:9: the delivery succeeds only through the proxy.
        event = deliver_one(project, "http://127.0.0.9:9/hook")
        assert event.status == Status.DELIVERED
        [request] = proxy.received
        assert request.path == "http://127.0.0.9:9/hook" and request.headers["webhook-id"] == event.pk


def test_no_proxy_sends_a_delivery_straight_to_its_receiver(environment, project):
    with WebhookReceiver() as proxy, WebhookReceiver() as receiver:
        environment.setenv("http_proxy", origin(proxy))
        environment.setenv("no_proxy", "127.0.0.1")
        event = deliver_one(project, receiver.url)
        assert event.status == Status.DELIVERED
        assert [r.path for r in receiver.received] == ["/hooks"] and proxy.received == []


def test_the_environment_is_read_once_per_url(environment, project):
    with WebhookReceiver() as receiver:
        deliver_one(project, receiver.url)
        environment.setenv("http_proxy", "http://127.0.0.9:9")  # seen only after a restart
        assert deliver_one(project, receiver.url).status == Status.DELIVERED
        assert len(receiver.received) == 2


def test_netrc_credentials_from_the_environment_are_sent(environment, project, tmp_path):
    import base64 as b64

    with WebhookReceiver() as receiver:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login hooks password s3cret\n")
        netrc.chmod(0o600)
        environment.setenv("NETRC", str(netrc))
        assert deliver_one(project, receiver.url).status == Status.DELIVERED
        [request] = receiver.received
        assert request.headers["authorization"] == "Basic " + b64.b64encode(b"hooks:s3cret").decode()


def test_credentials_in_the_url_are_sent_as_basic_auth_never_in_the_request(environment,
                                                                            project):
    import base64 as b64

    with WebhookReceiver() as receiver:
        url = receiver.url.replace("http://", "http://hooks:p%40ss@")  # quoted in the URL
        assert deliver_one(project, url).status == Status.DELIVERED
        with WebhookReceiver() as proxy:  # through a proxy, the absolute URL leaves them out
            environment.setenv("http_proxy", origin(proxy))
            webhook_http._environment.cache_clear()
            assert deliver_one(project, url).status == Status.DELIVERED
    basic = "Basic " + b64.b64encode(b"hooks:p@ss").decode()
    [straight] = receiver.received
    [proxied] = proxy.received
    assert straight.headers["authorization"] == proxied.headers["authorization"] == basic
    assert proxied.path == receiver.url and "p%40ss" not in proxied.path


def test_a_url_requests_cannot_prepare_is_a_failed_attempt_not_an_exception(environment):
    sent = webhook_http.post("http://\u2603.net/hook", b"{}", {}, 1.0, 100)
    assert sent.status is None and "InvalidURL" in sent.error


def test_the_guard_resolves_the_host_delivery_connects_to(settings, monkeypatch):
    """Python's resolver encodes names with IDNA 2003 ("ß" becomes "ss": another domain);
    requests with IDNA 2008. The guard must look up the name that will be connected to."""
    import socket

    settings.UPLOADKIT = {**settings.UPLOADKIT, "ALLOW_PRIVATE_WEBHOOKS": False}
    asked = []

    def resolve(host, port, *args, **kwargs):  # public DNS does not exist here
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    check_webhook_url("https://evilstra\u00dfe.com/hook")
    assert asked == ["xn--evilstrae-n1a.com"]
    assert webhook_http._environment("https://evilstra\u00dfe.com/hook")["url"].startswith(
        "https://xn--evilstrae-n1a.com/"
    )
    with pytest.raises(UnsafeWebhookUrl, match="not a valid domain name"):
        check_webhook_url("https://\u2603.net/hook", allow_private=True)


def test_the_ca_bundle_and_no_proxy_are_read_as_requests_reads_them(environment):
    environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    environment.setenv("http_proxy", "http://127.0.0.9:9")
    # NO_PROXY names hosts as requests sends them: IDNA-encoded.
    environment.setenv("no_proxy", "xn--bcher-kva.example")
    settings = webhook_http._environment("http://bücher.example/hook")
    assert settings["verify"] == "/etc/ssl/certs/ca-certificates.crt"
    assert settings["proxies"] == {}
    assert webhook_http._environment("http://other.example/hook")["proxies"]["http"] == "http://127.0.0.9:9"


def test_a_proxy_url_with_credentials_authenticates_to_the_proxy(environment, project):
    import base64 as b64

    with WebhookReceiver() as proxy:
        host = origin(proxy).split("//", 1)[1]
        environment.setenv("http_proxy", f"http://hooks:p%40ss@{host}")  # quoted in the URL
        event = deliver_one(project, "http://127.0.0.9:9/hook")
        assert event.status == Status.DELIVERED
        [request] = proxy.received
        assert request.headers["proxy-authorization"] == "Basic " + b64.b64encode(b"hooks:p@ss").decode()
        assert "authorization" not in request.headers


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, trusted by nobody but the tests that say so."""
    import subprocess

    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def test_https_receivers_are_verified_against_the_ca_bundle_requests_would_use(
    environment, project, certificate, tmp_path
):
    import shutil
    import subprocess

    cert, _ = certificate
    with WebhookReceiver(tls=certificate) as receiver:
        # certifi's bundle (what requests uses by default) does not trust it: not sent.
        refused = deliver_one(project, receiver.url)
        assert refused.status == Status.PENDING and receiver.received == []
        assert "CERTIFICATE_VERIFY_FAILED" in refused.deliveries.get().error

        webhook_http._environment.cache_clear()
        environment.setenv("REQUESTS_CA_BUNDLE", cert)  # a file
        assert deliver_one(project, receiver.url).status == Status.DELIVERED

        folder = tmp_path / "cas"
        folder.mkdir()
        shutil.copy(cert, folder / "receiver.pem")
        subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True)
        webhook_http._environment.cache_clear()
        environment.setenv("REQUESTS_CA_BUNDLE", str(folder))  # a directory, as c_rehash makes
        assert deliver_one(project, receiver.url).status == Status.DELIVERED
        assert len(receiver.received) == 2


# -- the whole attempt within WEBHOOK_TIMEOUT ---------------------------------------------------


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_webhook_timeout(settings, project):
    """Each byte in time for the read timeout, the whole answer far past it: the attempt ends
    at WEBHOOK_TIMEOUT as a failure, to be tried again, in any pool (threads and solo have no
    Celery time limit)."""
    settings.UPLOADKIT = {**TEST_UPLOADKIT, "WEBHOOK_TIMEOUT": 0.5}
    with SlowServer(interval=0.02) as server:  # 20 ms a byte, ~2.4 s for the answer
        event = deliver_one(project, server.url)
        assert server.wait_for(1) == [True]  # it saw us hang up before its answer was sent
    assert (event.status, event.attempts) == (Status.PENDING, 1)
    [attempt] = WebhookDelivery.objects.filter(event=event)
    assert not attempt.succeeded
    assert "within WEBHOOK_TIMEOUT (0.5 s)" in attempt.error


def test_a_body_that_stalls_after_the_headers_is_a_failed_attempt_not_an_exception(settings,
                                                                                   project):
    settings.UPLOADKIT = {**TEST_UPLOADKIT, "WEBHOOK_TIMEOUT": 0.5}
    with SlowServer(mode="stall", stall=3) as server:
        event = deliver_one(project, server.url)
    assert (event.status, event.attempts) == (Status.PENDING, 1)
    [attempt] = WebhookDelivery.objects.filter(event=event)
    assert attempt.status_code == 200 and not attempt.succeeded
    assert "WEBHOOK_TIMEOUT" in attempt.error or "Read timed out" in attempt.error

"""A browser ``fetch`` PUT from a page on another origin: allowed by the bucket's CORS rule
for that origin, blocked by the browser itself for an origin the rule does not name.

Headless Chromium (Debian's ``chromium``, as in ``tests/browser``) driven by Playwright. The
page is served by a tiny HTTP server on 127.0.0.1, so page and bucket are both on loopback
but on different origins (another port), and ``localhost`` on the same port is a third origin.
Playwright runs inside the test only: its asyncio loop is gone before any ORM call here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from django_uploadkit.models import File

pytestmark = pytest.mark.usefixtures("s3_storage")

CHROMIUM = os.environ.get("UPLOADKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
BODY = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4

# The harness's permissive rule (tests/servers/s3rver_launcher.js), put back afterwards.
PERMISSIVE_RULE = {
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["GET", "PUT", "HEAD", "POST", "DELETE"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 3000,
}

UPLOAD_JS = """async ([url, bytes]) => {
  try {
    const response = await fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': 'image/jpeg' },
      body: new Uint8Array(bytes),
    });
    return { status: response.status, etag: response.headers.get('ETag') };
  } catch (error) {
    return { error: String(error) };
  }
}"""


class BlankPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b"<!doctype html><title>app</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def app_port() -> Iterator[int]:
    """A site on another origin than the bucket, as a customer's web app would be."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BlankPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def cors_rule_for(s3_client, s3_server) -> Iterator[object]:
    def set_rule(origin: str) -> None:
        s3_client.put_bucket_cors(
            Bucket=s3_server.bucket,
            CORSConfiguration={"CORSRules": [{
                "AllowedOrigins": [origin],
                "AllowedMethods": ["PUT", "GET", "HEAD"],
                "AllowedHeaders": ["content-type"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000,
            }]},
        )

    yield set_rule
    s3_client.put_bucket_cors(
        Bucket=s3_server.bucket, CORSConfiguration={"CORSRules": [PERMISSIVE_RULE]}
    )


def test_a_browser_uploads_from_an_origin_the_cors_rule_allows(api_http, app_port, cors_rule_for):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run `make install`"
    allowed, other = f"http://127.0.0.1:{app_port}", f"http://localhost:{app_port}"
    cors_rule_for(allowed)
    # The key stays on the server: the server requests the URL, the browser only PUTs.
    ticket = api_http.request(len(BODY)).json()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{other}/")
            blocked = page.evaluate(UPLOAD_JS, [ticket["uploadUrl"], list(BODY)])
            page.goto(f"{allowed}/")
            uploaded = page.evaluate(UPLOAD_JS, [ticket["uploadUrl"], list(BODY)])
        finally:
            browser.close()

    assert "Failed to fetch" in blocked.get("error", ""), blocked
    assert uploaded == {"status": 200, "etag": uploaded["etag"]} and uploaded["etag"], uploaded
    complete = api_http.complete(ticket["fileId"])
    assert complete.status_code == 200, complete.json()
    assert requests.get(complete.json()["url"]).content == BODY
    assert File.objects.get(pk=ticket["fileId"]).status == "UPLOADED"

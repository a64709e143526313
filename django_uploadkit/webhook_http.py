"""One webhook POST: urllib3's pools, kept alive per process and thread; the environment
(proxies, CA certificates, .netrc) read as requests reads it; and ``WEBHOOK_TIMEOUT`` over the
whole exchange (http_deadline.py). What happens around it (the claim, the signature, the
record of the attempt, retries) is ``webhook_delivery``'s.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any, NamedTuple

import requests
import urllib3

from .http_deadline import Deadline, pool_manager


class Sent(NamedTuple):
    """What came back: the status (None if no status line came), the start of the body, and
    why the attempt failed ("" if a whole answer came within the time)."""

    status: int | None
    excerpt: str
    error: str


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, excerpt_chars: int) -> Sent:
    """POST ``body``; the answer's first ``excerpt_chars`` characters are kept. Redirects are
    never followed (a 3xx is a failed attempt: a receiver could bounce the request to an
    internal address), nothing is retried here, and nothing raises for the receiver's failures."""
    status, excerpt, error = None, "", ""
    with Deadline(timeout) as deadline:
        response = None
        try:
            # Inside the try: a URL requests cannot prepare (a host IDNA refuses) is a failed
            # attempt like any other, not an exception that leaves the event claimed.
            environment = _environment(url)
            headers = {**headers, **environment["headers"]}
            response = _http(environment["proxy"], environment["verify"]).urlopen(
                "POST", environment["url"], body=body, headers=headers, redirect=False,
                retries=False, timeout=urllib3.Timeout(connect=timeout, read=timeout),
                preload_content=False,
            )
            status = response.status
            # The body is read only up to the excerpt: a short one (the usual) is read to its
            # end and its connection goes back to the pool; a longer one's is closed.
            raw = response.read(excerpt_chars * 4, decode_content=True) or b""
            excerpt = raw.decode("utf-8", "replace")[:excerpt_chars]
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
        finally:
            if response is not None:
                response.close()  # closes the connection unless the whole body was read
                response.release_conn()
    if deadline.expired:
        # What was read before the cut can look whole (an EOF ends the headers for http.client,
        # and a body without a length): never a success.
        error = (f"The receiver did not answer in full within WEBHOOK_TIMEOUT "
                 f"({timeout:g} s); the connection was closed.")
    return Sent(status, excerpt, error)


_local = threading.local()


def _http(proxy: str | None = None, verify: bool | str = True) -> urllib3.PoolManager:
    """This process's (and thread's) pool manager for a proxy (None: straight to receivers) and
    a CA setting: connections to a receiver are kept alive and reused by the next deliveries
    instead of one TCP connection each. Made after the fork (keyed by pid), never shared
    between processes. urllib3 itself, not requests on top of it: requests' session, request
    and response objects cost half of each POST's CPU (BENCHMARKS.md, item 7, eighth round).
    No cookie jar: what one receiver sets is never sent with a later delivery."""
    managers = getattr(_local, "managers", None)
    if managers is None or _local.pid != os.getpid():
        managers = _local.managers = {}
        _local.pid = os.getpid()
    manager = managers.get((proxy, verify))
    if manager is None:
        manager = managers[(proxy, verify)] = _pool_manager(proxy, verify)
    return manager


def _pool_manager(proxy: str | None, verify: bool | str) -> urllib3.PoolManager:
    """As requests' adapter would set it up: certifi's CA certificates, or the file or
    directory ``REQUESTS_CA_BUNDLE`` names; a proxy's credentials from its URL."""
    options: dict[str, Any] = {"num_pools": 32, "maxsize": 2, "cert_reqs": "CERT_REQUIRED"}
    if verify is True:
        options["ca_certs"] = requests.utils.DEFAULT_CA_BUNDLE_PATH
    elif os.path.isdir(verify):
        options["ca_cert_dir"] = verify
    else:
        options["ca_certs"] = verify
    if proxy is None:
        return pool_manager(None, **options)
    if proxy.lower().startswith("socks"):
        try:  # needs PySocks, as requests does
            from urllib3.contrib.socks import SOCKSProxyManager
        except ImportError:
            raise urllib3.exceptions.ProxySchemeUnknown(
                f"{proxy.split(':', 1)[0]} (SOCKS needs the PySocks package)"
            ) from None
        return SOCKSProxyManager(proxy, **options)
    user, password = requests.utils.get_auth_from_url(proxy)
    if user:
        options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
    return pool_manager(proxy, **options)


@functools.lru_cache(maxsize=256)
def _environment(url: str) -> dict[str, Any]:
    """What requests would take from the environment for ``url`` (``trust_env``): the proxies
    (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, none for a ``NO_PROXY`` host), the CA bundle
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) and the credentials (``.netrc``'s, else the
    URL's own ``user:password@``, sent as Basic auth and never in the request line), read with
    requests' own functions, and the URL as requests would send it (its host IDNA-encoded, its
    path quoted). Read once per process and URL: requests scanned all of ``os.environ`` on every
    delivery, which cost more than a quarter of an attempt's instructions (BENCHMARKS.md,
    item 7). A change to these variables reaches a worker when it restarts."""
    verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    prepared = requests.Request("POST", url).prepare().url or url
    proxies = requests.utils.get_environ_proxies(prepared)
    # requests' order: .netrc's entry for the host first, else the URL's own credentials.
    auth = requests.utils.get_netrc_auth(url) or requests.utils.get_auth_from_url(prepared)
    return {
        "url": requests.utils.urldefragauth(prepared),
        "proxies": proxies,
        "proxy": requests.utils.select_proxy(prepared, proxies),
        "verify": verify,
        "headers": urllib3.make_headers(basic_auth=":".join(auth)) if any(auth) else {},
    }



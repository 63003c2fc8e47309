"""openlineage-python's HTTP transport with a lighter socket layer for the send thread.

:class:`KeepAliveHttpTransport` *is* an ``openlineage.client.transport.http.HttpTransport``: the same
configuration (``url``, ``endpoint``, ``timeout``, ``auth`` token providers, ``custom_headers``,
``compression``, ``verify``/``sslContext``), the same headers and body (``_prepare_request``), the same
"an HTTP error status raises" contract. Only the socket layer differs: one persistent ``http.client``
connection instead of a ``requests`` session. ``requests`` spends about 0.5 ms of CPU per POST on
machinery a single-endpoint sender never uses (environment proxy lookup, hooks, adapters, cookie jars),
and the send thread shares the GIL with the task, so that CPU is task time.

Configurations that need what only ``requests`` does go through the parent class unchanged: a proxy from
the environment for this URL, credentials from ``~/.netrc``, a client certificate, a custom ``session`` or
``adapter``, and any redirect answer.

This module imports openlineage-python; it is imported only by :func:`transport.build` (send thread).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import select
import ssl
import threading
from typing import Any
from urllib.parse import urljoin, urlsplit

from openlineage.client.transport.http import HttpConfig, HttpTransport

log = logging.getLogger(__name__)


class HttpStatusError(RuntimeError):
    """The receiver answered with an HTTP error status (the event is kept in the spool)."""


def _direct_blocker(transport: HttpTransport, url: str) -> str | None:
    """Why ``url`` must go through ``requests`` (None: the direct connection can serve it)."""
    config = transport.config
    if config.session is not None or config.adapter is not None:
        return "a custom session or adapter is configured"
    if transport.cert is not None:
        return "a client certificate is configured"
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return f"scheme {scheme!r}"
    from requests.utils import get_environ_proxies, get_netrc_auth

    if get_environ_proxies(url):
        return "a proxy applies to this URL"
    if get_netrc_auth(url):
        return "~/.netrc holds credentials for this host"
    return None


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context ``requests`` would use: certifi's bundle (or REQUESTS_CA_BUNDLE), a CA file or none."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if not bundle:
            import certifi

            bundle = certifi.where()
        verify = bundle
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class KeepAliveHttpTransport(HttpTransport):
    """``HttpTransport`` posting over one persistent ``http.client`` connection (see the module docstring)."""

    kind = "http"
    config_class = HttpConfig

    def __init__(self, config: HttpConfig) -> None:
        super().__init__(config)
        self._target = urljoin(self.url, self.endpoint)
        self._blocker = _direct_blocker(self, self._target)
        if self._blocker is not None:
            log.debug("lineage HTTP transport uses requests: %s", self._blocker)
        parts = urlsplit(self._target)
        self._https = parts.scheme.lower() == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection | None = None
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    @property
    def direct(self) -> bool:
        """True when events go through the persistent connection (not through ``requests``)."""
        return self._blocker is None

    def emit(self, event: Any) -> Any:
        if self._blocker is not None or not isinstance(event, dict):
            return super().emit(event)
        body, headers = self._prepare_request(json.dumps(event, sort_keys=True))
        with self._lock:
            status, reason = self._post(body, headers)
        if 300 <= status < 400:  # let requests follow it, as the parent class would
            return super().emit(event)  # type: ignore[arg-type]  # Serde takes wire dicts too
        if status >= 400:
            msg = f"{status} {reason} from {self._target}"
            raise HttpStatusError(msg)
        return status

    def _post(self, body: bytes | str, headers: dict[str, str]) -> tuple[int, str]:
        connection = self._open()
        try:
            connection.request("POST", self._path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except BaseException:
            self._drop()
            raise
        if response.will_close:
            self._drop()
        return response.status, response.reason

    def _open(self) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and connection.sock is not None:
            # an idle keep-alive connection the server has closed reads as ready (EOF): do not reuse it
            readable, _, _ = select.select([connection.sock], [], [], 0)
            if not readable:
                return connection
            self._drop()
        if self._https:
            if self._context is None:
                self._context = _ssl_context(self.verify)
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._context
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        connection.debuglevel = 0  # never print requests (and their Authorization header)
        self._connection = connection
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                log.debug("closing the lineage HTTP connection failed", exc_info=True)

    def close(self, timeout: float = -1) -> bool:
        self._drop()
        return bool(super().close(timeout))


__all__ = ["HttpStatusError", "KeepAliveHttpTransport"]

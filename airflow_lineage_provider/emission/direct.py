"""Transports the provider runs itself, without importing openlineage-python in the process.

In Airflow 3 every task try is a fresh process. Events are built as wire-format dicts (``emission.events``),
so for the two most common destinations the only reason left to import openlineage-python in a task
process would be its transport classes, and ``import openlineage.client`` costs a fresh process about
130 ms of CPU (it loads every generated facet class and three HTTP stacks). So:

* :class:`RotatingFileWriter` is the embedded default (``$AIRFLOW_HOME/lineage/events.jsonl``) and serves
  a ``file`` transport in ``append`` mode on a local path (one JSON line per event, as openlineage-python's
  ``FileTransport`` writes it, under an ``flock`` so processes never interleave lines);
* :class:`DirectHttpTransport` serves an ``http`` transport configuration that openlineage-python's
  ``HttpTransport`` would handle with nothing but its defaults: ``url``, ``endpoint``, ``timeout``,
  ``verify``, ``auth`` of type ``api_key``, ``custom_headers``, ``compression: gzip``, ``sslContext`` with
  a CA file only. It reads those keys as ``HttpConfig.from_dict`` does and sends the same request (same
  URL, same JSON with sorted keys, same ``Content-Type``/``Authorization``/custom/``Content-Encoding``
  headers, and ``user:password@`` in the URL sent as Basic auth as ``requests`` does), over one kept-alive
  ``http.client`` connection: about 0.15 ms of CPU per event where
  ``requests`` takes 0.7 ms, on a thread that shares the GIL with the task. ``tests/emission`` checks
  the parity against openlineage-python's own ``HttpTransport``.

:func:`direct_http_config` returns ``None`` for anything else (other auth types or a token provider class,
a client certificate, a proxy or ``~/.netrc`` entry for the URL): such configurations are built by
openlineage-python's transport factory, as are all other transport types.

A 307/308 redirect is followed only to the same scheme, host and port: the request carries the
``Authorization`` and custom headers, which must not reach another server (nor go over plain http).

``timeout`` bounds each request as a whole (looking up the host name, connecting, sending, every read of
the answer, redirects included), not only each read: a server that trickles its answer a byte at a time,
so that no single read ever waits ``timeout``, cannot keep the send worker (and the event) for longer.
The socket of the connection re-arms its timeout before every blocking call to what is left of the
request's deadline (:class:`_DeadlineSocket`, :class:`_DeadlineSSLSocket`).
:func:`bound_requests_transport` gives openlineage-python's ``HttpTransport`` (``requests``) the same
deadline, through a ``requests`` adapter whose connections use those sockets, also through an HTTP(S) proxy
from the environment (the provider's own client leaves proxied URLs to ``requests``): connecting to the
proxy, its ``CONNECT`` exchange, TLS to an ``https://`` proxy and the request inside the tunnel. The token
endpoint of ``jwt``/``oauth2`` auth is asked through that adapter too. The host name is looked up on
one resolver thread per process (:class:`_Resolver`), which the request waits for until its deadline only: a
resolver that hangs cannot hold the send worker (an IP address in the URL needs no lookup).

An event counts as delivered only on a *complete* 2xx answer: the status line, the whole header block (up to
the empty line that ends it) and the body as its headers announce it (``Content-Length`` or chunked), or the
first ``_MAX_ANSWER_BYTES`` of a longer one, which is not read further (nor kept in memory: it is read in
small pieces and discarded, as sent: a gzip body is not decompressed). An answer cut before that (the
connection closed in the headers or in the body) says nothing sure about the event: it is an error
(:class:`IncompleteAnswer`), so the event is kept and sent again; OpenLineage consumers take a repeated
event (same run, type and time) as the same fact.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gzip
import http.client
import ipaddress
import json
import logging
import netrc
import os
import queue
import select
import socket
import ssl
import threading
import time
import urllib.request
import zlib
from base64 import b64encode
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from airflow_lineage_provider.emission.redaction import mask_url

log = logging.getLogger(__name__)

#: ``HttpConfig`` keys this module understands (others are ignored by openlineage-python too)
_SSL_KEYS = ("sslContext", "ssl_context", "sslcontext")
_CA_KEYS = ("caCertPath", "ca_cert_path", "cacertpath")
#: redirects that keep the method and body (requests would turn 301/302/303 into a GET without the event)
_REDIRECTS_KEEPING_POST = (307, 308)
_MAX_REDIRECTS = 3
#: the most of an answer's body read (an OpenLineage endpoint answers a few bytes): past it, it is not read
_MAX_ANSWER_BYTES = 1 << 20
_READ_CHUNK = 64 * 1024
#: informational answers (1xx) skipped before the final one (each is bounded by the deadline too)
_MAX_INFORMATIONAL = 10
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: the request this thread is making: ``until`` (monotonic deadline) and ``timeout`` (per blocking call)
_request = threading.local()


class RequestDeadlineExceeded(TimeoutError):
    """The request as a whole took longer than the transport's ``timeout`` (e.g. a trickling answer)."""


def _arm(sock: socket.socket) -> None:
    """Give the next blocking call on ``sock`` at most what is left of this thread's request deadline."""
    until: float | None = getattr(_request, "until", None)
    if until is None:  # not in a request of ours: the socket keeps its own timeout
        return
    left = until - time.monotonic()
    if left <= 0:
        raise RequestDeadlineExceeded("the request's deadline passed")
    socket.socket.settimeout(sock, min(left, _request.timeout))


def _armed(name: str, base: type) -> Any:
    method = getattr(base, name)

    def call(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        _arm(self)
        return method(self, *args, **kwargs)

    call.__name__ = name
    return call


class _DeadlineSocket(socket.socket):
    """A TCP socket whose blocking calls each end by the deadline of the request in progress (see
    :func:`_arm`), so that the request's total time is bounded, not only each read."""

    __slots__ = ()
    recv_into = _armed("recv_into", socket.socket)
    recv = _armed("recv", socket.socket)
    send = _armed("send", socket.socket)
    sendall = _armed("sendall", socket.socket)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS counterpart of :class:`_DeadlineSocket` (``SSLContext.sslsocket_class``): the handshake,
    each read and each write end by the request's deadline."""

    recv_into = _armed("recv_into", ssl.SSLSocket)
    recv = _armed("recv", ssl.SSLSocket)  # urllib3's TLS-in-TLS (a tunnel through an https:// proxy) reads so
    send = _armed("send", ssl.SSLSocket)
    sendall = _armed("sendall", ssl.SSLSocket)
    do_handshake = _armed("do_handshake", ssl.SSLSocket)


class NameLookupTimeout(RequestDeadlineExceeded):
    """Looking up the host name took longer than what was left of the request's deadline."""


class IncompleteAnswer(ConnectionError):
    """The answer was cut (the connection closed in its header block or its body): whether the receiver
    stored the event is unknown, so it is sent again later."""


class _Lookup:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: list[Any] = []
        self.error: BaseException | None = None


class _Resolver:
    """Runs ``getaddrinfo`` on one daemon thread per process, so a caller can stop waiting at its deadline.

    ``getaddrinfo`` cannot be interrupted: a resolver that hangs (an unreachable DNS server waits for its
    ``timeout`` x ``attempts`` of ``resolv.conf``, an NSS module may wait longer) would hold the send
    worker, and with it every later event, past the request's deadline. Here only the resolver thread
    waits; a lookup of the same name and port already under way is shared, not queued again. No thread is
    started per event or per request, and none at all for an IP address or a kept-alive connection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._pending: dict[tuple[str, int], _Lookup] = {}
        self._calls: queue.SimpleQueue[tuple[tuple[str, int], _Lookup]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def resolve(self, host: str, port: int, wait: float | None) -> list[Any]:
        """``getaddrinfo(host, port)`` for TCP, waiting at most ``wait`` seconds (None: as long as needed)."""
        try:
            ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            pass
        else:  # a literal address: nothing to look up
            return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
        key = (host, port)
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread and lookups are not here
                self._pid, self._pending, self._thread = os.getpid(), {}, None
                self._calls = queue.SimpleQueue()
            lookup = self._pending.get(key)
            if lookup is None:
                lookup = self._pending[key] = _Lookup()
                self._calls.put((key, lookup))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lineage-resolve", daemon=True)
                self._thread.start()
        if not lookup.done.wait(wait):
            msg = f"looking up {host!r} took longer than the request's timeout (a slow or hung DNS resolver)"
            raise NameLookupTimeout(msg)
        if lookup.error is not None:
            error = lookup.error
            raise type(error)(*error.args) if isinstance(error, OSError) else error
        return lookup.result

    def _run(self) -> None:
        calls = self._calls
        while True:
            key, lookup = calls.get()
            try:
                lookup.result = socket.getaddrinfo(key[0], key[1], 0, socket.SOCK_STREAM)
            except BaseException as exc:  # the waiter raises it
                lookup.error = exc
            with self._lock:
                if self._pending.get(key) is lookup:
                    del self._pending[key]
            lookup.done.set()


_resolver = _Resolver()


def _wait(until: float | None, timeout: float | None) -> float | None:
    """The longest wait allowed now: ``timeout``, cut to what is left until ``until`` (the request's
    deadline, None: none); None when neither is set. Raises once the deadline has passed."""
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise RequestDeadlineExceeded("the request's deadline passed")
    return left if timeout is None else min(left, timeout)


def _create_connection(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: Any = None,
    *,
    socket_options: Any = None,
    **kwargs: Any,
) -> socket.socket:
    """``socket.create_connection`` within the request's deadline, as a :class:`_DeadlineSocket`.

    The name lookup (:class:`_Resolver`) and every connection attempt (one per address found, as
    ``create_connection`` makes them) share the deadline: three addresses that never answer cannot take
    three timeouts.
    """
    until: float | None = getattr(_request, "until", None)
    host, port = address
    infos = _resolver.resolve(host, port, _wait(until, timeout))
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        wait = _wait(until, timeout)
        sock = _DeadlineSocket(family, kind, proto)
        try:
            for option in socket_options or ():  # urllib3's (TCP_NODELAY ...), before connecting as it does
                sock.setsockopt(*option)
            sock.settimeout(wait)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error if error is not None else OSError(f"no address found for {host!r}")


class _HeaderEnd:
    """The answer's reader while :class:`_Response` reads its head: remembers whether the last line read
    ended with a newline (the header block ends with an empty line; at a cut connection it ends with none)."""

    __slots__ = ("cut", "fp")

    def __init__(self, fp: Any) -> None:
        self.fp = fp
        self.cut = False

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self.fp.readline(limit)
        self.cut = not line.endswith(b"\n")
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fp, name)


class _Response(http.client.HTTPResponse):
    """Two things ``http.client`` gets wrong for an answer that decides whether an event was delivered:

    * it reads a header block cut by the end of the connection as complete (its lines end at the end of
      the data): ``headers_cut`` says it was cut;
    * it skips ``100 Continue`` only, and takes any other informational answer (``103 Early Hints``, sent
      before the real one) for the answer: those are skipped too, so the final status decides (a 1xx
      left, e.g. ``101``, is not a delivery either, see :meth:`DirectHttpTransport.emit`).
    """

    headers_cut = False

    def begin(self) -> None:
        if self.headers is not None:
            return
        fp = self.fp
        watch = _HeaderEnd(fp)
        self.fp = watch
        try:
            for skipped in range(_MAX_INFORMATIONAL + 1):
                super().begin()
                if watch.cut or not 101 < self.status < 200 or skipped == _MAX_INFORMATIONAL:
                    break
                self.headers = self.msg = None  # the final answer follows
        finally:
            if self.fp is watch:
                self.fp = fp
        self.headers_cut = watch.cut


def _read_answer(response: http.client.HTTPResponse, where: str) -> bool:
    """Read (and discard) the answer's body: True when read whole, False when it is longer than
    ``_MAX_ANSWER_BYTES`` (not read further: the connection cannot be reused). Raises
    :class:`IncompleteAnswer` when the connection ends before the body its headers announce."""
    cut = f"the answer ({response.status}) from {where} was cut in its body"
    again = "not known whether the event was stored, it is sent again later"
    received = 0
    try:
        while received <= _MAX_ANSWER_BYTES:
            chunk = response.read(_READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
        else:
            return False
    except http.client.IncompleteRead as exc:  # a chunked body cut short
        msg = f"{cut} after {received + len(exc.partial)} bytes: {again}"
        raise IncompleteAnswer(msg) from None
    if response.length:  # read(amt) returns b"" at the end of the data without raising
        msg = f"{cut} after {received} bytes, {response.length} more announced: {again}"
        raise IncompleteAnswer(msg)
    return True


class HttpStatusError(RuntimeError):
    """The receiver answered with an HTTP error or redirect status; ``status`` holds it, ``retry_after``
    the answer's ``Retry-After`` header as sent (None without one)."""

    def __init__(self, message: str, status: int, *, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class DirectHttpConfig:
    """An ``http`` transport configuration :class:`DirectHttpTransport` can serve."""

    url: str
    endpoint: str = "api/v1/lineage"
    timeout: float = 5.0
    #: True, False, or a CA bundle file/directory
    verify: bool | str = True
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # repr: may hold the api key
    gzip: bool = False

    def __repr__(self) -> str:  # the URL's password and query values masked, the headers left out
        return (
            f"DirectHttpConfig(url={mask_url(self.url)!r}, endpoint={mask_url(self.endpoint)!r}, "
            f"timeout={self.timeout!r}, verify={self.verify!r}, gzip={self.gzip!r})"
        )

    @property
    def target(self) -> str:
        return urljoin(self.url.strip(), self.endpoint)


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port filled in when it is the scheme's default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS.get(scheme)


def _display(url: str) -> str:
    """``url`` for a message: no credentials, no query string (either may hold a secret)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def _proxied(url: str) -> bool:
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme.lower()) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def _netrc_has(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    candidates = [os.environ["NETRC"]] if os.environ.get("NETRC") else [
        os.path.expanduser("~/.netrc"), os.path.expanduser("~/_netrc")
    ]  # fmt: skip
    for path in candidates:
        if os.path.isfile(path):
            try:
                return netrc.netrc(path).authenticators(host) is not None
            except (OSError, netrc.NetrcParseError):
                return True  # requests would try it: leave the decision to requests
    return False


def direct_http_config(config: dict[str, Any]) -> DirectHttpConfig | None:
    """The configuration as :class:`DirectHttpConfig`, or None when openlineage-python must serve it."""
    if config.get("type") != "http" or not isinstance(config.get("url"), str):
        return None
    if config.get("session") is not None or config.get("adapter") is not None:
        return None
    auth = config.get("auth") or {}
    headers = {"Content-Type": "application/json"}
    if not isinstance(auth, dict):
        return None
    if "type" in auth:
        key = auth.get("apiKey") or auth.get("apikey") or auth.get("api_key")
        if auth["type"] != "api_key" or not key:
            return None  # jwt, oauth2, a token provider class, or a missing key (the factory says so)
        headers["Authorization"] = f"Bearer {key}"
    custom = config.get("custom_headers") or {}
    if not isinstance(custom, dict) or not all(isinstance(v, str) for v in custom.values()):
        return None
    headers.update({str(k): v for k, v in custom.items()})
    compression = config.get("compression")
    if compression not in (None, "", "gzip"):
        return None
    verify: bool | str = config.get("verify", True)
    if not isinstance(verify, bool):
        return None
    ssl_context = next((config[k] for k in _SSL_KEYS if config.get(k) is not None), None)
    if ssl_context is not None:
        if not isinstance(ssl_context, dict) or set(ssl_context) - set(_CA_KEYS):
            return None  # a client certificate (or something new): openlineage-python's job
        ca = next((ssl_context[k] for k in _CA_KEYS if ssl_context.get(k)), None)
        if ca:
            verify = str(ca)
    try:
        timeout = float(config.get("timeout", 5.0))
    except (TypeError, ValueError):
        return None
    direct = DirectHttpConfig(
        url=config["url"],
        endpoint=str(config.get("endpoint", "api/v1/lineage")),
        timeout=timeout,
        verify=verify,
        headers=headers,
        gzip=compression == "gzip",
    )
    parts = urlsplit(direct.target)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    try:
        _ = parts.port
    except ValueError:
        return None  # not a valid URL: openlineage-python reports it
    if _proxied(direct.target) or _netrc_has(direct.target):
        return None  # requests applies those; keep its behaviour
    if "@" in parts.netloc:
        try:  # as requests: user:password@ in the URL is Basic auth, over any Authorization header
            user, password = unquote(parts.username), unquote(parts.password)  # type: ignore[arg-type]
        except TypeError:
            user = password = ""  # a user without ':password': requests sends no credentials
        if user or password:
            try:
                credentials = b64encode(f"{user}:{password}".encode("latin1")).decode("ascii")
            except UnicodeEncodeError:
                return None  # requests cannot send it either: openlineage-python reports it
            headers["Authorization"] = f"Basic {credentials}"
    return direct


_FILE_KEYS = frozenset({"type", "log_file_path", "append", "name", "priority"})


def direct_file_path(config: dict[str, Any]) -> str | None:
    """The local path of a ``file`` transport in append mode with nothing else set, else None."""
    if config.get("type") != "file" or config.get("append") is not True or set(config) - _FILE_KEYS:
        return None
    path = config.get("log_file_path")
    if not isinstance(path, str) or not path or "://" in path:
        return None  # remote file systems are fsspec's job, through openlineage-python
    return path


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context ``requests`` would use: certifi's bundle (or REQUESTS_CA_BUNDLE), a CA file or none."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.sslsocket_class = _DeadlineSSLSocket
        return context
    if verify is True:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if not bundle:
            import certifi

            bundle = certifi.where()
        verify = bundle
    if os.path.isdir(verify):
        context = ssl.create_default_context(capath=verify)
    else:
        context = ssl.create_default_context(cafile=verify)
    context.sslsocket_class = _DeadlineSSLSocket
    return context


def _wire_json(event: Any) -> str:
    if not isinstance(event, dict):  # an openlineage-python object (only if a caller passes one)
        from airflow_lineage_provider._openlineage import ensure_imported

        ensure_imported()
        from openlineage.client.serde import Serde

        return str(Serde.to_json(event))
    return json.dumps(event, sort_keys=True)


class DirectHttpTransport:
    """POSTs each event to ``config.target`` over one persistent connection (see the module docstring)."""

    kind = "http"
    name: str | None = None
    priority = 0

    def __init__(self, config: DirectHttpConfig) -> None:
        self.config = config
        self.url = config.target
        self.timeout = config.timeout
        self._context: ssl.SSLContext | None = None
        self._connection: http.client.HTTPConnection | None = None
        self._origin: tuple[str, str, int | None] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<DirectHttpTransport {mask_url(self.url)}>"

    def emit(self, event: Any) -> int:
        text = _wire_json(event)
        body: bytes = (
            gzip.compress(text.encode("utf-8"), compresslevel=3)
            if self.config.gzip
            else (text.encode("utf-8"))
        )
        headers = dict(self.config.headers)
        if self.config.gzip:
            headers["Content-Encoding"] = "gzip"
        url = self.url
        with self._lock:
            started = time.monotonic()
            _request.until, _request.timeout = started + self.timeout, self.timeout
            try:
                for _ in range(_MAX_REDIRECTS + 1):
                    status, reason, location, retry_after = self._post(url, body, headers)
                    if status not in _REDIRECTS_KEEPING_POST or not location:
                        break
                    target = urljoin(url, location)
                    if _origin(target) != _origin(url):  # the headers carry the api key: never elsewhere
                        msg = (
                            f"{status} {reason} from {_display(url)}: redirect to {_display(target)} not "
                            "followed (only to the same scheme, host and port: the request carries the "
                            "transport's credentials); set the transport url ([lineage_provider] transport) "
                            "to the final address"
                        )
                        raise HttpStatusError(msg, status)
                    url = target
            except NameLookupTimeout:
                raise
            except TimeoutError as exc:
                if time.monotonic() - started < self.timeout:
                    raise  # one blocking call's own timeout: the error says which
                msg = (
                    f"no complete answer from {_display(url)} within timeout={self.timeout:g}s (per request)"
                )
                raise RequestDeadlineExceeded(msg) from exc
            finally:
                _request.until = None
        if 300 <= status < 400:
            msg = (
                f"{status} {reason} from {_display(url)}: set the transport url "
                "([lineage_provider] transport) to the address that accepts events"
            )
            raise HttpStatusError(msg, status)
        if status >= 400:
            msg = f"{status} {reason} from {_display(url)}"
            raise HttpStatusError(msg, status, retry_after=retry_after)
        if status < 200:  # not a final answer (101, or informational ones without end): not delivered
            msg = f"{status} {reason} from {_display(url)}: no final answer (2xx) came"
            raise HttpStatusError(msg, status)
        return status

    def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, str | None, str | None]:
        """One POST: (status, reason, Location, Retry-After)."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:  # whatever fails, the connection is dropped: the next send starts on a fresh one
            connection = self._open(parts.scheme.lower(), parts.hostname or "", parts.port)
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            if getattr(response, "headers_cut", False):
                msg = (
                    f"the answer ({response.status}) from {_display(url)} was cut in its headers: "
                    "not known whether the event was stored, it is sent again later"
                )
                raise IncompleteAnswer(msg)
            whole = _read_answer(response, _display(url))
        except BaseException:
            self._drop()
            raise
        if response.will_close or not whole:
            self._drop()
        return (
            response.status,
            response.reason,
            response.getheader("Location"),
            response.getheader("Retry-After"),
        )

    def _open(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and self._origin == (scheme, host, port) and connection.sock is not None:
            # an idle kept-alive connection the server has closed reads as ready (EOF): do not reuse it.
            # poll, not select: select cannot watch a descriptor >= 1024 (a process with many files open)
            poller = select.poll()
            poller.register(connection.sock, select.POLLIN)
            if not poller.poll(0):
                return connection
        self._drop()
        if scheme == "https":
            if self._context is None:
                self._context = _ssl_context(self.config.verify)
            connection = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._context)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        connection._create_connection = _create_connection  # type: ignore[attr-defined]  # the deadline
        connection.response_class = _Response  # a header block cut by the end of the connection is an error
        connection.debuglevel = 0  # never print requests (and their Authorization header)
        self._connection, self._origin = connection, (scheme, host, port)
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
        return True


def bound_requests_transport(transport: Any) -> bool:
    """Make each request of openlineage-python's ``HttpTransport`` end by its ``timeout`` in total.

    Its ``requests`` session gets an adapter (same retry settings) whose connections look the host up and
    connect within the deadline (:func:`_create_connection`) and use the deadline sockets, and which reads
    the whole answer before the deadline is over. The adapter also raises
    (the event is kept and sent again) on an answer cut in its header block, and on a redirect other than
    a 307/308 to the same scheme, host and port: ``requests`` would follow one to another server with the
    custom headers (it strips only ``Authorization``), turn a 301/302/303 into a GET without the event
    (which then reads as delivered), and openlineage-python counts a 3xx it does not follow as delivered.
    Through an HTTP(S) proxy the connections are the same (:meth:`proxy_manager_for`), and the token
    endpoint of ``jwt``/``oauth2`` auth is asked through the adapter too (:func:`_bound_token_requests`).
    True when it was installed; False for a transport that brings its own session or adapter (it is left
    as it is).
    """
    config = getattr(transport, "config", None)
    if config is None or config.session is not None or config.adapter is not None:
        return False
    from urllib3.util import Retry

    adapter = _requests_deadline_adapter()(
        timeout=float(transport.timeout), max_retries=Retry(**config.retry)
    )
    transport.session.mount(transport.url, adapter)  # replaces the adapter openlineage-python mounted there
    transport.session.max_redirects = _MAX_REDIRECTS  # same-origin 307/308 only (see the adapter's send)
    _bound_token_requests(config.auth, float(transport.timeout))
    transport.emit = functools.partial(_emit_within, transport.emit, float(transport.timeout))
    return True


def _emit_within(emit: Any, seconds: float, event: Any) -> Any:
    """``emit(event)`` with one deadline, ``seconds`` from now, for every request it makes: the token request
    (``jwt``/``oauth2``), the event's, and the redirects ``requests`` follows (each would otherwise get a
    ``timeout`` of its own, and an answer coming later than ``timeout`` may come after the spooled copy of
    the event is unlocked, which is then sent twice)."""
    outer = getattr(_request, "outer", None)
    until = time.monotonic() + seconds
    _request.outer = until if outer is None else min(until, outer)
    try:
        return emit(event)
    finally:
        _request.outer = outer


#: what :func:`_fetch_token` uses of openlineage-python's token-endpoint providers (``jwt``, ``oauth2``)
_TOKEN_PROVIDER_PARTS = (
    "token_endpoint",
    "token_fields",
    "_get_token_request_data",
    "_get_token_request_authorization",
    "_extract_token_from_response",
    "_extract_expires_in",
    "_extract_expiry_from_jwt",
    "_get_current_time",
    "_fetch_token",
)


def _bound_token_requests(provider: Any, timeout: float) -> bool:
    """Ask the token endpoint of ``jwt`` / ``oauth2`` auth as the events are sent: within ``timeout`` in
    total, at most ``_MAX_ANSWER_BYTES`` of its answer read, none of it decompressed past ``_READ_CHUNK``.

    openlineage-python asks it with ``requests.post(..., timeout=10)`` and reads the answer whole with
    ``response.json()``: an endpoint that trickles its answer holds the send worker for as long as it
    trickles, and a huge (or gzip-bomb) answer is held in memory whole, decompressed. True when the
    provider's token requests now go through a session with the deadline adapter; False for other
    providers (none, ``api_key``, a custom class: left as they are).
    """
    if not all(hasattr(provider, part) for part in _TOKEN_PROVIDER_PARTS):
        return False
    import requests

    session = requests.Session()  # proxies and CA bundles from the environment, as requests.post reads them
    adapter = _requests_deadline_adapter()(timeout=timeout)  # no retries, as requests.post
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = _MAX_REDIRECTS
    provider._fetch_token = functools.partial(_fetch_token, provider, session, timeout)
    return True


def _fetch_token(provider: Any, session: Any, timeout: float) -> None:
    """Fetch and cache the provider's token (what its own ``_fetch_token`` does, through ``session``).

    Called by the provider's ``get_bearer`` under its lock. Raises RuntimeError (the event is then not
    sent, and kept) when the endpoint fails, answers no JSON object or no token.
    """
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    authorization = provider._get_token_request_authorization()
    if authorization:
        headers["Authorization"] = authorization
    where = _display(str(provider.token_endpoint))
    try:
        response = session.post(
            provider.token_endpoint, data=provider._get_token_request_data(), headers=headers, timeout=timeout
        )
        response.raise_for_status()
        answer = response.json()  # at most _READ_CHUNK bytes were kept of it (see the adapter)
        token = provider._extract_token_from_response(answer) if isinstance(answer, dict) else None
        if not token:
            msg = f"no token in the answer (fields tried: {', '.join(map(str, provider.token_fields))})"
            raise ValueError(msg)
        expires_in = provider._extract_expires_in(answer)
    except Exception as exc:
        msg = f"cannot fetch the token from {where}: {type(exc).__name__}: {exc}"
        raise RuntimeError(msg) from exc
    expiry = (
        provider._get_current_time() + expires_in if expires_in else provider._extract_expiry_from_jwt(token)
    )
    provider._cached_token, provider._token_expiry = token, expiry
    if not expiry and not getattr(provider, "_lineage_expiry_warned", False):
        provider._lineage_expiry_warned = True
        log.warning(
            "lineage transport: the token endpoint %s names no expiry, so a token is fetched for every "
            "event; set the auth's expiresInField to the field that holds it",
            where,
        )


@functools.cache
def _requests_deadline_adapter() -> Any:
    """The ``requests`` adapter class of :func:`bound_requests_transport` (imports requests on first use)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
    from urllib3.poolmanager import ProxyManager

    def new_conn(connection: Any) -> socket.socket:
        """urllib3's ``_new_conn`` (same errors), with the name lookup and the connection attempts within
        the request's deadline (:func:`_create_connection`), as a :class:`_DeadlineSocket`."""
        timeout = connection.timeout if isinstance(connection.timeout, (int, float)) else None
        try:
            return _create_connection(
                (connection._dns_host, connection.port),
                timeout,
                connection.source_address,
                socket_options=connection.socket_options,
            )
        except socket.gaierror as exc:
            raise NameResolutionError(connection.host, connection, exc) from exc
        except TimeoutError as exc:  # NameLookupTimeout and RequestDeadlineExceeded too
            msg = f"Connection to {connection.host} timed out. ({exc})"
            raise ConnectTimeoutError(connection, msg) from exc
        except OSError as exc:
            raise NewConnectionError(connection, f"Failed to establish a new connection: {exc}") from exc

    class DeadlineHTTPConnection(HTTPConnection):
        response_class = _Response

        def _new_conn(self) -> socket.socket:
            return new_conn(self)

    class DeadlineHTTPSConnection(HTTPSConnection):
        response_class = _Response

        def _new_conn(self) -> socket.socket:
            return new_conn(self)

        def connect(self) -> None:
            super().connect()
            if type(self.sock) is ssl.SSLSocket:  # not through a proxy's tunnel (urllib3's SSLTransport)
                self.sock.__class__ = _DeadlineSSLSocket

        def _connect_tls_proxy(self, hostname: str, sock: socket.socket) -> ssl.SSLSocket:
            """TLS to an ``https://`` proxy: its handshake ends by the deadline (the socket's timeout, armed
            to what is left of it), and so does every later read and write of the tunnel inside it."""
            tls: ssl.SSLSocket = super()._connect_tls_proxy(hostname, sock)
            if type(tls) is ssl.SSLSocket:
                tls.__class__ = _DeadlineSSLSocket
            return tls

    class DeadlineHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = DeadlineHTTPConnection

    class DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = DeadlineHTTPSConnection

    deadline_pools = {"http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}

    class DeadlineAdapter(HTTPAdapter):
        def __init__(self, *, timeout: float, **kwargs: Any) -> None:
            self.deadline_seconds = timeout
            super().__init__(**kwargs)

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(deadline_pools)

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            """The connections through an HTTP(S) proxy are deadline connections too: connecting to the
            proxy, its ``CONNECT`` exchange (a proxy that never answers it, or trickles its answer, cannot
            hold the request) and the request inside the tunnel, or the request it forwards. A SOCKS proxy
            keeps urllib3's own connections (per-call timeouts)."""
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if isinstance(manager, ProxyManager):
                manager.pool_classes_by_scheme = dict(deadline_pools)
            return manager

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            until = time.monotonic() + self.deadline_seconds
            outer: float | None = getattr(_request, "outer", None)  # the whole emit's (_emit_within)
            _request.until = until if outer is None else min(until, outer)
            _request.timeout = self.deadline_seconds
            try:
                response = super().send(request, *args, **kwargs)
                _check_requests_answer(request, response)
                _read_requests_answer(response)  # within the deadline (requests would read it later)
                return response
            finally:
                _request.until = None

    return DeadlineAdapter


def _check_requests_answer(request: Any, response: Any) -> None:
    """Raise (``requests`` errors, so openlineage-python's transport fails and the event is kept) on an
    answer cut in its header block, and on a redirect other than a 307/308 to the same origin."""
    import requests

    original = getattr(getattr(response, "raw", None), "_original_response", None)
    url = str(request.url)
    if getattr(original, "headers_cut", False):
        response.close()
        msg = (
            f"the answer ({response.status_code}) from {_display(url)} was cut in its headers: not known "
            "whether the event was stored, it is sent again later"
        )
        raise requests.ConnectionError(msg, request=request)
    status = int(response.status_code)
    if status < 200:  # requests would count it as delivered (raise_for_status passes it)
        response.close()
        msg = f"{status} {response.reason} from {_display(url)}: no final answer (2xx) came"
        raise requests.HTTPError(msg, response=response, request=request)
    if not 300 <= status < 400:
        return
    location = response.headers.get("Location")
    target = urljoin(url, location) if location else None
    if status in _REDIRECTS_KEEPING_POST and target is not None and _origin(target) == _origin(url):
        return  # requests follows it with the same POST (at most _MAX_REDIRECTS times)
    response.close()
    where = f": redirect to {_display(target)} not followed" if target else ""
    msg = (
        f"{status} {response.reason} from {_display(url)}{where} (only a 307/308 to the same scheme, host "
        "and port is: the request carries the transport's credentials); set the transport url "
        "([lineage_provider] transport) to the address that accepts events"
    )
    raise requests.HTTPError(msg, response=response, request=request)


def _read_requests_answer(response: Any) -> None:
    """Read the body of a ``requests`` answer as :func:`_read_answer` does: in pieces, at most
    ``_MAX_ANSWER_BYTES`` as sent (then the connection is closed, not reused), and not decompressed (a few
    KB of ``Content-Encoding: gzip, gzip`` can stand for gigabytes; how much urllib3 decompresses per read
    depends on its version). Only its first ``_READ_CHUNK`` bytes are kept, as ``response.content``
    (decoded, at most ``_READ_CHUNK`` bytes of it; openlineage-python does not read it). A body cut short
    raises the ``requests`` errors ``response.content`` would."""
    import requests
    from urllib3.exceptions import ProtocolError, ReadTimeoutError, SSLError

    kept = bytearray()
    received = 0
    try:
        for chunk in response.raw.stream(_READ_CHUNK, decode_content=False):
            received += len(chunk)
            if len(kept) < _READ_CHUNK:
                kept += chunk[: _READ_CHUNK - len(kept)]
            if received > _MAX_ANSWER_BYTES:
                response.close()
                break
    except ProtocolError as exc:  # cut short (urllib3 checks Content-Length and chunks)
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except ReadTimeoutError as exc:
        raise requests.ConnectionError(exc) from exc
    except SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    response._content = _decoded_start(bytes(kept), response.headers.get("Content-Encoding"))
    response._content_consumed = True


def _decoded_start(start: bytes, encoding: str | None) -> bytes:
    """The first bytes of an answer's body, decoded as its ``Content-Encoding`` says, into at most
    ``_READ_CHUNK`` bytes: gzip or deflate (zlib) once; empty for other or stacked encodings."""
    coding = (encoding or "").strip().lower()
    if coding in ("", "identity"):
        return start
    if coding not in ("gzip", "x-gzip", "deflate"):
        return b""
    try:
        return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(start, _READ_CHUNK)  # gzip or zlib header
    except zlib.error:
        return b""


class RotatingFileWriter:
    """Appends one JSON line per event; past ``max_bytes`` the file is rotated once to ``<file>.1``.

    Safe for many processes writing the same file: each append (and rotation) holds an ``flock`` on
    ``<file>.lock``, so lines never interleave and a rotation never loses a line. ``max_bytes=None``: the
    file is never rotated (a configured ``file`` transport).
    """

    kind = "lineage_provider_rotating_file"
    name: str | None = None
    priority = 0

    def __init__(self, log_file_path: str, max_bytes: int | None = 64 * 1024 * 1024) -> None:
        self.path = log_file_path
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"<RotatingFileWriter {self.path}>"

    def emit(self, event: Any) -> None:
        line = (_wire_json(event) + "\n").encode("utf-8")
        lock_fd = os.open(self.path + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                size = os.path.getsize(self.path)
            except FileNotFoundError:
                size = 0
            if size and self.max_bytes is not None and size + len(line) > self.max_bytes:
                os.replace(self.path, self.path + ".1")
            try:  # read too: to see whether the file ends with a whole line
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_APPEND, 0o644)
            except PermissionError:
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
            try:
                _append_line(fd, line)
            finally:
                os.close(fd)
        finally:
            os.close(lock_fd)  # closing the descriptor releases the lock

    def close(self, timeout: float = -1) -> bool:
        return True


def _append_line(fd: int, line: bytes) -> None:
    """Append one whole line (the caller holds the file's lock), or nothing and raise.

    A write can be short (the disk is full): the rest is written, and when that fails the part written
    is cut off again, so the event is reported undelivered (and spooled) rather than left torn with the
    next line glued to it. A file that does not end with a newline (a writer killed mid-line) gets one
    first, so that torn line cannot take this one with it.
    """
    start = os.fstat(fd).st_size
    if start:
        try:
            torn = os.pread(fd, 1, start - 1) != b"\n"
        except OSError:  # opened write-only, or not a regular file
            torn = False
        if torn:
            line = b"\n" + line
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise


__all__ = [
    "DirectHttpConfig",
    "DirectHttpTransport",
    "HttpStatusError",
    "RotatingFileWriter",
    "bound_requests_transport",
    "direct_file_path",
    "direct_http_config",
]

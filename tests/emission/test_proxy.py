"""HTTP transports through a proxy from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``): which
client sends, through which proxy, and a proxy that misbehaves on purpose (accepts and never answers the
``CONNECT``, trickles its answer a byte at a time, stalls the TLS handshake). Real proxies on 127.0.0.1 (raw
sockets), real receivers behind them; nothing is mocked."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from openlineage.client.transport.http import HttpTransport

from airflow_lineage_provider.emission.direct import DirectHttpTransport
from airflow_lineage_provider.emission.transport import TransportSpec, build

from .conftest import http_config
from .test_direct import certificate  # noqa: F401  (a fixture)
from .test_hostile_backends import LocalServer, _event

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
#: what a hostile proxy does after reading a request: answer nothing, or a byte every TRICKLE seconds
TRICKLE = 0.1


@dataclass
class Proxy(LocalServer):
    """An HTTP proxy on 127.0.0.1. ``mode``: ``relay`` (a working proxy: a ``CONNECT`` opens a tunnel to its
    target, any other request is passed on to the host its absolute URL names), ``stall`` (reads the request,
    never answers), ``trickle`` (answers a byte every ``TRICKLE`` seconds, never ending the status line),
    ``tls-stall`` (TLS proxy: accepts and never sends its part of the handshake). ``tls``: (cert, key) of a
    proxy spoken to over TLS (an ``https://`` proxy URL)."""

    mode: str
    tls: tuple[str, str] | None = None
    request_lines: list[str] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._context: ssl.SSLContext | None = None
        if self.tls:
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(*self.tls)
        self._listen()
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        peer: socket.socket | None = None
        try:
            conn.settimeout(30)
            if self.mode == "tls-stall":
                self._stopped.wait(30)
                return
            if self._context is not None:
                conn = self._context.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin1")
            with self._lock:  # without the HTTP version (urllib3 sends its CONNECT as HTTP/1.0)
                self.request_lines.append(line.rpartition(" ")[0])
            if self.mode == "stall":
                self._stopped.wait(30)
            elif self.mode == "trickle":
                for byte in b"HTTP/1.1 200 Connection established, in no hurry at all" * 10:
                    if self._stopped.wait(TRICKLE):
                        return
                    conn.sendall(bytes([byte]))
            else:
                peer = self._relay_target(conn, line, data)
        except OSError:
            return
        finally:
            conn.close()
            if peer is not None:
                peer.close()

    def _relay_target(self, conn: socket.socket, line: str, data: bytes) -> socket.socket:
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            peer = socket.create_connection((host, int(port)), timeout=30)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:  # a forwarded request: its absolute URL names the server
            authority = target.split("/", 3)[2]
            host, _, port = authority.rpartition(":")
            peer = socket.create_connection((host, int(port)), timeout=30)
            peer.sendall(data)
        _relay(conn, peer)
        return peer


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Pass bytes both ways until both sides have ended, on this one thread: an ``SSLSocket`` (a proxy spoken
    to over TLS) must not be read on one thread while another writes to it (OpenSSL's state is not shared
    safely between the two: under load the client saw "EOF occurred in violation of protocol")."""
    sinks = {a: b, b: a}
    while sinks:
        # bytes an SSLSocket has decrypted already are invisible to select
        ready = [s for s in sinks if isinstance(s, ssl.SSLSocket) and s.pending()]
        if not ready:
            ready, _, _ = select.select(list(sinks), [], [], 30)
            if not ready:
                return
        for source in ready:
            sink = sinks.get(source)
            if sink is None:
                continue
            try:
                chunk = source.recv(65536)
                if chunk:
                    sink.sendall(chunk)
                    continue
            except OSError:
                return
            del sinks[source]  # this side ended: the other one hears the end, and may still answer
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy() -> Iterator[Callable[..., Proxy]]:
    started: list[Proxy] = []

    def start(mode: str, **kwargs: Any) -> Proxy:
        started.append(Proxy(mode, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def _clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent-netrc")


def _build(config: dict[str, Any], send_timeout: float = 1.0) -> Any:
    return build(TransportSpec(config=config, source="test"), send_timeout=send_timeout)


# --- which client, through which proxy ------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_an_https_proxy_from_the_environment_carries_the_events(
    receiver,
    proxy,
    certificate,  # noqa: F811
    monkeypatch,
    variable,
):
    """``HTTPS_PROXY`` (either case, or ``ALL_PROXY``) for an ``https`` URL: openlineage-python's client
    (requests) sends, through a ``CONNECT`` tunnel of that proxy, and the event arrives."""
    rec = receiver(tls=certificate)
    relay = proxy("relay")
    monkeypatch.setenv(variable, relay.url)
    transport = _build(http_config(rec, timeout=2.0, sslContext={"caCertPath": certificate[0]}))
    assert type(transport) is HttpTransport
    transport.emit(_event(1))
    assert relay.request_lines == [f"CONNECT 127.0.0.1:{rec.port}"]
    assert [e["job"]["name"] for e in rec.received()] == ["hostile.1"]


def test_a_proxy_spoken_to_over_tls_carries_the_events(receiver, proxy, certificate, monkeypatch):  # noqa: F811
    """An ``https://`` proxy URL: TLS to the proxy, the tunnel's TLS inside it (the deadline sockets on both
    layers), the event arrives."""
    rec = receiver(tls=certificate)
    relay = proxy("relay", tls=certificate)
    monkeypatch.setenv("HTTPS_PROXY", relay.url)
    transport = _build(http_config(rec, timeout=2.0, sslContext={"caCertPath": certificate[0]}))
    for number in (6, 7):
        transport.emit(_event(number))
    assert relay.request_lines == [f"CONNECT 127.0.0.1:{rec.port}"]  # one tunnel, kept alive
    assert [e["job"]["name"] for e in rec.received()] == ["hostile.6", "hostile.7"]


def test_an_http_proxy_forwards_plain_http_events(receiver, proxy, monkeypatch):
    rec = receiver()
    relay = proxy("relay")
    monkeypatch.setenv("HTTP_PROXY", relay.url)
    transport = _build(http_config(rec, timeout=2.0))
    assert type(transport) is HttpTransport
    transport.emit(_event(2))
    assert relay.request_lines == [f"POST {rec.url}/api/v1/lineage"]
    assert [e["job"]["name"] for e in rec.received()] == ["hostile.2"]


@pytest.mark.parametrize(
    ("no_proxy", "client"),
    [
        ("127.0.0.1", DirectHttpTransport),
        ("localhost,127.0.0.1", DirectHttpTransport),
        ("*", DirectHttpTransport),
        ("127.0.0.0/8", HttpTransport),  # urllib knows no CIDR: requests decides, and bypasses the proxy
    ],
)
def test_no_proxy_sends_directly(receiver, proxy, certificate, monkeypatch, no_proxy, client):  # noqa: F811
    """A host ``NO_PROXY`` names never sees the proxy, whichever client sends (``requests`` reads CIDR
    ranges in ``NO_PROXY``, ``urllib`` does not: such a URL is left to ``requests``, which goes direct)."""
    rec = receiver(tls=certificate)
    relay = proxy("relay")
    monkeypatch.setenv("HTTPS_PROXY", relay.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    transport = _build(http_config(rec, timeout=2.0, sslContext={"caCertPath": certificate[0]}))
    assert type(transport) is client
    transport.emit(_event(3))
    assert relay.connections == 0
    assert len(rec.received()) == 1


def test_a_proxy_for_the_other_scheme_is_not_used(receiver, proxy, monkeypatch):
    rec = receiver()
    relay = proxy("relay")
    monkeypatch.setenv("HTTPS_PROXY", relay.url)  # the URL is http: HTTP_PROXY would apply, not this
    transport = _build(http_config(rec, timeout=2.0))
    assert type(transport) is DirectHttpTransport
    transport.emit(_event(4))
    assert relay.connections == 0 and len(rec.received()) == 1


# --- a proxy that misbehaves: the request still ends by its timeout -------------------------------------

HOSTILE = ["stall", "trickle"]


def _emit_timed(transport: Any) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        transport.emit(_event())
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


@pytest.mark.parametrize("mode", HOSTILE)
def test_a_hostile_proxy_cannot_hold_a_connect_beyond_the_timeout(proxy, monkeypatch, mode):
    """The proxy accepts the connection and then never answers the ``CONNECT``, or answers a byte every
    0.1 s without end (no single read ever waits the 1 s timeout): the request ends by its 1 s timeout,
    the event is not counted as delivered."""
    hostile = proxy(mode)
    monkeypatch.setenv("HTTPS_PROXY", hostile.url)
    transport = _build({"type": "http", "url": "https://127.0.0.1:9", "timeout": 1.0})
    assert type(transport) is HttpTransport
    took, error = _emit_timed(transport)
    assert error is not None, "a CONNECT without an answer counted as delivered"
    assert hostile.request_lines == ["CONNECT 127.0.0.1:9"]
    assert took < 4, f"the request took {took:.1f}s through a proxy that {mode}s (timeout 1 s)"
    print(f"\nCONNECT to a proxy that {mode}s: {took:.2f} s ({type(error).__name__})")


@pytest.mark.parametrize("mode", HOSTILE)
def test_a_hostile_forwarding_proxy_cannot_hold_a_request_beyond_the_timeout(proxy, monkeypatch, mode):
    """The same for a plain ``http`` URL, which the proxy forwards (no tunnel): its answer is bounded too."""
    hostile = proxy(mode)
    monkeypatch.setenv("HTTP_PROXY", hostile.url)
    transport = _build({"type": "http", "url": "http://127.0.0.1:9", "timeout": 1.0})
    took, error = _emit_timed(transport)
    assert error is not None
    assert hostile.request_lines == ["POST http://127.0.0.1:9/api/v1/lineage"]
    assert took < 4, f"the request took {took:.1f}s through a proxy that {mode}s (timeout 1 s)"


@pytest.mark.parametrize("mode", ["tls-stall", "stall", "trickle"])
def test_a_hostile_tls_proxy_cannot_hold_a_request_beyond_the_timeout(
    proxy,
    certificate,  # noqa: F811
    monkeypatch,
    mode,
):
    """An ``https://`` proxy (TLS to the proxy, then a tunnel inside it): one that never sends its part of the
    handshake, and one that completes it and then stalls or trickles its ``CONNECT`` answer."""
    hostile = proxy(mode, tls=certificate)
    monkeypatch.setenv("HTTPS_PROXY", hostile.url)
    config = {"type": "http", "url": "https://127.0.0.1:9", "timeout": 1.0}
    transport = _build({**config, "sslContext": {"caCertPath": certificate[0]}})
    took, error = _emit_timed(transport)
    assert error is not None
    assert took < 4, f"the request took {took:.1f}s through a TLS proxy that {mode}s (timeout 1 s)"
    if mode != "tls-stall":
        assert hostile.request_lines == ["CONNECT 127.0.0.1:9"]


def test_after_a_hostile_proxy_the_next_event_goes_through(receiver, proxy, certificate, monkeypatch):  # noqa: F811
    """The connection the stalled ``CONNECT`` left is not reused: once the proxy works, events arrive."""
    rec = receiver(tls=certificate)
    hostile = proxy("trickle")
    monkeypatch.setenv("HTTPS_PROXY", hostile.url)
    transport = _build(http_config(rec, timeout=1.0, sslContext={"caCertPath": certificate[0]}))
    took, error = _emit_timed(transport)
    assert error is not None and took < 4
    hostile.mode = "relay"
    transport.emit(_event(5))
    assert [e["job"]["name"] for e in rec.received()] == ["hostile.5"]

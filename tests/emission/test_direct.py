"""Transports run without openlineage-python: parity with its HttpTransport; real receivers on 127.0.0.1."""

from __future__ import annotations

import gc
import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.transport import get_default_factory
from openlineage.client.transport.http import HttpTransport

from airflow_lineage_provider.emission.direct import (
    DirectHttpTransport,
    HttpStatusError,
    RotatingFileWriter,
    direct_http_config,
)
from airflow_lineage_provider.emission.redaction import redact_event
from airflow_lineage_provider.emission.transport import TransportSpec, build, default_config

from .conftest import http_config
from .factory import run_pairs


def _wire(count: int) -> list[dict[str, Any]]:
    from openlineage.client.serde import Serde

    return [redact_event(Serde.to_dict(event)) for event in run_pairs(count)]


def _build(config: dict[str, Any], send_timeout: float = 2.0) -> Any:
    return build(TransportSpec(config=config, source="test"), send_timeout=send_timeout)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent-netrc")


def test_plain_http_uses_one_kept_alive_connection(receiver) -> None:
    rec = receiver()
    transport = _build(http_config(rec))
    assert type(transport) is DirectHttpTransport
    events = _wire(10)
    for event in events:
        assert transport.emit(event) == 200
    assert rec.received() == events  # every event, in order, byte-for-byte the same JSON
    assert rec.connections_opened == 1
    transport.close()


def test_headers_auth_and_gzip_as_openlineage_python_sends_them(receiver) -> None:
    rec = receiver()
    config = http_config(
        rec,
        auth={"type": "api_key", "apiKey": "k3y-for-test"},
        custom_headers={"X-Team": "data-platform"},
        compression="gzip",
    )
    transport = _build(config)
    assert type(transport) is DirectHttpTransport
    [event] = _wire(1)[:1]
    transport.emit(event)
    assert rec.received() == [event]
    headers = rec.headers[-1]
    assert headers["Authorization"] == "Bearer k3y-for-test"
    assert headers["X-Team"] == "data-platform"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/json"


def test_error_status_raises_and_the_connection_stays_usable(receiver) -> None:
    rec = receiver("503")
    transport = _build(http_config(rec))
    first, second = _wire(1)
    with pytest.raises(
        HttpStatusError, match=r"503 Service Unavailable from http://127\.0\.0\.1:\d+/api/v1/"
    ):
        transport.emit(first)
    rec.set_mode("healthy")
    transport.emit(second)
    assert rec.received() == [second]


def test_receiver_restart_reconnects_and_refused_connection_raises(receiver) -> None:
    rec = receiver()
    transport = _build(http_config(rec))
    events = _wire(2)
    transport.emit(events[0])
    rec.stop()  # the kept-alive connection is closed by the server
    with pytest.raises(ConnectionRefusedError):
        transport.emit(events[1])
    again = receiver(port=rec.port)
    for event in events[1:]:
        transport.emit(event)
    assert again.received() == events[1:]


def test_hung_receiver_times_out_within_the_configured_timeout(receiver) -> None:
    rec = receiver("hang", hang_max=10)
    transport = _build(http_config(rec, timeout=0.3))
    with pytest.raises((TimeoutError, socket.timeout)):
        transport.emit(_wire(1)[0])


def test_proxy_from_environment_goes_through_requests(receiver, monkeypatch) -> None:
    rec = receiver()
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "")
    assert type(_build(http_config(rec))) is HttpTransport
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert type(_build(http_config(rec))) is DirectHttpTransport


def test_netrc_credentials_go_through_requests(receiver, tmp_path, monkeypatch) -> None:
    rec = receiver()
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password pw-in-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    transport = _build(http_config(rec))
    assert type(transport) is HttpTransport
    [event] = _wire(1)[:1]
    transport.emit(event)  # requests adds the netrc credentials, as before
    assert rec.headers[-1]["Authorization"].startswith("Basic ")


class Redirector:
    """A server on ``host`` answering a POST to /api/v1/lineage with 307 to ``location``; other paths: 200.

    Every request is recorded as (path, headers), so a test sees exactly what reached this server.
    """

    def __init__(self, host: str = "127.0.0.1", tls: tuple[str, str] | None = None) -> None:
        self.location = ""
        self.requests: list[tuple[str, dict[str, str]]] = []
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                redirector.requests.append((self.path, dict(self.headers.items())))
                redirecting = self.path.startswith("/api/v1/lineage")
                self.send_response(307 if redirecting else 200)
                if redirecting:
                    self.send_header("Location", redirector.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((host, 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://{host}:{self.server.server_address[1]}"
        serve = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        serve.daemon = True
        serve.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redirector() -> Iterator[Any]:
    started: list[Redirector] = []

    def start(host: str = "127.0.0.1", tls: tuple[str, str] | None = None) -> Redirector:
        started.append(Redirector(host, tls))
        return started[-1]

    yield start
    for server in started:
        server.stop()


KEY = "k3y-never-elsewhere-0815"


def _with_key(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "url": url,
        "endpoint": "api/v1/lineage",
        "auth": {"type": "api_key", "apiKey": KEY},
        "custom_headers": {"X-Team": "data-platform"},
        **extra,
    }


def test_redirect_to_the_same_address_is_followed_with_the_headers(redirector) -> None:
    server = redirector()
    server.location = "/collect"  # 307: the same POST, same scheme, host and port
    transport = _build(_with_key(server.url))
    assert type(transport) is DirectHttpTransport
    assert transport.emit(_wire(1)[0]) == 200
    assert [path for path, _ in server.requests] == ["/api/v1/lineage", "/collect"]
    assert server.requests[1][1]["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("other", ["host", "port"])
def test_redirect_to_another_server_is_refused_and_the_key_never_reaches_it(redirector, other) -> None:
    server = redirector()
    elsewhere = redirector("127.0.0.2" if other == "host" else "127.0.0.1")
    server.location = f"{elsewhere.url}/collect?code=QUERY-SECRET-77"
    transport = _build(_with_key(server.url))
    with pytest.raises(HttpStatusError) as raised:
        transport.emit(_wire(1)[0])
    assert elsewhere.requests == []  # nothing, so neither the api key nor the custom headers
    message = str(raised.value)
    redirect = f"307 Temporary Redirect from {server.url}/api/v1/lineage: redirect to {elsewhere.url}/collect"
    assert redirect in message
    assert "[lineage_provider] transport" in message and "final address" in message
    assert "QUERY-SECRET-77" not in message


def test_redirect_from_https_to_http_is_refused(redirector, certificate) -> None:
    server = redirector(tls=certificate)
    server.location = server.url.replace("https://", "http://") + "/collect"  # same host and port
    transport = _build(_with_key(server.url, sslContext={"caCertPath": certificate[0]}))
    assert type(transport) is DirectHttpTransport
    with pytest.raises(HttpStatusError, match="not followed"):
        transport.emit(_wire(1)[0])
    assert [path for path, _ in server.requests] == ["/api/v1/lineage"]


def test_refused_redirect_keeps_the_event_in_the_spool(redirector, make_emitter, tmp_path) -> None:
    from airflow_lineage_provider.emission.spool import Spool

    server, elsewhere = redirector(), redirector("127.0.0.2")
    server.location = f"{elsewhere.url}/collect"
    em = make_emitter(_with_key(server.url), spool_dir=tmp_path / "spool")
    em.emit(run_pairs(1)[0])
    em.flush(5)
    assert elsewhere.requests == [] and len(Spool(str(tmp_path / "spool"), 1 << 20).names()) == 1


def test_status_error_message_leaves_out_the_query_string(receiver) -> None:
    rec = receiver("503")
    transport = _build(http_config(rec, endpoint="api/v1/lineage?code=QUERY-SECRET-78"))
    with pytest.raises(HttpStatusError) as raised:
        transport.emit(_wire(1)[0])
    assert str(raised.value) == f"503 Service Unavailable from {rec.url}/api/v1/lineage"
    assert rec.requests == 1


def test_connection_reused_when_its_descriptor_is_above_1024(receiver) -> None:
    """``select.select`` cannot watch a descriptor >= 1024: a busy process must still reuse its connection."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below 1300")
    rec = receiver()
    transport = _build(http_config(rec))
    held: list[int] = []
    if soft != resource.RLIM_INFINITY and soft < 1300:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1300, hard))
    gc.collect()  # a socket of an earlier test closed by the collector later would free a low descriptor
    gc.disable()
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        # fill any descriptor closed meanwhile (another thread): the lowest free one comes back first, so
        # one above all those held means none is free below
        while (fd := os.open(os.devnull, os.O_RDONLY)) < max(held):
            held.append(fd)
        held.append(fd)
        events = _wire(2)
        for event in events:
            assert transport.emit(event) == 200
        assert transport._connection is not None and transport._connection.sock.fileno() >= 1024
        assert rec.received() == events and rec.connections_opened == 1
    finally:
        gc.enable()
        transport.close()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize(
    ("userinfo", "extra"),
    [
        ("alice:s3cret-pw", {}),
        ("alice:p%40ss%2Fw%23rd", {}),  # percent-encoded '@', '/', '#': sent decoded
        ("tok3n-only", {}),  # a user alone: requests sends no credentials
        ("alice:", {}),
        (":pw-only", {}),
        ("alice:p%C3%A4ss", {}),  # latin-1, as requests encodes Basic credentials
        ("alice:s3cret-pw", {"auth": {"type": "api_key", "apiKey": "k-overridden"}}),  # the URL's wins
        ("alice:s3cret-pw", {"custom_headers": {"Authorization": "Token t-overridden"}}),
    ],
)
def test_credentials_in_the_url_sent_as_openlineage_python_sends_them(receiver, userinfo, extra) -> None:
    """``user:password@`` in the url: the same ``Authorization`` header as requests (HttpTransport) sends."""
    rec = receiver()
    config = http_config(rec, **extra)
    config["url"] = rec.url.replace("://", f"://{userinfo}@")
    ours = _build(config)
    theirs = get_default_factory().create(json.loads(json.dumps(config)))
    assert type(ours) is DirectHttpTransport and isinstance(theirs, HttpTransport)
    [event] = _wire(1)[:1]
    theirs.emit(event)
    ours.emit(event)
    assert rec.received() == [event, event]
    assert rec.headers[1].get("Authorization") == rec.headers[0].get("Authorization")
    if userinfo != "tok3n-only":
        assert rec.headers[1]["Authorization"].startswith("Basic ")


def test_reprs_show_no_secret() -> None:
    from airflow_lineage_provider.emission.direct import DirectHttpConfig

    config = direct_http_config(
        {
            "type": "http",
            "url": "http://127.0.0.1:9/?api_key=QUERY-SECRET-79",
            "endpoint": "api/v1/lineage?code=QUERY-SECRET-80",
            "auth": {"type": "api_key", "apiKey": "k-repr-secret-81"},
        }
    )
    assert config is not None
    with_password = DirectHttpConfig(url="http://alice:pw-repr-82@127.0.0.1:9")
    shown = " ".join(
        repr(x)
        for x in (config, DirectHttpTransport(config), with_password, DirectHttpTransport(with_password))
    )
    for secret in ("QUERY-SECRET-79", "QUERY-SECRET-80", "k-repr-secret-81", "pw-repr-82"):
        assert secret not in shown
    assert "http://alice:***@127.0.0.1:9" in shown and "api_key=***" in shown


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI)."""
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_https_verifies_against_the_configured_ca(receiver, certificate) -> None:
    rec = receiver(tls=certificate)
    events = _wire(2)
    trusted = _build(http_config(rec, sslContext={"caCertPath": certificate[0]}))
    assert type(trusted) is DirectHttpTransport
    for event in events:
        trusted.emit(event)
    assert rec.received() == events
    assert rec.connections_opened == 1
    with pytest.raises(ssl.SSLCertVerificationError):  # default trust store (certifi): self-signed refused
        _build(http_config(rec)).emit(events[0])
    _build(http_config(rec, verify=False)).emit(events[0])
    assert len(rec.received()) == len(events) + 1


PARITY_CONFIGS = [
    {},
    {"endpoint": "custom/path?x=1", "timeout": 3},
    {"auth": {"type": "api_key", "apiKey": "k-parity-1"}},
    {"auth": {"type": "api_key", "api_key": "k-2"}, "custom_headers": {"X-A": "1", "Content-Type": "x"}},
    {"compression": "gzip", "verify": False},
    {"sslContext": {"caCertPath": "/etc/ssl/certs/ca-certificates.crt"}},
]


@pytest.mark.parametrize("extra", PARITY_CONFIGS, ids=range(len(PARITY_CONFIGS)))
def test_same_request_as_openlineage_python(receiver, extra) -> None:
    """URL, headers, body and TLS verification equal openlineage-python's ``HttpTransport`` for the config."""
    import gzip

    config = http_config(receiver(), **extra)
    ours = direct_http_config(dict(config))
    theirs = get_default_factory().create(json.loads(json.dumps(config)))
    assert ours is not None and isinstance(theirs, HttpTransport)
    [event] = _wire(1)[:1]
    text = json.dumps(event, sort_keys=True)
    their_body, their_headers = theirs._prepare_request(text)
    from urllib.parse import urljoin

    assert ours.target == urljoin(theirs.url, theirs.endpoint)
    our_headers = dict(ours.headers, **({"Content-Encoding": "gzip"} if ours.gzip else {}))
    assert our_headers == their_headers
    assert ours.verify == theirs.verify
    assert ours.timeout == theirs.timeout
    body = gzip.decompress(their_body).decode() if ours.gzip else their_body
    assert body == text


@pytest.mark.parametrize(
    "extra",
    [
        {"auth": {"type": "jwt", "apiKey": "k", "tokenEndpoint": "http://127.0.0.1:1/t"}},
        {"auth": {"type": "some.module.TokenProvider"}},
        {"sslContext": {"caCertPath": "/x", "clientCertPath": "/c"}},
        {"compression": "zstd"},
        {"custom_headers": {"X-N": 5}},
    ],
)
def test_anything_else_goes_to_openlineage_python(receiver, extra) -> None:
    assert direct_http_config(http_config(receiver(), **extra)) is None


def test_embedded_default_is_the_rotating_writer_and_needs_no_openlineage(lineage_options, tmp_path) -> None:
    lineage_options()
    spec = TransportSpec(config=default_config(), source="embedded default")
    assert spec.is_default
    writer = build(spec)
    assert type(writer) is RotatingFileWriter
    events = _wire(1)
    for event in events:
        writer.emit(event)
    lines = [json.loads(line) for line in open(writer.path, encoding="utf-8")]
    assert lines[-2:] == events


def test_file_transport_in_append_mode_writes_what_openlineage_python_writes(tmp_path) -> None:
    from openlineage.client.transport.file import FileTransport

    ours_path, theirs_path = tmp_path / "ours.jsonl", tmp_path / "theirs.jsonl"
    ours = _build({"type": "file", "log_file_path": str(ours_path), "append": True})
    theirs = get_default_factory().create({"type": "file", "log_file_path": str(theirs_path), "append": True})
    assert type(ours) is RotatingFileWriter and ours.max_bytes is None and isinstance(theirs, FileTransport)
    for event in _wire(2):
        ours.emit(event)
        theirs.emit(event)
    assert ours_path.read_text() == theirs_path.read_text()
    for config in (
        {"type": "file", "log_file_path": str(tmp_path / "x"), "append": False},  # one file per event
        {"type": "file", "log_file_path": "s3://bucket/events.jsonl", "append": True},
        {"type": "file", "log_file_path": str(tmp_path / "x"), "append": True, "storage_options": {}},
    ):
        assert type(_build(config)) is not RotatingFileWriter


def test_no_openlineage_import_for_default_or_plain_http(tmp_path) -> None:
    """A fresh process builds and uses both without importing openlineage-python (its import: ~130 ms)."""
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import json, sys
        from airflow_lineage_provider.emission.direct import RotatingFileWriter, DirectHttpTransport
        from airflow_lineage_provider.emission.transport import TransportSpec, build
        writer = build(TransportSpec(config={{"type": "x", "log_file_path": {str(tmp_path / "e.jsonl")!r},
                                              "max_bytes": 1000}}, source="embedded default"))
        writer.emit({{"eventType": "START"}})
        http = build(TransportSpec(config={{"type": "http", "url": "http://127.0.0.1:9"}}, source="t"))
        assert type(writer) is RotatingFileWriter and type(http) is DirectHttpTransport
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("openlineage"))))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP_PROXY", "http_proxy"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("trickle_body", [False, True], ids=["status-line", "body"])
def test_trickled_answer_ends_at_the_timeout_for_the_whole_request(receiver, certificate, tls, trickle_body):
    """A server that sends its answer a byte every 50 ms never lets one read wait ``timeout``: the request
    as a whole still ends after ``timeout`` seconds, and the next request gets a fresh connection."""
    rec = receiver("trickle", hang_max=30, trickle_body=trickle_body, tls=certificate if tls else None)
    extra = {"sslContext": {"caCertPath": certificate[0]}} if tls else {}
    transport = _build(http_config(rec, timeout=0.5, **extra))
    assert type(transport) is DirectHttpTransport
    events = _wire(2)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"no complete answer .* within timeout=0.5s"):
        transport.emit(events[0])
    took = time.monotonic() - started
    assert 0.4 < took < 5, f"the request took {took:.1f}s; the server trickles for 30 s"
    rec.set_mode("healthy")
    transport.emit(events[1])
    assert rec.received() == [events[1]]


def test_deadline_is_per_request_not_per_connection(receiver):
    """Requests on one kept-alive connection each get the whole timeout, however long the connection lives."""
    rec = receiver("slow", slow_seconds=0.4)
    transport = _build(http_config(rec, timeout=1.0))
    events = _wire(4)
    for event in events:  # 1.6 s on one connection, each request 0.4 s
        transport.emit(event)
    assert rec.received() == events
    assert rec.connections_opened == 1


def _netrc_for_localhost(tmp_path, monkeypatch) -> None:
    """A ~/.netrc entry for 127.0.0.1: the ``http`` transport is then openlineage-python's (requests)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password pw-in-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("trickle_body", [False, True], ids=["status-line", "body"])
def test_trickled_answer_through_openlineage_python_ends_at_the_timeout_too(
    receiver, certificate, tmp_path, monkeypatch, tls, trickle_body
):
    """The same deadline for openlineage-python's HttpTransport (requests): its session gets an adapter
    whose connections end each request after ``timeout`` in total."""
    _netrc_for_localhost(tmp_path, monkeypatch)
    rec = receiver("trickle", hang_max=30, trickle_body=trickle_body, tls=certificate if tls else None)
    extra = {"sslContext": {"caCertPath": certificate[0]}} if tls else {}
    transport = _build(http_config(rec, timeout=0.5, **extra))
    assert type(transport) is HttpTransport
    events = _wire(2)
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)timed out"):
        transport.emit(events[0])
    took = time.monotonic() - started
    assert took < 5, f"the request took {took:.1f}s; the server trickles for 30 s"
    rec.set_mode("healthy")
    transport.emit(events[1])
    assert rec.received() == [events[1]]
    assert rec.headers[-1]["Authorization"].startswith("Basic ")  # requests' own behaviour is kept


def test_openlineage_python_http_members_of_a_composite_get_the_deadline(receiver, tmp_path, monkeypatch):
    _netrc_for_localhost(tmp_path, monkeypatch)
    rec = receiver("trickle", hang_max=30)
    member_config = http_config(rec, timeout=0.5)
    config = {"type": "composite", "continue_on_failure": False, "transports": [member_config]}
    transport = _build(config)
    (member,) = transport.transports
    assert type(member) is HttpTransport
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - the composite wraps the member's error
        transport.emit(_wire(1)[0])
    assert time.monotonic() - started < 5

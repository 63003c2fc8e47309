"""Transports run without openlineage-python: parity with its HttpTransport; real receivers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
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
from .receiver import Receiver


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
    with pytest.raises(HttpStatusError, match=r"503 Service Unavailable from http://127\.0\.0\.1:\d+/api/v1/"):
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


@pytest.fixture
def redirecting(receiver) -> Iterator[tuple[str, Receiver]]:
    """A server on 127.0.0.1 that answers every POST with 307 to a healthy receiver."""
    target = receiver()

    class Redirect(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(307)
            self.send_header("Location", f"{target.url}/api/v1/lineage")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", target
    server.shutdown()
    server.server_close()


def test_redirect_keeping_post_is_followed(redirecting) -> None:
    url, target = redirecting
    transport = _build({"type": "http", "url": url, "endpoint": "api/v1/lineage"})
    [event] = _wire(1)[:1]
    transport.emit(event)  # 307: the same POST to the new address
    assert target.received() == [event]


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

"""Backends (and name servers, token endpoints, disks) that misbehave on purpose: an answer cut in its headers
or body, a huge or gzip-bomb body, redirects elsewhere or in a loop, a DNS server that never answers, a TLS
peer that fails, stalls or trickles the handshake, a token endpoint that trickles or answers 256 MiB, a
spool on a full disk, a 429 in the middle of a replay. Real sockets on 127.0.0.1, a real
(hung) DNS server in a network namespace of its own, real spool directories; nothing is mocked."""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpTransport

from airflow_lineage_provider.emission.direct import DirectHttpTransport
from airflow_lineage_provider.emission.spool import Spool, next_stamp, replay_command
from airflow_lineage_provider.emission.transport import TransportSpec, build

from .conftest import http_config
from .factory import assert_exactly_once_in_order, run_pairs
from .test_direct import certificate  # noqa: F401  (a fixture)
from .test_emitter import _child_env

KEY = "k3y-hostile-4711"
PASSWORD = "pw-hostile-0815"


def _event(number: int = 0) -> dict[str, Any]:
    return {
        "eventType": "START",
        "eventTime": "2026-11-21T00:00:00+00:00",
        "run": {"runId": f"01890000-0000-7000-8000-{number:012d}"},
        "job": {"namespace": "tests", "name": f"hostile.{number}"},
        "producer": "tests",
    }


# --- a raw HTTP server whose every answer is written by the test, byte for byte ----------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


#: what a script returns for one request: the bytes to send, then "close", "keep" (keep-alive) or "hang"
Answer = tuple[bytes, str]


class LocalServer:
    """A TCP server on 127.0.0.1 (``port``): each connection served by ``_serve`` on a thread of its own,
    ``connections`` counted. Everything it does ends by ``stop()`` or after 60 s."""

    connections: int = 0

    def _listen(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def _accept(self) -> None:
        deadline = time.monotonic() + 60
        while not self._stopped.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


@dataclass
class RawServer(LocalServer):
    """Reads each HTTP request whole, and answers with ``script(request_number, request)``: raw bytes, then
    closes, keeps the connection, or holds it open without another byte. ``stream`` (bytes, count) is sent
    after the answer's bytes ``count`` times (a huge body without holding it in memory)."""

    script: Callable[[int, Request], Answer]
    stream: tuple[bytes, int] | None = None
    requests: list[Request] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._listen()
        self.url = f"http://127.0.0.1:{self.port}"

    def _read_request(self, conn: socket.socket, buffered: bytes) -> tuple[Request, bytes] | None:
        data = buffered
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("Content-Length", "0"))
        while len(data) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        return Request(lines[0].split(" ")[1], headers, data[:length]), data[length:]

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        rest = b""
        try:
            while not self._stopped.is_set():
                got = self._read_request(conn, rest)
                if got is None:
                    return
                request, rest = got
                with self._lock:
                    self.requests.append(request)
                    number = len(self.requests)
                payload, then = self.script(number, request)
                conn.sendall(payload)
                if self.stream is not None:
                    chunk, count = self.stream
                    for _ in range(count):
                        conn.sendall(chunk)
                if then == "hang":
                    self._stopped.wait(30)
                if then != "keep":
                    return
        except OSError:
            return
        finally:
            conn.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    started: list[RawServer] = []

    def start(script: Callable[[int, Request], Answer], **kwargs: Any) -> RawServer:
        started.append(RawServer(script, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _ok(then: str = "keep") -> Answer:
    close = b"Connection: close\r\n" if then == "close" else b""
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + close + b"Content-Length: 2\r\n\r\n{}",
        then,
    )


def _build(config: dict[str, Any], send_timeout: float = 1.0) -> Any:
    return build(TransportSpec(config=config, source="test"), send_timeout=send_timeout)


def _transport(side: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Any:
    """The ``http`` transport of one side: the provider's own client, or openlineage-python's (requests),
    which a ``~/.netrc`` entry for the host brings in."""
    config = {"type": "http", "url": url, "endpoint": "api/v1/lineage", **extra}
    if side == "direct":
        monkeypatch.setenv("NETRC", "/nonexistent-netrc")
        transport = _build(config)
        assert type(transport) is DirectHttpTransport
    else:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login someone password pw-in-netrc\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        transport = _build(config)
        assert type(transport) is HttpTransport
    return transport


SIDES = ["direct", "openlineage-python"]


# --- 2. an answer cut short: not known to be delivered, so sent again --------------------------------

CUT_ANSWERS = {
    "in a header line": b"HTTP/1.1 200 OK\r\nContent-Type: appl",
    "after a header line, before the empty line": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
    "right after the status line": b"HTTP/1.1 200 OK\r\n",
    "in the status line's reason": b"HTTP/1.1 200 O",
    "in a Content-Length body": b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"stored"',
    "in a chunked body": b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"sto',
}


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("cut", list(CUT_ANSWERS))
def test_a_2xx_answer_cut_short_is_not_counted_as_delivered(raw_server, tmp_path, monkeypatch, side, cut):
    server = raw_server(lambda n, r: (CUT_ANSWERS[cut], "close"))
    transport = _transport(side, server.url, tmp_path, monkeypatch)
    with pytest.raises(Exception) as raised:  # each client raises its own kind
        transport.emit(_event())
    assert len(server.requests) == 1
    if side == "direct":
        assert "cut" in str(raised.value) or "Remote end closed" in str(raised.value), raised.value


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"body": "until the connection ends"}',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    ],
    ids=["content-length", "empty", "until-close", "chunked"],
)
def test_a_complete_2xx_answer_is_delivered(raw_server, tmp_path, monkeypatch, side, answer):
    server = raw_server(lambda n, r: (answer, "close"))
    transport = _transport(side, server.url, tmp_path, monkeypatch)
    transport.emit(_event())
    assert len(server.requests) == 1


EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    ("answer", "delivered"),
    [
        (EARLY_HINTS + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", True),
        (EARLY_HINTS + b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", False),
        (EARLY_HINTS, False),  # and then nothing: cut
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: something\r\n\r\n", False),
    ],
    ids=["103-then-200", "103-then-500", "103-then-nothing", "101"],
)
def test_an_informational_answer_is_not_the_answer(
    raw_server, tmp_path, monkeypatch, side, answer, delivered
):
    """``http.client`` skips ``100 Continue`` only: a ``103 Early Hints`` before a 500 read as delivered."""
    server = raw_server(lambda n, r: (answer, "close"))
    transport = _transport(side, server.url, tmp_path, monkeypatch)
    if delivered:
        transport.emit(_event())
    else:
        with pytest.raises(Exception):  # noqa: B017
            transport.emit(_event())


def test_event_whose_answer_was_cut_stays_in_the_spool_and_is_sent_again(raw_server, make_emitter):
    """The first answer is cut in its headers: the event is kept (a duplicate at the receiver is preferable
    to a loss) and delivered again on the next try; the spool ends empty."""
    server = raw_server(lambda n, r: (CUT_ANSWERS["in a header line"], "close") if n == 1 else _ok())
    em = make_emitter({"type": "http", "url": server.url}, send_timeout=1.0)
    events = run_pairs(1)
    em.emit(events[0])
    assert em.flush(10)
    assert len(em.spool.names()) == 1, "an event whose answer was cut counted as delivered"
    em.emit(events[1])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (em.spool.names() or len(server.requests) < 3):
        time.sleep(0.05)
    assert em.flush(10) and em.spool.names() == []
    received = [json.loads(r.body) for r in server.requests]
    assert_exactly_once_in_order(received[1:], events)  # the cut one, then both once, in order
    assert received[0]["run"]["runId"] == received[1]["run"]["runId"]


# --- 4. a huge answer body: bounded memory, bounded time ------------------------------------------------


def _emit_traced(transport: Any, status: bytes) -> tuple[float, int]:
    """Send one event whose answer has ``status`` (a 200 is a delivery, any other an error naming it): the
    seconds it took and the most memory traced meanwhile."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        if status.startswith(b"200"):
            transport.emit(_event())
        else:
            with pytest.raises(Exception, match=status[:3].decode()):
                transport.emit(_event())
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return elapsed, peak


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("status", [b"200 OK", b"413 Payload Too Large"])
def test_a_huge_answer_body_is_neither_kept_in_memory_nor_read_to_its_end(
    raw_server, tmp_path, monkeypatch, side, status
):
    """A 64 MiB body (Content-Length announced, streamed fast): the status decides, at most 1 MiB of the
    body is read, in small pieces, and the connection is dropped (the next request opens a new one)."""
    size = 64 << 20
    head = b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n"
    server = raw_server(lambda n, r: (head, "close"), stream=(b"x" * 65536, size // 65536))
    transport = _transport(side, server.url, tmp_path, monkeypatch)
    elapsed, peak = _emit_traced(transport, status)
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB held while reading the answer"
    assert elapsed < 6
    if side == "direct":  # not reused: the rest of that body would be read as an answer
        assert transport._connection is None


#: 16 MiB of zeros as one gzip member (16 KB); gzip members may follow each other in one stream
_GZIP_MEMBER = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
#: 1 GiB once decompressed: 64 members (1 MB on the wire), and that gzipped again (2 KB on the wire)
GZIP_BOMBS = {
    "gzip, 1 GiB": (b"gzip", None, (_GZIP_MEMBER, 64)),
    "gzip, gzip, 1 GiB": (b"gzip, gzip", gzip.compress(_GZIP_MEMBER * 64, compresslevel=9), None),
}


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("status", [b"200 OK", b"413 Payload Too Large"])
@pytest.mark.parametrize("bomb", list(GZIP_BOMBS))
def test_a_gzip_bomb_answer_is_not_decompressed_without_bound(
    raw_server, tmp_path, monkeypatch, side, status, bomb
):
    """An answer body that is 1 MB (or 2 KB, gzipped twice) on the wire and 1 GiB once decompressed
    (``Content-Encoding: gzip``): neither client decompresses it (each reads at most 1 MiB of an answer
    as sent; ``requests`` would decompress what it reads, as much per read as its urllib3 version allows),
    so the memory held stays small and the status decides, within the deadline."""
    encoding, whole, stream = GZIP_BOMBS[bomb]
    size = len(whole) if whole is not None else len(_GZIP_MEMBER) * 64
    head = b"HTTP/1.1 %s\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n" % (status, encoding, size)
    server = raw_server(lambda n, r: (head + (whole or b""), "close"), stream=stream)
    transport = _transport(side, server.url, tmp_path, monkeypatch)
    elapsed, peak = _emit_traced(transport, status)
    print(f"\n{bomb} answer ({side}, {status.decode()}): {peak / 2**20:.1f} MiB peak, {elapsed:.2f} s")
    assert peak < 2 << 20, f"{peak / 2**20:.1f} MiB held while reading the answer (decompressed?)"
    assert elapsed < 6


@pytest.mark.parametrize(
    ("encoding", "body", "content"),
    [
        (None, b'{"ok": true}', b'{"ok": true}'),
        (b"gzip", gzip.compress(b'{"ok": true}'), b'{"ok": true}'),
        (b"deflate", zlib.compress(b'{"ok": true}'), b'{"ok": true}'),
        (b"gzip", _GZIP_MEMBER, b"\0" * (64 << 10)),  # 16 MiB once decoded: its first 64 KiB
        (b"gzip, gzip", gzip.compress(gzip.compress(b"{}")), b""),  # stacked: not decoded
        (b"gzip", b"not gzip at all", b""),
    ],
    ids=["plain", "gzip", "deflate", "gzip-16MiB", "stacked", "broken"],
)
def test_openlineage_python_answer_content_is_its_decoded_start(
    raw_server, tmp_path, monkeypatch, encoding, body, content
):
    """The answer ``HttpTransport.emit`` returns holds the start of its body, decoded, at most 64 KiB."""
    coding = b"Content-Encoding: " + encoding + b"\r\n" if encoding else b""
    head = b"HTTP/1.1 200 OK\r\n" + coding + b"Content-Length: %d\r\n\r\n" % len(body)
    server = raw_server(lambda n, r: (head + body, "close"))
    transport = _transport("openlineage-python", server.url, tmp_path, monkeypatch)
    assert transport.emit(_event()).content == content


# --- 4. redirects: never to another server with the credentials, never a POST turned into a GET -------


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_server_is_not_followed_and_the_event_is_not_counted(
    raw_server, tmp_path, monkeypatch, side, status
):
    elsewhere = raw_server(lambda n, r: _ok())
    location = f"http://localhost:{elsewhere.port}/collect"  # another host name (same machine)
    answer = (
        f"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode(),
        "keep",
    )
    server = raw_server(lambda n, r: answer)
    transport = _transport(side, server.url, tmp_path, monkeypatch, custom_headers={"X-Api-Key": KEY})
    with pytest.raises(Exception, match=str(status)):
        transport.emit(_event())
    assert elsewhere.requests == [], "the request (and its X-Api-Key header) reached another server"
    assert len(server.requests) == 1


@pytest.mark.parametrize("side", SIDES)
def test_redirect_without_location_is_an_error_not_a_delivery(raw_server, tmp_path, monkeypatch, side):
    server = raw_server(lambda n, r: (b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", "keep"))
    transport = _transport(side, server.url, tmp_path, monkeypatch)
    with pytest.raises(Exception, match="302"):
        transport.emit(_event())


@pytest.mark.parametrize("side", SIDES)
def test_a_redirect_loop_on_the_same_server_is_bounded(raw_server, tmp_path, monkeypatch, side):
    loop = (b"HTTP/1.1 307 Again\r\nLocation: /api/v1/lineage\r\nContent-Length: 0\r\n\r\n", "keep")
    server = raw_server(lambda n, r: loop)
    transport = _transport(side, server.url, tmp_path, monkeypatch)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017
        transport.emit(_event())
    assert len(server.requests) <= 4  # the first and at most 3 redirects
    assert time.monotonic() - started < 6


# --- 3. a DNS resolver that never answers ------------------------------------------------------------

_HUNG_DNS_CHILD = """
import json, socket, sys, threading, time
sys.path[:0] = {paths!r}
# a real DNS server on 127.0.0.1:53 of this network namespace: it reads every query and never answers
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 53))
queries = []
threading.Thread(target=lambda: [queries.append(server.recvfrom(2048)) for _ in iter(int, 1)],
                 daemon=True).start()
from airflow_lineage_provider.emission.transport import TransportSpec, build
config = {{"type": "http", "url": "http://lineage.hung-dns.test:5000", "timeout": 1.0}}
transport = build(TransportSpec(config=config, source="test"), send_timeout=1.0)
event = {{"eventType": "START", "run": {{"runId": "r"}}, "job": {{"namespace": "n", "name": "j"}}}}
times, errors = [], []
for _ in range(3):
    started = time.monotonic()
    try:
        transport.emit(event)
    except Exception as exc:
        errors.append(f"{{type(exc).__name__}}: {{exc}}")
    times.append(time.monotonic() - started)
names = [t.name for t in threading.enumerate()]
print(json.dumps({{"type": type(transport).__name__, "times": times, "errors": errors,
                  "queries": len(queries), "resolver_threads": names.count("lineage-resolve")}}))
"""


def _hung_dns_namespace(tmp_path: Path) -> list[str]:
    """The command prefix that runs a child in network and mount namespaces of its own, where
    ``/etc/resolv.conf`` names a DNS server on 127.0.0.1 that never answers (30 s per query)."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        pytest.skip("needs Linux unshare(1)")
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1\noptions timeout:30 attempts:1\n")
    setup = 'ip link set lo up && mount --bind "$0" /etc/resolv.conf'
    probe = subprocess.run(
        ["unshare", "--mount", "--net", "sh", "-c", setup, str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot make network and mount namespaces here: {probe.stderr.strip()}")
    return ["unshare", "--mount", "--net", "sh", "-c", setup + ' && exec "$@"', str(conf)]


@pytest.mark.parametrize("side", SIDES)
def test_a_hung_dns_resolver_holds_a_request_no_longer_than_its_timeout(tmp_path, side):
    """Against a real resolver that never answers (each lookup would take 30 s), each request ends by its
    1 s timeout, as the sender needs; the lookups share one resolver thread (none per request). The same
    through openlineage-python's ``requests`` (a ``~/.netrc`` entry for the host brings it in)."""
    prefix = _hung_dns_namespace(tmp_path)
    paths = [str(Path(__file__).parents[2]), str(Path(__file__).parents[1])]
    netrc = tmp_path / "netrc"
    if side == "openlineage-python":
        netrc.write_text("machine lineage.hung-dns.test login someone password pw-in-netrc\n")
        netrc.chmod(0o600)
    env = {**os.environ, "AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR": str(tmp_path / "spool"), "NETRC": str(netrc)}
    started = time.monotonic()
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", _HUNG_DNS_CHILD.format(paths=paths)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    total = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["type"] == ("DirectHttpTransport" if side == "direct" else "HttpTransport")
    assert result["queries"] >= 1  # the lookup did go to the hung server
    assert len(result["errors"]) == 3 and all("looking up" in e for e in result["errors"]), result
    assert max(result["times"]) < 6, f"a request waited {max(result['times']):.1f}s for the resolver"
    assert result["resolver_threads"] == 1, result
    times = [round(t, 2) for t in result["times"]]
    print(f"\nhung resolver ({side}): request times {times} s, child {total:.1f} s")


def test_name_lookups_use_one_thread_however_many_connections(raw_server):
    """A server that closes every connection: each event opens a new one and looks ``localhost`` up again,
    and the process still has one resolver thread."""
    server = raw_server(lambda n, r: _ok(then="close"))
    transport = _build({"type": "http", "url": f"http://localhost:{server.port}"})
    assert type(transport) is DirectHttpTransport
    for number in range(20):
        assert transport.emit(_event(number)) == 200
    assert server.connections == 20
    assert [t.name for t in threading.enumerate()].count("lineage-resolve") == 1


def test_a_server_that_accepts_and_never_answers_ends_at_the_timeout(raw_server):
    """The other half of the request (connect, send, read): the whole request ends by its timeout."""
    server = raw_server(lambda n, r: (b"", "hang"))
    transport = _build({"type": "http", "url": f"http://localhost:{server.port}"}, send_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        transport.emit(_event())
    assert time.monotonic() - started < 6


# --- 4. TLS failures: the error says what failed, and nothing secret -------------------------------


def test_tls_failures_log_no_secret(receiver, make_emitter, certificate, caplog, tmp_path):  # noqa: F811
    plain = receiver()  # https to a plain-http server: the handshake fails (it answers 400 in plain text)
    untrusted = receiver(tls=certificate)  # a self-signed certificate: verification fails
    with caplog.at_level(logging.DEBUG):
        for url in (
            plain.url.replace("http://", f"https://user:{PASSWORD}@"),
            untrusted.url.replace("://", f"://u:{PASSWORD}@"),
        ):
            config = {
                "type": "http", "url": url, "endpoint": f"api/v1/lineage?api_key={KEY}",
                "auth": {"type": "api_key", "apiKey": KEY},
            }  # fmt: skip
            em = make_emitter(config, send_timeout=1.0, spool_dir=tmp_path / url.rpartition(":")[2])
            em.emit(run_pairs(1)[0])
            assert em.flush(10)
            assert len(em.spool.names()) == 1
            assert em.last_error and ("SSL" in em.last_error or "certificate" in em.last_error), em.last_error
            assert PASSWORD not in em.last_error and KEY not in em.last_error
            em.close(0.5)
    assert PASSWORD not in caplog.text and KEY not in caplog.text
    assert untrusted.requests == 0


# --- 4. a spool on a full disk ----------------------------------------------------------------------


def test_a_full_disk_under_the_spool_never_reaches_the_task_and_says_what_to_do(receiver, tmp_path):
    """The spool's disk refuses every write (``RLIMIT_FSIZE``: each write fails with EFBIG, as on a full
    disk) and the backend is down: ``emit`` still returns at once and never raises, the warning names
    ``[lineage_provider] spool_dir`` and what to do; once the backend is back, events are sent directly."""
    rec = receiver("refuse")
    env = _child_env(tmp_path, transport=json.dumps(http_config(rec)), send_timeout="0.5", flush_timeout="2")
    code = textwrap.dedent(
        f"""
        import json, logging, resource, signal, sys, time
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8, 8))  # no file may hold more than 8 bytes
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from factory import run_pairs
        from airflow_lineage_provider.emission.emitter import get_emitter
        em = get_emitter()
        slowest = 0.0
        for event in run_pairs(3):
            started = time.perf_counter()
            em.emit(event)
            slowest = max(slowest, time.perf_counter() - started)
        em.flush(10)
        print("RESULT", json.dumps({{"slowest": slowest}}), flush=True)
        sys.stdin.readline()  # the backend is back
        for event in run_pairs(2, "later"):
            em.emit(event)
        print("RESULT", json.dumps({{"flushed": em.flush(10)}}), flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdin is not None
        lines = []
        while not (lines and lines[-1].startswith("RESULT ")) and (line := child.stdout.readline()):
            lines.append(line)
        first = json.loads(lines[-1].removeprefix("RESULT "))
        rec.set_mode("healthy")
        child.stdin.write("\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err[-3000:]
    assert first.get("slowest", 1.0) < 0.1
    out = "".join(lines) + out
    results = [line.removeprefix("RESULT ") for line in out.splitlines() if line.startswith("RESULT ")]
    assert json.loads(results[-1]) == {"flushed": True}
    assert len(rec.received()) == 4  # sent directly once the backend was back
    warnings = [line for line in (out + err).splitlines() if "lineage" in line and "warning" in line.lower()]
    assert warnings, out[-3000:] + err[-3000:]
    assert any("[lineage_provider] spool_dir" in w and "free space" in w for w in warnings), warnings
    assert "Traceback" not in out + err, out[-3000:] + err[-3000:]


# --- 1. a 429 / 503 with Retry-After in the middle of a replay ----------------------------------------


def _spool_events(directory: Path, events: list[Any]) -> Spool:
    spool = Spool(str(directory), 1 << 30)
    for event in events:
        spool.write(next_stamp(), json.loads(Serde.to_json(event)))
    return spool


def test_replay_pauses_at_retry_after_says_so_once_and_resumes_then_in_order(
    receiver, make_emitter, tmp_path, caplog
):
    """Events another process left in the spool; the backend answers 429 with ``Retry-After: 2`` twice. The
    replay pauses (one warning, saying until when), tries again 2 s later (not later: the backoff does not
    add to the backend's time), pauses again silently, then delivers everything once, in order."""
    rec = receiver("429", retry_after="2")
    old = run_pairs(2, "old")
    _spool_events(tmp_path / "spool", old)
    em = make_emitter(http_config(rec), spool_dir=tmp_path / "spool", send_timeout=1.0)
    new = run_pairs(1, "new")
    with caplog.at_level(logging.DEBUG, logger="airflow_lineage_provider"):
        for event in new:
            em.emit(event)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and rec.requests < 2:
            time.sleep(0.02)
        rec.set_mode("healthy")
        received = rec.wait_for(6, timeout=30)
    assert_exactly_once_in_order(received, old + new)
    assert [e["job"]["name"] for e in received[:4]] == [e.job.name for e in old]  # the spool first
    times = rec.request_times
    assert times[1] - times[0] >= 1.95 and times[2] - times[1] >= 1.95, times[:3]
    assert times[2] - times[1] < 3.5, f"retried {times[2] - times[1]:.1f}s after Retry-After: 2"
    paused = [r for r in caplog.records if "paused" in r.getMessage() and r.levelno >= logging.INFO]
    assert len(paused) == 1, [r.getMessage() for r in paused]
    message = paused[0].getMessage()
    assert paused[0].levelno == logging.WARNING
    assert "429" in message and "Retry-After" in message and "no event is sent before" in message
    assert " UTC" in message and str(em.spool.directory) in message
    other = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r is not paused[0]]
    assert other == [], other
    assert any("resumed" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert em.flush(10) and em.spool.names() == []


def test_replay_by_hand_stops_at_retry_after_and_says_when_to_run_it_again(
    receiver, lineage_options, tmp_path, capsys
):
    rec = receiver("503", retry_after="30")
    lineage_options(transport=json.dumps(http_config(rec)), send_timeout="0.5")
    spool = _spool_events(tmp_path / "spool", run_pairs(2))
    assert replay_command(argparse.Namespace(spool_dir=None, limit=None, dry_run=False)) == 1
    out = capsys.readouterr().out
    assert "4 remaining" in out and "Retry-After" in out and "again after" in out and "UTC" in out, out
    assert rec.requests == 1 and len(spool.names()) == 4


# --- the token endpoint of jwt / oauth2 auth: the same bounds as the request it authorizes -------------


def _token_config(url: str, token_endpoint: str, kind: str = "jwt") -> dict[str, Any]:
    auth = {"type": kind, "tokenEndpoint": token_endpoint}
    auth.update({"apiKey": KEY} if kind == "jwt" else {"clientId": "lineage", "clientSecret": PASSWORD})
    return {"type": "http", "url": url, "endpoint": "api/v1/lineage", "timeout": 1.0, "auth": auth}


@pytest.mark.parametrize("kind", ["jwt", "oauth2"])
@pytest.mark.parametrize("expiry", ["expires_in", "none"])
def test_a_token_endpoint_is_asked_as_openlineage_python_asks_it(receiver, raw_server, caplog, kind, expiry):
    """The token request is the one openlineage-python makes (its form data, the client credentials as
    Basic auth for oauth2), the token is cached while it is valid, and an answer without expiry means a
    token per event (as openlineage-python does), said once."""
    token = b'{"access_token": "t0k3n-from-endpoint"%s}' % (
        b', "expires_in": 3600' if expiry != "none" else b""
    )
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(token) + token
    endpoint = raw_server(lambda n, r: (answer, "close"))
    rec = receiver()
    transport = _build(_token_config(rec.url, f"{endpoint.url}/token", kind))
    assert type(transport) is HttpTransport
    with caplog.at_level(logging.WARNING):
        for number in range(3):
            transport.emit(_event(number))
    assert len(rec.received()) == 3
    assert len(endpoint.requests) == (1 if expiry != "none" else 3)
    assert {h["Authorization"] for h in rec.headers} == {"Bearer t0k3n-from-endpoint"}
    request = endpoint.requests[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    if kind == "jwt":
        assert f"apikey={KEY}" in request.body.decode()
    else:
        assert request.body == b"grant_type=client_credentials"
        assert request.headers["Authorization"].startswith("Basic ")
    warned = [r.getMessage() for r in caplog.records if "no expiry" in r.getMessage()]
    assert len(warned) == (1 if expiry == "none" else 0), warned


def test_a_token_endpoint_that_trickles_cannot_hold_the_send(receiver):
    """openlineage-python asks the token endpoint with ``requests.post(timeout=10)``: 10 s per read, so an
    endpoint that answers a byte every 50 ms would hold the send worker for as long as it trickles."""
    endpoint = receiver("trickle", hang_max=30)
    rec = receiver()
    transport = _build(_token_config(rec.url, f"{endpoint.url}/token"))
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - openlineage-python wraps it
        transport.emit(_event())
    took = time.monotonic() - started
    print(f"\ntrickling token endpoint: the send ended after {took:.2f} s (timeout 1 s)")
    assert took < 4, f"the send took {took:.1f}s against a trickling token endpoint (timeout 1 s)"
    assert rec.received() == []


@pytest.mark.parametrize("encoding", [b"", b"Content-Encoding: gzip\r\n"], ids=["plain", "gzip-bomb"])
def test_a_huge_token_answer_is_not_held_in_memory(receiver, raw_server, encoding):
    """A 256 MiB answer from the token endpoint (plain, or 256 KB on the wire as gzip): openlineage-python's
    ``response.json()`` would hold it whole, decompressed."""
    members = 16
    chunk = _GZIP_MEMBER if encoding else b" " * (16 << 20)
    head = b"HTTP/1.1 200 OK\r\n" + encoding + b"Content-Length: %d\r\n\r\n" % (len(chunk) * members)
    endpoint = raw_server(lambda n, r: (head, "close"), stream=(chunk, members))
    rec = receiver()
    transport = _build(_token_config(rec.url, f"{endpoint.url}/token"))
    tracemalloc.start()
    try:
        with pytest.raises(Exception):  # noqa: B017 - no token in it: not sent
            transport.emit(_event())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\n256 MiB token answer ({encoding.strip().decode() or 'plain'}): {peak / 2**20:.1f} MiB peak")
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB held while reading the token endpoint's answer"
    assert rec.received() == []


# --- a TLS server that stalls or trickles its handshake ------------------------------------------------


class TrickleRelay(LocalServer):
    """Passes connections on to ``target`` (a real TLS receiver), the server's bytes one every ``interval``
    seconds: a TLS handshake that progresses, so no single read waits the timeout, but never in time."""

    def __init__(self, target: int, interval: float = 0.02) -> None:
        self.target, self.interval = target, interval
        self._listen()

    def _serve(self, conn: socket.socket) -> None:
        peer = socket.create_connection(("127.0.0.1", self.target), timeout=30)
        threading.Thread(target=self._pump, args=(peer, conn, self.interval), daemon=True).start()
        self._pump(conn, peer, 0)

    def _pump(self, source: socket.socket, sink: socket.socket, interval: float) -> None:
        try:
            while not self._stopped.is_set() and (data := source.recv(65536)):
                for start in range(0, len(data), 1 if interval else len(data)):
                    if interval and self._stopped.wait(interval):
                        return
                    sink.sendall(data[start : start + 1] if interval else data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                sock.close()


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("how", ["stalls", "trickles"])
def test_a_tls_handshake_that_stalls_or_trickles_ends_at_the_timeout(
    raw_server, receiver, certificate, tmp_path, monkeypatch, side, how  # noqa: F811
):  # fmt: skip
    """An ``https`` URL whose server accepts the connection and never sends its part of the handshake, or
    a real TLS server (self-signed, trusted by the config) whose handshake reaches the client a byte every
    20 ms: the request ends by its 1 s timeout, and the event is not counted as delivered."""
    relay = None
    if how == "stalls":
        port = raw_server(lambda n, r: (b"", "hang")).port  # never reads a whole request: never answers
    else:
        relay = TrickleRelay(receiver(tls=certificate).port)
        port = relay.port
    try:
        ca = {"sslContext": {"caCertPath": certificate[0]}, "timeout": 1.0}
        transport = _transport(side, f"https://127.0.0.1:{port}", tmp_path, monkeypatch, **ca)
        started = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017 - each client raises its own kind
            transport.emit(_event())
        took = time.monotonic() - started
    finally:
        if relay is not None:
            relay.stop()
    print(f"\nTLS handshake that {how} ({side}): {took:.2f} s")
    assert took < 4, f"the request took {took:.1f}s against a TLS handshake that {how} (timeout 1 s)"


def _slow(seconds: float, answer: Answer) -> Callable[[int, Request], Answer]:
    def script(number: int, request: Request) -> Answer:
        time.sleep(seconds)
        return answer

    return script


def test_the_token_request_and_the_event_share_one_timeout(receiver, raw_server):
    """A token endpoint and a receiver that each take 0.7 s, with ``timeout`` 1 s: the send fails by 1 s in
    all (it took 1.4 s, each part under its own timeout: an answer past ``timeout`` can come after the
    spooled record is unlocked, and the event is then replayed twice)."""
    token = b'{"access_token": "t0k3n", "expires_in": 3600}'
    endpoint = raw_server(
        _slow(0.7, (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(token) + token, "close"))
    )
    rec = receiver("slow", slow_seconds=0.7)
    transport = _build(_token_config(rec.url, f"{endpoint.url}/token"))
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)timed out|deadline"):
        transport.emit(_event())
    took = time.monotonic() - started
    print(f"\nslow token endpoint + slow receiver: {took:.2f} s (timeout 1 s)")
    assert took < 1.3, f"the send took {took:.2f}s with timeout 1 s"


def test_same_origin_redirects_through_requests_share_one_timeout(raw_server, tmp_path, monkeypatch):
    """Three 307s to the same server, each after 0.4 s, then a 200: 1.6 s in all, over the 1 s timeout (the
    provider's own client counts redirects in the request's deadline; requests gave each hop its own)."""
    redirect = (b"HTTP/1.1 307 Again\r\nLocation: /api/v1/lineage\r\nContent-Length: 0\r\n\r\n", "keep")
    server = raw_server(lambda n, r: (time.sleep(0.4), redirect if n < 4 else _ok())[1])
    transport = _transport("openlineage-python", server.url, tmp_path, monkeypatch, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017
        transport.emit(_event())
    took = time.monotonic() - started
    assert took < 1.3, f"the send took {took:.2f}s with timeout 1 s"

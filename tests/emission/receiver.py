"""A real OpenLineage HTTP receiver on 127.0.0.1 for fault tests, with switchable behaviour.

Modes: ``healthy`` (200, event recorded), ``refuse`` (nothing listens on the port: connection refused),
``503`` and ``429`` (answer that status, with a ``Retry-After: <retry_after>`` header when ``retry_after`` is
set, and record nothing), ``hang`` (reads the request, never answers), ``slow`` (answers 200 and records
after ``slow_seconds``), ``flap`` (alternates 503 and healthy, request by request), ``trickle`` (starts an
answer and sends it one byte every ``trickle_interval`` seconds, in its status line or, with
``trickle_body=True``, in the body of a 200, so no read ever waits long, and never finishes it; records
nothing).
``request_times`` holds when each request arrived (``time.monotonic()``).
Run as a script (``python tests/emission/receiver.py MODE``) it serves in its own process, prints its URL,
and stops when its standard input closes (or after ``lifetime``), printing how many events it received.
Every loop is bounded: hung handlers give up after ``hang_max`` seconds or when the mode changes, and the
server stops by itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("healthy", "refuse", "503", "429", "hang", "slow", "flap", "trickle")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    def __init__(
        self,
        mode: str = "healthy",
        *,
        hang_max: float = 20.0,
        slow_seconds: float = 1.0,
        lifetime: float = 300.0,
        port: int | None = None,
        store: bool = True,
        tls: tuple[str, str] | None = None,
        retry_after: str | None = None,
        trickle_interval: float = 0.05,
        trickle_body: bool = False,
    ) -> None:
        self.port = port or free_port()
        #: (certificate file, key file): serve HTTPS
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.hang_max = hang_max
        self.slow_seconds = slow_seconds
        #: ``Retry-After`` header value of the 503 and 429 answers (None: no header)
        self.retry_after = retry_after
        self.trickle_interval = trickle_interval
        self.trickle_body = trickle_body
        self.request_times: list[float] = []
        self.lifetime = lifetime
        #: keep received events (False: only count them, for long soak runs)
        self.store = store
        self.delivered = 0
        self.events: list[dict[str, Any]] = []
        self.requests = 0
        #: TCP connections accepted so far (keep-alive clients open few)
        self.connections_opened = 0
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._connections: set[socket.socket] = set()
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True
        self._mode = ""
        self.set_mode(mode)
        self._timer.start()

    # --- control -------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        assert mode in MODES, mode
        with self._changed:
            self._mode = mode
            self._changed.notify_all()
        if mode == "refuse":
            self._close_server()
        elif self._server is None and not self._stopped.is_set():
            self._open_server()

    def stop(self) -> None:
        self._stopped.set()
        with self._changed:
            self._changed.notify_all()
        self._close_server()
        self._timer.cancel()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.events) < count:
            time.sleep(0.02)
        return self.received()

    # --- server --------------------------------------------------------------------------------

    def _open_server(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()  # answers go out in small writes: no Nagle delay on them
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with receiver._lock:
                    receiver._connections.add(self.connection)
                    receiver.connections_opened += 1

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.handle(self, body)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:  # kept-alive connections too: "refuse" means nothing answers on the port
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _answer(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        payload = b"{}"
        with contextlib.suppress(OSError):  # the client may have given up already
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            if status in (429, 503) and self.retry_after is not None:
                handler.send_header("Retry-After", self.retry_after)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)

    def _trickle(self, handler: BaseHTTPRequestHandler) -> None:
        """Start an answer, then send one more byte every ``trickle_interval`` seconds until ``hang_max`` or
        the mode changes, never finishing it (the connection is then dropped): its status line, or with
        ``trickle_body`` its body. Either way, an answer cut there is an error to the client, not a 200."""
        if self.trickle_body:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"
        else:
            head = b"HTTP/1.1 "
        deadline = time.monotonic() + self.hang_max
        handler.close_connection = True
        with contextlib.suppress(OSError):  # the client gave up
            handler.wfile.write(head)
            while self._mode == "trickle" and not self._stopped.is_set() and time.monotonic() < deadline:
                time.sleep(self.trickle_interval)
                handler.wfile.write(b" ")

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.request_times.append(time.monotonic())
            self.requests += 1
            number = self.requests
            mode = self._mode
            self.headers.append(dict(handler.headers.items()))
        if mode == "flap":
            mode = "503" if number % 2 else "healthy"
        if mode == "hang":
            deadline = time.monotonic() + self.hang_max
            with self._changed:
                while self._mode == "hang" and not self._stopped.is_set() and time.monotonic() < deadline:
                    self._changed.wait(0.1)
            handler.close_connection = True
            return  # never answer: the connection is dropped
        if mode == "trickle":
            self._trickle(handler)
            return
        if mode == "slow":
            time.sleep(self.slow_seconds)
        if mode in ("503", "429"):
            self._answer(handler, int(mode))
            return
        if handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        event = json.loads(body)
        with self._lock:
            self.delivered += 1
            if self.store:
                self.events.append(event)
        self._answer(handler, 200)


if __name__ == "__main__":
    import sys

    with Receiver(sys.argv[1] if len(sys.argv) > 1 else "healthy", store=False, lifetime=3600) as served:
        print(served.url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin
        print(served.delivered, flush=True)

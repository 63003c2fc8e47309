"""A real Airflow deployment in a temporary directory, for tests/test_deployment.py.

``Deployment`` owns an isolated AIRFLOW_HOME (its own SQLite metadata DB, dags folder, logs, spool and
events file) and runs the production components as subprocesses: ``airflow api-server`` (the REST API and
the execution API the task supervisor talks to), ``airflow scheduler`` (LocalExecutor: one fresh task
process per try), ``airflow dag-processor`` and ``airflow triggerer``. Each runs in a session of its own,
logging to ``<root>/<component>.log``; ``stop()`` ends every process group it started (SIGTERM, then
SIGKILL), plus any task process left behind.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil

COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server", "--apps", "all", "--host", "127.0.0.1"],  # port added at start
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
}

#: the first line of a log record: a timestamp (component logs) or a JSON object (task logs); the lines up to
#: the next such line (a traceback, plain or drawn in a box) belong to the record
_RECORD_START = re.compile(r"^(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\{)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DeploymentError(AssertionError):
    """A component did not come up, or a wait ran out; the message ends with every component's log tail."""


class Deployment:
    """An isolated Airflow home plus the processes of a production deployment."""

    def __init__(self, root: Path, *, namespace: str, extra_env: Mapping[str, str] = ()) -> None:
        self.root = root
        self.home = root / "airflow-home"
        self.dags = self.home / "dags"
        self.logs = self.home / "logs"
        self.events_file = root / "events.jsonl"
        self.spool = root / "spool"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.jwt_secret = secrets.token_urlsafe(64)  # >= 64 bytes: no short-HMAC-key warning per token
        self.api_secret_key = secrets.token_urlsafe(32)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._seen: dict[int, psutil.Process] = {}  # every descendant observed, to end leftovers by pid
        for folder in (self.home, self.dags, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        # the pytest process's own Airflow and lineage settings (tests/conftest.py) must not leak in
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "OPENLINEAGE", "PYTEST", "_AIRFLOW"))
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW_CONFIG": str(self.home / "airflow.cfg"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": self.api_secret_key,
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # the log servers of the scheduler and the triggerer: free ports, not the fixed defaults
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "600",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__LINEAGE_PROVIDER__NAMESPACE": namespace,
                "AIRFLOW__LINEAGE_PROVIDER__TRANSPORT": json.dumps(
                    {"type": "file", "log_file_path": str(self.events_file), "append": True}
                ),
                "AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR": str(self.spool),
            }
        )
        env.update(extra_env)
        self.env = env

    # -- set-up and processes --

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode:
            output = result.stdout[-2000:] + result.stderr[-4000:]
            msg = f"airflow db migrate failed ({result.returncode}):\n{output}"
            raise DeploymentError(msg)

    def log_path(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def start(self, name: str) -> None:
        args = list(COMPONENTS[name])
        if name == "api-server":
            args += ["--port", str(self.port)]
        with open(self.log_path(name), "ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_all(self) -> None:
        for name in COMPONENTS:
            self.start(name)

    def _remember_descendants(self) -> None:
        for popen in self.processes.values():
            try:
                for child in psutil.Process(popen.pid).children(recursive=True):
                    self._seen.setdefault(child.pid, child)
            except psutil.Error:
                continue

    def check_alive(self) -> None:
        self._remember_descendants()
        for name, popen in self.processes.items():
            if popen.poll() is not None:
                raise DeploymentError(f"{name} exited with {popen.returncode}" + self.log_tails())

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM every process group started here, wait, SIGKILL what is left (and stray task processes)."""
        self._remember_descendants()
        for popen in reversed(list(self.processes.values())):  # triggerer first, api-server last
            _signal_group(popen, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for popen in self.processes.values():
            try:
                popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for popen in self.processes.values():
            _signal_group(popen, signal.SIGKILL)
            try:
                popen.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for child in self._seen.values():  # a task process in a session of its own, left behind
            try:
                if child.is_running():
                    child.kill()
            except psutil.Error:
                continue

    def kill(self, name: str) -> None:
        """SIGKILL one component's process group (a crash, or a deployment that does not wait) and reap it.

        The component is forgotten: ``start(name)`` starts a new one (its log appends to the same file).
        """
        self._remember_descendants()
        popen = self.processes.pop(name)
        _signal_group(popen, signal.SIGKILL)
        try:
            popen.wait(10)
        except subprocess.TimeoutExpired:
            pass

    # -- the REST API --

    def api(self, method: str, path: str, body: Any = None, timeout: float = 15.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def wait_for(self, what: str, probe: Any, timeout: float, interval: float = 0.5) -> Any:
        """Call ``probe()`` until it returns something truthy; HTTP/connection errors count as not yet."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                result = probe()
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                result, last = None, exc
            if result:
                return result
            time.sleep(interval)
        msg = f"timed out after {timeout:.0f} s waiting for {what} (last error: {last!r})"
        raise DeploymentError(msg + self.log_tails())

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        def healthy() -> dict[str, Any] | None:
            health = self.api("GET", "/api/v2/monitor/health", timeout=5)
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            ok = all((health.get(p) or {}).get("status") == "healthy" for p in parts)
            return health if ok else None

        return self.wait_for("every component to report healthy", healthy, timeout)

    def wait_dag(self, dag_id: str, timeout: float) -> dict[str, Any]:
        def parsed() -> dict[str, Any] | None:
            try:
                return self.api("GET", f"/api/v2/dags/{dag_id}", timeout=5)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return None
                raise

        return self.wait_for(f"DAG {dag_id} to be parsed", parsed, timeout)

    # -- evidence --

    def log_files(self) -> Iterator[Path]:
        yield from (self.log_path(name) for name in self.processes)
        yield from (p for p in sorted(self.logs.rglob("*")) if p.is_file())

    def log_tails(self, lines: int = 40) -> str:
        parts = []
        for path in self.log_files():
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"\n----- {path.relative_to(self.root)} (last {lines} lines) -----")
            parts.extend(text[-lines:])
        return "\n".join(parts)

    def provider_tracebacks(self) -> list[str]:
        """Log records holding a traceback (plain, boxed, or a task log's ``error_detail``) that involves
        the provider's code."""
        found = []
        for path in self.log_files():
            for record in _records(path):
                if ("Traceback" in record or '"error_detail"' in record) and (
                    "airflow_lineage_provider" in record
                ):
                    found.append(f"{path.name}:\n{record[-4000:]}")
        return found

    def wait_lines(self, pattern: str, count: int, timeout: float) -> list[str]:
        """Wait until at least ``count`` log lines (component and task logs) match ``pattern``."""
        return self.wait_for(
            f"{count} log line(s) matching {pattern!r}",
            lambda: lines if len(lines := self.lines_matching(pattern)) >= count else None,
            timeout,
        )

    def lines_matching(self, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        return [
            f"{path.name}: {line[:500]}"
            for path in self.log_files()
            if path.exists()
            for line in path.read_text(errors="replace").splitlines()
            if regex.search(line)
        ]


def _records(path: Path) -> Iterator[str]:
    """The log records of a file (a record with its continuation lines)."""
    if not path.exists():
        return
    record: list[str] = []
    for line in path.read_text(errors="replace").splitlines():
        if _RECORD_START.match(line) and record:
            yield "\n".join(record)
            record = []
        record.append(line)
    if record:
        yield "\n".join(record)


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(popen.pid, sig)  # start_new_session: the group id is the child's pid
    except (ProcessLookupError, PermissionError):
        pass

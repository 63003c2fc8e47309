"""The durable outbox: events that could not be delivered, one JSON file each, replayed oldest first.

* A record is written to ``.<name>.tmp``, then renamed to ``<name>.json``: a crash or ``kill -9`` of the
  writer leaves either a complete record or an ignored temporary file, never a corrupt record. Records are
  not fsync'ed (that costs tens of milliseconds of CPU per event on common filesystems, exactly when a
  backend outage makes every event go to the spool): after an OS crash or power loss the newest records
  may be missing or empty, and an empty or torn record is moved aside and counted, never delivered.
* ``<name>`` is a stamp taken when the event was emitted (wall-clock nanoseconds, monotonic within a
  process, then pid and a sequence number), so sorting names gives emission order: a run's START is
  replayed before its COMPLETE.
* The directory is capped at ``spool_max_mb``: past it the oldest records are evicted, counted
  (``lineage_provider.events.dropped``) and logged.
* Replay holds an exclusive ``fcntl`` lock on ``.replay.lock`` (one replayer at a time across processes),
  delivers oldest first, deletes each record once delivered, and stops at the first failure.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from airflow_lineage_provider.emission import metrics

log = logging.getLogger(__name__)

SUFFIX = ".json"
LOCK_NAME = ".replay.lock"
#: temporary files older than this are leftovers of a crashed writer and are removed
_STALE_TMP_SECONDS = 3600
#: re-measure the directory after this many writes (other processes write to it too)
_RESCAN_EVERY = 256

_sequence = itertools.count()
_clock_offset = time.time_ns() - time.monotonic_ns()


def next_stamp() -> str:
    """An order key for an event emitted now: sortable across processes, strictly increasing within one."""
    return f"{_clock_offset + time.monotonic_ns():020d}-{os.getpid():08d}-{next(_sequence):010d}"


def _reset_after_fork() -> None:
    global _clock_offset
    _clock_offset = time.time_ns() - time.monotonic_ns()


os.register_at_fork(after_in_child=_reset_after_fork)


@dataclass(frozen=True)
class SpoolState:
    directory: str
    count: int
    bytes: int
    max_bytes: int
    oldest: str | None
    newest: str | None


@dataclass
class ReplayResult:
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    remaining: int = 0
    #: another process held the replay lock, nothing was attempted
    locked: bool = False


class Spool:
    """One spool directory. Thread-safe for writers; replay is serialised by a cross-process lock."""

    def __init__(self, directory: str, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._approx_bytes: int | None = None
        self._writes = 0
        self._made = False

    # --- writing -------------------------------------------------------------------------------

    def write(self, stamp: str, event: dict[str, Any]) -> None:
        """Store one event atomically (raises OSError if the disk refuses)."""
        if not self._made:
            os.makedirs(self.directory, exist_ok=True)
            self._made = True
        data = json.dumps(event, separators=(",", ":"), default=str).encode("utf-8")
        self._make_room(len(data))
        final = os.path.join(self.directory, stamp + SUFFIX)
        tmp = os.path.join(self.directory, f".{stamp}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, final)
        metrics.incr("spooled")

    def discard(self, stamp: str) -> None:
        """Forget one record (already delivered); a missing record is fine."""
        with contextlib.suppress(FileNotFoundError):
            size = os.path.getsize(self._path(stamp))
            os.unlink(self._path(stamp))
            if self._approx_bytes is not None:
                self._approx_bytes = max(0, self._approx_bytes - size)

    def _path(self, stamp: str) -> str:
        return os.path.join(self.directory, stamp + SUFFIX)

    def _make_room(self, incoming: int) -> None:
        self._writes += 1
        if self._approx_bytes is None or self._writes % _RESCAN_EVERY == 0:
            self._approx_bytes = sum(size for _, size in self._entries())
        if self._approx_bytes + incoming <= self.max_bytes:
            self._approx_bytes += incoming
            return
        entries = self._entries()
        total = sum(size for _, size in entries)
        evicted = evicted_bytes = 0
        for name, size in entries:
            if total + incoming <= self.max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.directory, name))
                evicted += 1
                evicted_bytes += size
            total -= size
        self._approx_bytes = total + incoming
        if evicted:
            metrics.incr("dropped", evicted)
            log.warning(
                "lineage spool %s is over its cap of %d bytes: evicted the %d oldest events (%d bytes); "
                "raise [lineage_provider] spool_max_mb or bring the lineage backend back",
                self.directory, self.max_bytes, evicted, evicted_bytes,
            )

    # --- reading -------------------------------------------------------------------------------

    def _scan(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.directory) as entries:
                yield from entries
        except FileNotFoundError:
            return

    def _entries(self) -> list[tuple[str, int]]:
        """(name, size) of every record, oldest first; removes stale temporary files on the way."""
        found = []
        now = time.time()
        for entry in self._scan():
            try:
                if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                    found.append((entry.name, entry.stat().st_size))
                elif entry.name.endswith(".tmp") and now - entry.stat().st_mtime > _STALE_TMP_SECONDS:
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue
        found.sort()
        return found

    def names(self) -> list[str]:
        """Record names (stamps), oldest first."""
        return [name[: -len(SUFFIX)] for name, _ in self._entries()]

    def has_pending(self) -> bool:
        return any(e.name.endswith(SUFFIX) and not e.name.startswith(".") for e in self._scan())

    def read(self, stamp: str) -> dict[str, Any]:
        with open(self._path(stamp), "rb") as handle:
            event = json.load(handle)
        if not isinstance(event, dict):
            msg = "not a JSON object"
            raise ValueError(msg)
        return event

    def state(self) -> SpoolState:
        entries = self._entries()
        return SpoolState(
            directory=self.directory,
            count=len(entries),
            bytes=sum(size for _, size in entries),
            max_bytes=self.max_bytes,
            oldest=entries[0][0][: -len(SUFFIX)] if entries else None,
            newest=entries[-1][0][: -len(SUFFIX)] if entries else None,
        )

    # --- replay --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _replay_lock(self, wait: float) -> Iterator[bool]:
        os.makedirs(self.directory, exist_ok=True)
        fd = os.open(os.path.join(self.directory, LOCK_NAME), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            yield True
        finally:
            os.close(fd)  # releases the lock

    def replay(
        self,
        deliver: Callable[[dict[str, Any], str], bool],
        *,
        limit: int | None = None,
        wait: float = 0.0,
    ) -> ReplayResult:
        """Deliver stored events oldest first with ``deliver(event, stamp) -> bool``; stop at a failure.

        ``wait``: seconds to wait for another process's replay to finish (0: give up at once).
        """
        result = ReplayResult()
        with self._replay_lock(wait) as acquired:
            if not acquired:
                result.locked = True
                result.remaining = len(self._entries())
                return result
            while limit is None or result.delivered < limit:
                stamps = self.names()
                if not stamps:
                    break
                progressed = False
                for stamp in stamps:
                    if limit is not None and result.delivered >= limit:
                        break
                    try:
                        event = self.read(stamp)
                    except FileNotFoundError:
                        continue
                    except (OSError, ValueError) as exc:
                        self._quarantine(stamp, exc)
                        result.dropped += 1
                        continue
                    if not deliver(event, stamp):
                        result.failed += 1
                        break
                    self.discard(stamp)
                    metrics.incr("replayed")
                    result.delivered += 1
                    progressed = True
                if result.failed or not progressed:
                    break
            result.remaining = len(self._entries())
        return result

    def _quarantine(self, stamp: str, exc: BaseException) -> None:
        with contextlib.suppress(OSError):
            os.replace(self._path(stamp), os.path.join(self.directory, f".{stamp}.unreadable"))
        metrics.incr("dropped")
        log.warning("lineage spool record %s is unreadable (%s); moved aside", stamp, type(exc).__name__)


def _describe(event: dict[str, Any]) -> str:
    job = event.get("job") or {}
    run = event.get("run") or {}
    where = f"{job.get('namespace', '?')}/{job.get('name', '?')}"
    return f"{event.get('eventType', '?'):9} {where} run={run.get('runId', '?')}"


def replay_command(args: argparse.Namespace) -> int:
    """``airflow-lineage replay [--spool-dir DIR] [--limit N] [--dry-run]``."""
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.emission.emitter import get_emitter
    from airflow_lineage_provider.exceptions import ConfigError

    try:
        spool = Spool(getattr(args, "spool_dir", None) or conf.spool_dir(), conf.spool_max_bytes())
        limit = getattr(args, "limit", None)
        if getattr(args, "dry_run", False):
            stamps = spool.names()
            for stamp in stamps[:limit] if limit is not None else stamps:
                try:
                    print(f"{stamp}  {_describe(spool.read(stamp))}")
                except (OSError, ValueError) as exc:
                    print(f"{stamp}  unreadable ({type(exc).__name__})")
            print(f"{len(stamps)} event(s) in {spool.directory}; nothing sent (--dry-run)")
            return 0
        emitter = get_emitter()
    except ConfigError as exc:
        print(f"error: {exc}")
        return 2
    result = spool.replay(emitter.deliver_spooled, limit=limit, wait=30.0)
    if result.locked:
        print(f"another process is replaying {spool.directory} ({result.remaining} waiting); try later")
        return 1
    print(
        f"replayed {result.delivered} event(s) from {spool.directory}; {result.remaining} remaining"
        + (f"; {result.dropped} unreadable record(s) moved aside" if result.dropped else "")
        + ("; stopped at a delivery failure (see the warning above)" if result.failed else "")
    )
    return 1 if result.failed else 0

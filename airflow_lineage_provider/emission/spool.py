"""The durable outbox: events that could not be delivered, one JSON file each, replayed oldest first.

* A record is written to ``.<name>.tmp``, fsync'ed, renamed to ``<name>.json``, and the directory is
  fsync'ed: a crash or ``kill -9`` of the writer leaves either a complete record or an ignored temporary
  file, never a corrupt record, and a record counts as kept only once it survives an OS crash or power
  loss. A write that fails (disk full, an fsync error) removes its temporary file (or its record) and
  raises. A record found empty or torn all the same (a disk that lies about fsync) is moved aside
  (``.<name>.unreadable``) and counted, never delivered.
* :meth:`Spool.write_batch` stores many records with one file-system sync (``syncfs``) and one directory
  fsync instead of two fsyncs each (the emitter's queue at process exit): the same guarantees, about
  0.1-0.3 ms per record instead of 0.5-0.7 ms.
* A record whose send is still in flight (it timed out, the answer may still come) is locked
  (``flock``) by the sending process until the answer or its time is up (:meth:`Spool.hold`): replay in
  another process stops there (``ReplayResult.busy``) instead of sending it a second time.
* ``<name>`` is a stamp taken when the event was emitted (wall-clock nanoseconds, monotonic within a
  process, then pid and a sequence number), so sorting names gives emission order: a run's START is
  replayed before its COMPLETE.
* The directory is capped at ``spool_max_mb``: past it the oldest records are evicted (records moved
  aside first), counted (``lineage_provider.events.dropped``) and logged.
* Replay holds an exclusive ``flock`` on ``.replay.lock`` (one replayer at a time across processes),
  delivers oldest first, deletes each record once delivered, and stops at the first failure. A record the
  backend rejects for good (the callback raises :class:`Rejected`, e.g. on HTTP 413) is moved aside as
  ``.<name>.rejected``, counted as dropped, and replay goes on with the next one. A record that cannot be
  read right now (``EMFILE``, ``EIO`` ...) stops the replay until the next try; only a record that is not a
  JSON object (empty, torn) is moved aside. A forked child closes its copy of a held lock at once, so it
  never holds up replay for its lifetime.
* Errors that make the directory unusable (not a directory, read-only, wrong owner) are raised as
  :class:`SpoolError`, which names ``[lineage_provider] spool_dir``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import functools
import itertools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_lineage_provider.emission import metrics

log = logging.getLogger(__name__)

SUFFIX = ".json"
LOCK_NAME = ".replay.lock"
#: suffixes of records moved aside (never replayed; they count toward the cap and are evicted first)
UNREADABLE, REJECTED = ".unreadable", ".rejected"
#: temporary files older than this are leftovers of a crashed writer and are removed
_STALE_TMP_SECONDS = 3600
#: re-measure the directory after this many writes (other processes write to it too)
_RESCAN_EVERY = 256

_sequence = itertools.count()
_clock_offset = time.time_ns() - time.monotonic_ns()


def next_stamp() -> str:
    """An order key for an event emitted now: sortable across processes, strictly increasing within one."""
    return f"{_clock_offset + time.monotonic_ns():020d}-{os.getpid():08d}-{next(_sequence):010d}"


#: replay and record lock descriptors this process holds (``flock`` belongs to the open file, which a
#: fork shares)
_held_locks: set[int] = set()
_rejected_log = metrics.LogThrottle(log)
_unreadable_log = metrics.LogThrottle(log)


def _reset_after_fork() -> None:
    global _clock_offset
    _clock_offset = time.time_ns() - time.monotonic_ns()
    for fd in list(_held_locks):  # the parent's replay lock: this process must not keep it held
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_locks.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


class SpoolError(OSError):
    """The spool directory cannot be used (not a directory, read-only, wrong owner ...)."""

    def __init__(self, directory: str, what: str, exc: BaseException | None = None) -> None:
        #: what is wrong, without the directory (e.g. "is not writable", "cannot be created: ...")
        self.detail = what + (f": {_os_error(exc)}" if exc is not None else "")
        super().__init__(f"the lineage spool {directory} ([lineage_provider] spool_dir) {self.detail}")


class Rejected(Exception):
    """Raised by a replay callback when the backend rejected the event for good (e.g. HTTP 413).

    ``reason`` is log-safe; replay moves the record aside as ``.<stamp>.rejected`` and goes on.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def flush_warnings() -> None:
    """Log the count of spool warnings held back by rate limiting (at the emitter's close)."""
    _rejected_log.flush()
    _unreadable_log.flush()


def _move(source: str, target: str) -> bool:
    """Rename ``source`` to ``target``; False if ``source`` is gone."""
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return False
    return True


def _fsync(fd: int) -> None:
    """fsync ``fd``; a file system that cannot (EINVAL, ENOTSUP) is as durable as it gets."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux ``syncfs(2)``: one call makes every write to a file system durable. None where unavailable."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (ImportError, OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def _sync_file_system(syncfs: Callable[[int], int], path: str) -> None:
    """``syncfs`` the file system holding ``path``; raises OSError as fsync would."""
    import ctypes

    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        os.close(fd)


def _try_flock(fd: int, operation: int) -> bool:
    """``flock``; False where it fails (a file system without locks: nothing is held)."""
    try:
        fcntl.flock(fd, operation)
    except OSError:
        return False
    return True


def _os_error(exc: BaseException | None) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__ if exc is not None else ""


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
    #: unreadable records moved aside
    dropped: int = 0
    #: records the backend rejected for good, moved aside
    rejected: int = 0
    remaining: int = 0
    #: another process held the replay lock, nothing was attempted
    locked: bool = False
    #: replay stopped at a record whose send is still in flight in another process (not sent twice)
    busy: bool = False


class Spool:
    """One spool directory. Thread-safe for writers; replay is serialised by a cross-process lock."""

    def __init__(self, directory: str, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._approx_bytes: int | None = None
        self._writes = 0
        self._made = False
        #: records this process keeps locked while their send is in flight: stamp -> (fd, until, pid)
        self._holds: dict[str, tuple[int, float, int]] = {}
        self._holds_lock = threading.Lock()

    # --- writing -------------------------------------------------------------------------------

    def write(self, stamp: str, event: dict[str, Any], *, hold: float | None = None) -> None:
        """Store one event atomically and durably (raises OSError if the disk refuses).

        ``hold``: the event's send is still in flight; keep the record locked for at most that many
        seconds (or until :meth:`release`), so that no other process replays it meanwhile.
        """
        self._store(stamp, event, stamp + SUFFIX, hold=hold)
        metrics.incr("spooled")

    def _store(self, stamp: str, event: dict[str, Any], name: str, *, hold: float | None = None) -> None:
        if not self._made:
            os.makedirs(self.directory, exist_ok=True)
            self._made = True
        data = json.dumps(event, separators=(",", ":"), default=str).encode("utf-8")
        self._make_room(len(data))
        self._write_file(f".{stamp}.tmp", name, data, hold=(stamp, hold) if hold is not None else None)

    def write_batch(self, records: Sequence[tuple[str, dict[str, Any]]]) -> int:
        """Store many events durably with one sync; returns how many were kept, from the first on.

        For the emitter's queue at process exit: each record is written to its temporary file, then one
        ``syncfs`` makes all of them durable (or, where it is missing, each file is fsync'ed), then they are
        renamed and the directory is fsync'ed once. A record counts as kept, as with :meth:`write`, only
        once it would survive an OS crash; a crash in between leaves temporary files only (ignored, then
        removed). Never raises OSError: when the disk refuses (full, an fsync error), the records from the
        first one not kept on are left to the caller (:meth:`write` them one by one, which reports why).
        """
        if not records:
            return 0
        try:
            if not self._made:
                os.makedirs(self.directory, exist_ok=True)
                self._made = True
            blobs = [
                (stamp, json.dumps(event, separators=(",", ":"), default=str).encode("utf-8"))
                for stamp, event in records
            ]
            self._make_room(sum(len(data) for _, data in blobs), len(blobs))
        except (OSError, ValueError):
            log.debug("lineage spool batch not written", exc_info=True)
            return 0
        syncfs = _syncfs()
        written: list[str] = []  # stamps whose temporary file is complete
        try:
            for stamp, data in blobs:
                tmp = os.path.join(self.directory, f".{stamp}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    if syncfs is None:
                        _fsync(fd)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
                finally:
                    os.close(fd)
                written.append(stamp)
        except OSError:  # disk full ...: keep those written so far
            log.debug("lineage spool batch cut short", exc_info=True)
        renamed = 0
        try:
            if written and syncfs is not None:
                _sync_file_system(syncfs, os.path.join(self.directory, f".{written[0]}.tmp"))
            for stamp in written:
                os.replace(os.path.join(self.directory, f".{stamp}.tmp"), self._path(stamp))
                renamed += 1
            if written:
                self._fsync_directory()
        except BaseException as exc:  # not durable: not kept (the caller writes them one by one)
            for index, stamp in enumerate(written):
                name = self._path(stamp) if index < renamed else os.path.join(self.directory, f".{stamp}.tmp")
                with contextlib.suppress(OSError):
                    os.unlink(name)
            if not isinstance(exc, OSError):
                raise
            log.debug("lineage spool batch not made durable", exc_info=True)
            return 0
        if written:
            metrics.incr("spooled", len(written))
        return len(written)

    def _write_file(
        self, tmp_name: str, name: str, data: bytes, *, hold: tuple[str, float] | None = None
    ) -> None:
        """Write ``data`` to ``tmp_name``, fsync it, rename it to ``name`` and fsync the directory.

        ``hold``: (stamp, seconds) to keep the record locked, taken before the rename so that no
        replayer ever sees the record unlocked.
        """
        tmp = os.path.join(self.directory, tmp_name)
        final = os.path.join(self.directory, name)
        hold_stamp, hold_seconds = hold if hold is not None else ("", 0.0)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        renamed = held = False
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                _fsync(fd)
                if hold is not None:
                    held = _try_flock(fd, fcntl.LOCK_EX)
                os.replace(tmp, final)
                renamed = True
            finally:
                if held and renamed:
                    self._keep_hold(hold_stamp, fd, hold_seconds)
                else:
                    os.close(fd)
            self._fsync_directory()
        except BaseException:  # disk full: a partial temporary file must not stay (the cap ignores it)
            with contextlib.suppress(OSError):
                os.unlink(final if renamed else tmp)  # not durable: not kept (the caller says so)
            if held and renamed:
                self.release(hold_stamp)
            raise

    def _fsync_directory(self) -> None:
        """Make the renames in the directory durable (a record that vanishes at a power loss is lost)."""
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except PermissionError:  # a directory this user may write but not read: as durable as it gets
            return
        try:
            _fsync(fd)
        finally:
            os.close(fd)

    # --- records whose send is still in flight ---------------------------------------------------

    def _keep_hold(self, stamp: str, fd: int, seconds: float) -> None:
        with self._holds_lock:
            previous = self._holds.pop(stamp, None)
            self._holds[stamp] = (fd, time.monotonic() + seconds, os.getpid())
            _held_locks.add(fd)
        if previous is not None:
            self._close_hold(previous)

    def hold(self, stamp: str, seconds: float) -> bool:
        """Lock the record of ``stamp`` (its send is still in flight) for at most ``seconds``.

        Other processes' replay stops at a locked record (keeping order) until :meth:`release` or the
        time is up. False when the record is gone or cannot be locked.
        """
        if stamp in self._holds:
            return True
        try:
            fd = os.open(self._path(stamp), os.O_RDONLY)
        except OSError:
            return False
        if not _try_flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB):
            os.close(fd)
            return False
        self._keep_hold(stamp, fd, seconds)
        return True

    def release(self, stamp: str) -> None:
        """Unlock the record of ``stamp`` (its send ended; call after :meth:`discard` if delivered)."""
        with self._holds_lock:
            entry = self._holds.pop(stamp, None)
        if entry is not None:
            self._close_hold(entry)

    def release_expired(self, *, everything: bool = False) -> None:
        """Unlock the records held past their time (all of them with ``everything``)."""
        if not self._holds:
            return
        now = time.monotonic()
        with self._holds_lock:
            expired = [s for s, (_, until, _) in self._holds.items() if everything or until <= now]
            entries = [self._holds.pop(s) for s in expired]
        for entry in entries:
            self._close_hold(entry)

    @staticmethod
    def _close_hold(entry: tuple[int, float, int]) -> None:
        fd, _, pid = entry
        if pid == os.getpid():  # a forked child closed its copies already (the numbers may be reused)
            _held_locks.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    def _sent_elsewhere(self, stamp: str, until: float) -> bool | None:
        """True while another process holds the record of ``stamp`` (its send is in flight), waiting until
        ``until`` (monotonic) for it to end; None when the record is gone (that send delivered it)."""
        if stamp in self._holds:
            return False  # this process's own send: the caller (the emitter) waits for its answer
        try:
            fd = os.open(self._path(stamp), os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError:
            return False  # the read that follows reports it
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        return False  # no locks on this file system: cannot tell, replay as before
                    if time.monotonic() >= until:
                        return True
                    time.sleep(0.05)
                    continue
                return None if os.fstat(fd).st_nlink == 0 else False
        finally:
            os.close(fd)

    def discard(self, stamp: str) -> None:
        """Forget one record (already delivered); a missing record is fine."""
        with contextlib.suppress(FileNotFoundError):
            size = os.path.getsize(self._path(stamp))
            os.unlink(self._path(stamp))
            if self._approx_bytes is not None:
                self._approx_bytes = max(0, self._approx_bytes - size)

    def has(self, stamp: str) -> bool:
        """True while the record of ``stamp`` is in the spool."""
        return os.path.exists(self._path(stamp))

    def reject(self, stamp: str, reason: str, event: dict[str, Any] | None = None) -> None:
        """Keep an event the backend rejected for good as ``.<stamp>.rejected``, never replayed.

        ``event``: store it (it was never spooled); None: move its record aside. Counted as dropped and
        logged with ``reason`` (log-safe, e.g. the HTTP status).
        """
        aside = f".{stamp}{REJECTED}"
        try:
            if event is not None:
                self._store(stamp, event, aside)
            elif not _move(self._path(stamp), os.path.join(self.directory, aside)):
                return  # delivered meanwhile (a late answer) or evicted
            kept = f"kept as {aside} in the spool {self.directory}"
        except OSError as exc:
            kept = (
                f"not kept: the spool {self.directory} ([lineage_provider] spool_dir) refused it "
                f"({_os_error(exc)})"
            )
        metrics.incr("dropped")
        _rejected_log.warning(
            "lineage event rejected by the backend (%s); it is not retried, %s", reason, kept
        )

    def _path(self, stamp: str) -> str:
        return os.path.join(self.directory, stamp + SUFFIX)

    def _make_room(self, incoming: int, records: int = 1) -> None:
        writes, self._writes = self._writes, self._writes + records
        if self._approx_bytes is None or writes // _RESCAN_EVERY != self._writes // _RESCAN_EVERY:
            self._approx_bytes = sum(size for _, size in self._entries(aside=True))
        if self._approx_bytes + incoming <= self.max_bytes:
            self._approx_bytes += incoming
            return
        entries = self._entries(aside=True)  # records moved aside sort first ("."), so go first
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
                self.directory,
                self.max_bytes,
                evicted,
                evicted_bytes,
            )

    # --- reading -------------------------------------------------------------------------------

    def _scan(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.directory) as entries:
                yield from entries
        except FileNotFoundError:
            return

    def _entries(self, *, aside: bool = False) -> list[tuple[str, int]]:
        """(name, size) of every record, oldest first; removes stale temporary files on the way.

        ``aside``: also the records moved aside (unreadable, rejected), for the cap.
        """
        found = []
        now = time.time()
        for entry in self._scan():
            name = entry.name
            try:
                if name.endswith(SUFFIX) and not name.startswith("."):
                    if entry.is_file():  # not a directory or a FIFO someone left there
                        found.append((name, entry.stat().st_size))
                elif aside and name.endswith((UNREADABLE, REJECTED)):
                    found.append((name, entry.stat().st_size))
                elif name.endswith(".tmp") and now - entry.stat().st_mtime > _STALE_TMP_SECONDS:
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

    def check(self) -> None:
        """Raise :class:`SpoolError` unless events can be written to and replayed from the directory."""
        probe = os.path.join(self.directory, f".probe-{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            os.makedirs(self.directory, exist_ok=True)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"{}")
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise SpoolError(self.directory, "cannot be written", exc) from None
        os.close(self._open_lock())

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

    def _open_lock(self) -> int:
        """A descriptor of ``.replay.lock`` to ``flock``.

        The file is created readable and writable by all (less the umask): a lock file one user created
        must not lock another out. A lock file that cannot be opened for writing is opened read-only
        (``flock`` works on either).
        """
        path = os.path.join(self.directory, LOCK_NAME)
        try:
            try:
                return os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise
                return os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise SpoolError(self.directory, "cannot be locked for replay", exc) from None

    @contextlib.contextmanager
    def _replay_lock(self, wait: float) -> Iterator[bool]:
        """Hold the replay lock (yields True), or yield False when another process holds it.

        Raises :class:`SpoolError` when the directory cannot be used, before anything is delivered: a
        record that cannot be removed once delivered would be delivered again and again.
        """
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as exc:
            raise SpoolError(self.directory, "cannot be created", exc) from None
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise SpoolError(self.directory, "is not writable")
        fd = self._open_lock()
        _held_locks.add(fd)
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
            _held_locks.discard(fd)
            os.close(fd)  # releases the lock

    def replay(
        self,
        deliver: Callable[[dict[str, Any], str], bool],
        *,
        limit: int | None = None,
        wait: float = 0.0,
        max_seconds: float | None = None,
    ) -> ReplayResult:
        """Deliver stored events oldest first with ``deliver(event, stamp) -> bool``; stop at a failure.

        ``deliver`` may raise :class:`Rejected`: that record is moved aside and replay goes on.
        ``wait``: seconds to wait for another process's replay to finish, and for a send of a record
        another process still has in flight (see :meth:`hold`) to end (0: give up at once; then
        ``busy`` says replay stopped there).
        ``max_seconds``: stop (``remaining`` > 0, nothing failed) after this long, even though records
        are left: while other processes keep spooling, replay could otherwise go on for good.
        Raises :class:`SpoolError` when the directory cannot be used.
        """
        result = ReplayResult()
        until = None if max_seconds is None else time.monotonic() + max_seconds
        with self._replay_lock(wait) as acquired:
            if not acquired:
                result.locked = True
                result.remaining = len(self._entries())
                return result
            while limit is None or result.delivered < limit:
                stamps = self.names()
                result.remaining = len(stamps)
                if not stamps:
                    break
                progressed = False
                for stamp in stamps:
                    if limit is not None and result.delivered >= limit:
                        break
                    if until is not None and time.monotonic() >= until:
                        progressed = False  # out of time: stop here
                        break
                    elsewhere = self._sent_elsewhere(stamp, time.monotonic() + wait)
                    if elsewhere is None:  # delivered by the send that held it
                        continue
                    if elsewhere:  # its answer is still due: neither send it twice nor overtake it
                        result.busy = True
                        break
                    try:
                        event = self.read(stamp)
                    except FileNotFoundError:
                        continue
                    except ValueError as exc:  # empty, torn, not JSON: it can never be delivered
                        self._quarantine(stamp, exc)
                        result.dropped += 1
                        continue
                    except OSError as exc:  # EMFILE, EIO, EACCES ...: the record may well be fine
                        _unreadable_log.warning(
                            "lineage spool record %s cannot be read now (%s); replay will try again later",
                            self._path(stamp),
                            _os_error(exc),
                        )
                        result.failed += 1
                        break
                    try:
                        delivered = deliver(event, stamp)
                    except Rejected as exc:
                        self.reject(stamp, exc.reason)
                        result.rejected += 1
                        progressed = True
                        continue
                    if not delivered:
                        result.failed += 1
                        break
                    try:
                        self.discard(stamp)
                    except OSError as exc:
                        raise SpoolError(self.directory, "cannot remove a delivered record", exc) from None
                    metrics.incr("replayed")
                    result.delivered += 1
                    progressed = True
                if result.failed or result.busy or not progressed:
                    break
            with contextlib.suppress(OSError):  # e.g. out of descriptors: the last listing's count stays
                result.remaining = len(self._entries())
        return result

    def _quarantine(self, stamp: str, exc: BaseException) -> None:
        with contextlib.suppress(OSError):
            os.replace(self._path(stamp), os.path.join(self.directory, f".{stamp}{UNREADABLE}"))
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
        from airflow_lineage_provider.emission import transport

        if not transport.resolve().is_default and transport.openlineage_disabled():
            print(
                f"error: nothing replayed from {spool.directory}: {transport.OPENLINEAGE_DISABLED_NOTE}; "
                "the spooled events stay on disk until then"
            )
            return 1
        emitter = get_emitter()
    except ConfigError as exc:
        print(f"error: {exc}")
        return 2
    try:
        result = spool.replay(emitter.deliver_spooled, limit=limit, wait=30.0)
    except SpoolError as exc:
        print(f"error: {exc}")
        return 1
    if result.locked:
        print(f"another process is replaying {spool.directory} ({result.remaining} waiting); try later")
        return 1
    wait = getattr(emitter, "backend_wait", 0.0)
    if result.failed and wait > 0:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + wait))
        print(
            f"replayed {result.delivered} event(s) from {spool.directory}; {result.remaining} remaining, "
            f"kept in order; paused: the backend asked to wait {wait:.0f}s (Retry-After); run "
            f"`airflow-lineage replay` again after {when} UTC"
        )
        return 1
    if result.busy:
        print(
            f"replayed {result.delivered} event(s) from {spool.directory}; {result.remaining} remaining; "
            "stopped at an event another process is still sending (not sent twice); try again shortly"
        )
        return 1
    print(
        f"replayed {result.delivered} event(s) from {spool.directory}; {result.remaining} remaining"
        + (f"; {result.dropped} unreadable record(s) moved aside" if result.dropped else "")
        + (f"; {result.rejected} event(s) rejected by the backend, moved aside" if result.rejected else "")
        + ("; stopped at a delivery failure (see the warning above)" if result.failed else "")
    )
    return 1 if result.failed else 0

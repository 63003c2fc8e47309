"""The embedded default transport: a size-bounded JSON-lines file (see :mod:`emission.transport`).

Kept apart from :mod:`emission.transport` because it subclasses openlineage-python's ``Transport``, and
importing openlineage.client costs a fresh task process up to a second: only the sender thread that builds
the transport imports this module.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

import attrs
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from airflow_lineage_provider.exceptions import ConfigError


@attrs.define
class RotatingFileConfig(Config):
    log_file_path: str
    max_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> RotatingFileConfig:
        path = params.get("log_file_path")
        if not path:
            msg = "the rotating file transport needs 'log_file_path'"
            raise ConfigError(msg)
        return cls(log_file_path=str(path), max_bytes=int(params.get("max_bytes") or 64 * 1024 * 1024))


class RotatingFileTransport(Transport):
    """Appends one JSON line per event; past ``max_bytes`` the file is rotated once to ``<file>.1``.

    Safe for many processes writing the same file: each append (and rotation) holds an ``flock`` on
    ``<file>.lock``, so lines never interleave and a rotation never loses a line.
    """

    kind = "lineage_provider_rotating_file"
    config_class = RotatingFileConfig

    def __init__(self, config: RotatingFileConfig) -> None:
        self.config = config
        self.path = config.log_file_path

    def emit(self, event: Any) -> None:
        line = (Serde.to_json(event) + "\n").encode("utf-8")
        lock_fd = os.open(self.path + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                size = os.path.getsize(self.path)
            except FileNotFoundError:
                size = 0
            if size and size + len(line) > self.config.max_bytes:
                os.replace(self.path, self.path + ".1")
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        finally:
            os.close(lock_fd)  # closing the descriptor releases the lock

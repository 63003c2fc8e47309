"""The rotating JSON-lines file as an openlineage-python transport class (a ``type`` one can configure).

The embedded default does not need it: :func:`emission.transport.build` uses
:class:`~airflow_lineage_provider.emission.direct.RotatingFileWriter` directly, without importing
openlineage-python. Kept apart because subclassing ``Transport`` imports ``openlineage.client``.
"""

from __future__ import annotations

from typing import Any

import attrs
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from airflow_lineage_provider.emission.direct import RotatingFileWriter
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
    """:class:`~airflow_lineage_provider.emission.direct.RotatingFileWriter` as an openlineage-python
    transport, for configurations that name it as a ``type`` (the embedded default uses the writer)."""

    kind = "lineage_provider_rotating_file"
    config_class = RotatingFileConfig

    def __init__(self, config: RotatingFileConfig) -> None:
        self.config = config
        self.path = config.log_file_path
        self._writer = RotatingFileWriter(config.log_file_path, config.max_bytes)

    def emit(self, event: Any) -> None:
        self._writer.emit(event if isinstance(event, dict) else Serde.to_dict(event))

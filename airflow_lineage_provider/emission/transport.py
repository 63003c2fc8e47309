"""Which transport events go to, and building it so one send can never hold the sender for long.

Precedence: ``[lineage_provider] transport`` (JSON) > ``[lineage_provider] config_path`` (an openlineage.yml)
> the environment (``OPENLINEAGE_CONFIG`` file, ``OPENLINEAGE__TRANSPORT__*`` variables, ``OPENLINEAGE_URL``)
> the embedded default: a size-bounded JSON-lines file ``$AIRFLOW_HOME/lineage/events.jsonl`` rotated once
to ``events.jsonl.1`` when it would grow past ``default_file_max_mb``.

``resolve()`` says where the configuration came from (``TransportSpec.is_default`` is True for the embedded
default); ``build(spec)`` creates the openlineage-python transport with HTTP timeouts capped at
``send_timeout`` and without in-transport retries (undelivered events go to the spool instead).
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
from dataclasses import dataclass, field
from typing import Any

import attrs
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport

from airflow_lineage_provider import conf
from airflow_lineage_provider.emission import redaction
from airflow_lineage_provider.exceptions import ConfigError

DEFAULT_SOURCE = "embedded default"
#: ``type`` of the embedded default transport (a dotted path, so no registry is touched)
ROTATING_FILE_TYPE = f"{__name__}.RotatingFileTransport"
#: retries inside the HTTP transport: none, the spool retries (and a retry loop would hold the sender)
#: HTTP transport timeout as a multiple of send_timeout (see _harden)
HTTP_TIMEOUT_FACTOR = 2.0
_NO_RETRY = {"total": 0, "connect": 0, "read": 0, "redirect": 0, "status": 0}


@dataclass(frozen=True)
class TransportSpec:
    """A transport configuration and where it came from."""

    config: dict[str, Any]
    source: str
    secrets: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def is_default(self) -> bool:
        """True when no transport is configured and events go to the embedded default file."""
        return self.source == DEFAULT_SOURCE

    def masked(self) -> dict[str, Any]:
        """The configuration with every secret replaced by ``***`` (safe to print or log)."""
        return redaction.mask_config(self.config)


def _yaml_transport(path: str, option: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            content = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        msg = f"{option}: cannot read {path!r} as YAML ({redaction.safe_error(exc)}); fix the file or path"
        raise ConfigError(msg) from None
    transport = content.get("transport") if isinstance(content, dict) else None
    if transport is None:
        msg = f"{option}: {path!r} has no top-level 'transport' key (e.g. transport: {{type: http, url: ..}})"
        raise ConfigError(msg)
    return conf.validate_transport(transport, option)


def _env_transport() -> tuple[dict[str, Any], str] | None:
    path = os.environ.get("OPENLINEAGE_CONFIG")
    if path:
        if not os.path.isfile(path):
            msg = f"OPENLINEAGE_CONFIG points to {path!r}, which is not a readable file"
            raise ConfigError(msg)
        return _yaml_transport(path, "OPENLINEAGE_CONFIG"), f"OPENLINEAGE_CONFIG ({path})"
    prefix = "OPENLINEAGE__TRANSPORT__"
    nested: dict[str, Any] = {}
    for name in sorted(k for k in os.environ if k.startswith(prefix)):
        raw = os.environ[name]
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        keys = name[len(prefix):].lower().split("__")
        target = nested
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    if nested:
        source = "OPENLINEAGE__TRANSPORT__*"
        return conf.validate_transport(nested, f"{source} environment variables"), source
    url = os.environ.get("OPENLINEAGE_URL")
    if url:
        config: dict[str, Any] = {
            "type": "http",
            "url": url,
            "endpoint": os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage"),
        }
        if api_key := os.environ.get("OPENLINEAGE_API_KEY"):
            config["auth"] = {"type": "api_key", "apiKey": api_key}
        return config, "OPENLINEAGE_URL"
    return None


def default_config() -> dict[str, Any]:
    """The embedded default: a rotated JSON-lines file under ``$AIRFLOW_HOME/lineage``."""
    return {
        "type": ROTATING_FILE_TYPE,
        "log_file_path": os.path.join(conf.lineage_dir(), "events.jsonl"),
        "max_bytes": conf.default_file_max_bytes(),
    }


def resolve() -> TransportSpec:
    """The effective transport configuration, by the documented precedence. Raises only ConfigError."""
    config = conf.transport()
    source = "[lineage_provider] transport"
    if config is None and conf.config_path():
        config = _yaml_transport(conf.config_path(), "[lineage_provider] config_path")
        source = f"[lineage_provider] config_path ({conf.config_path()})"
    if config is None:
        found = _env_transport()
        if found:
            config, source = found
    if config is None:
        config, source = default_config(), DEFAULT_SOURCE
    return TransportSpec(config=config, source=source, secrets=redaction.config_secrets(config))


def _harden(config: dict[str, Any], send_timeout: float) -> dict[str, Any]:
    """Bound HTTP timeouts and switch off in-transport retries (recursively).

    The sender gives up on a send after ``send_timeout`` and spools the event; the HTTP timeout is
    ``HTTP_TIMEOUT_FACTOR`` times that (or the configured timeout if smaller), so an answer arriving a little
    late is still seen, and then the spooled copy is removed instead of being delivered twice.
    """
    kind = config.get("type")
    limit = send_timeout * HTTP_TIMEOUT_FACTOR
    if kind == "http":
        config["timeout"] = min(float(config.get("timeout") or limit), limit)
        config["retry"] = {**_NO_RETRY, **(config.get("retry") or {}), **_NO_RETRY}
    elif kind == "async_http":
        config["timeout"] = min(float(config.get("timeout") or limit), limit)
    elif kind == "composite":
        members = config.get("transports")
        values = members.values() if isinstance(members, dict) else members or []
        for member in values:
            if isinstance(member, dict):
                _harden(member, send_timeout)
    elif kind == "transform" and isinstance(config.get("transport"), dict):
        _harden(config["transport"], send_timeout)
    return config


def build(spec: TransportSpec, *, send_timeout: float | None = None) -> Transport:
    """Create the openlineage-python transport for ``spec``. Raises only ConfigError."""
    from openlineage.client.transport import get_default_factory

    redaction.register_secrets(spec.secrets)
    timeout = conf.send_timeout() if send_timeout is None else send_timeout
    config = _harden(copy.deepcopy(spec.config), timeout)
    if spec.is_default:
        os.makedirs(os.path.dirname(config["log_file_path"]), exist_ok=True)
    try:
        return get_default_factory().create(config)
    except ConfigError:
        raise
    except Exception as exc:
        msg = f"cannot build the lineage transport from {spec.source}: {redaction.safe_error(exc)}"
        raise ConfigError(msg) from None


# --- the embedded default transport --------------------------------------------------------------


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

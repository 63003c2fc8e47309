"""Which transport events go to, and building it so one send can never hold the sender for long.

Precedence: ``[lineage_provider] transport`` (JSON) > ``[lineage_provider] config_path`` (an openlineage.yml)
> the environment (``OPENLINEAGE_CONFIG`` file, ``OPENLINEAGE__TRANSPORT__*`` variables, ``OPENLINEAGE_URL``)
> the embedded default: a size-bounded JSON-lines file ``$AIRFLOW_HOME/lineage/events.jsonl`` rotated once
to ``events.jsonl.1`` when it would grow past ``default_file_max_mb``.

``resolve()`` says where the configuration came from (``TransportSpec.is_default`` is True for the embedded
default); ``build(spec)`` creates the transport with HTTP timeouts capped at twice ``send_timeout``
(``HTTP_TIMEOUT_FACTOR``), each HTTP
request bounded by that timeout in total (not only per read: a trickled answer cannot hold a send), and
without in-transport retries (undelivered events go to the spool instead): the embedded default and plain
``http`` configurations and a local append-mode ``file`` by :mod:`emission.direct` (no openlineage-python
import), the rest by openlineage-python;
``build_lazy(spec)`` returns a :class:`LazyTransport` that does so on first use, in the sender's thread.
This module imports no openlineage-python at load time: ``resolve()`` runs on a task's thread.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_lineage_provider import conf
from airflow_lineage_provider._openlineage import ensure_imported
from airflow_lineage_provider.emission import redaction
from airflow_lineage_provider.exceptions import ConfigError


class Transport(Protocol):
    """What the emitter needs of a transport (openlineage-python's transports and :mod:`emission.direct`)."""

    def emit(self, event: Any) -> Any: ...

    def close(self, timeout: float = -1) -> bool: ...


log = logging.getLogger(__name__)

DEFAULT_SOURCE = "embedded default"
#: ``type`` of the embedded default transport (a dotted path, so no registry is touched)
ROTATING_FILE_TYPE = "airflow_lineage_provider.emission.rotating_file.RotatingFileTransport"
#: HTTP transport timeout as a multiple of send_timeout (see _harden)
HTTP_TIMEOUT_FACTOR = 2.0
#: retries inside the HTTP transport: none, the spool retries (and a retry loop would hold the sender).
#: No status is "forced" either: a 5xx answer then raises ``requests.HTTPError`` with the answer (its status
#: and ``Retry-After``, which the emitter honours) instead of a ``RetryError`` without it
_NO_RETRY: dict[str, Any] = {
    "total": 0, "connect": 0, "read": 0, "redirect": 0, "status": 0, "status_forcelist": [],
}  # fmt: skip


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

    def __repr__(self) -> str:  # never the api key or the URL's password
        return f"TransportSpec(config={self.masked()!r}, source={self.source!r})"


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
        keys = name[len(prefix) :].lower().split("__")
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
        return conf.validate_transport(config, "OPENLINEAGE_URL"), "OPENLINEAGE_URL"
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


def _timeout(config: dict[str, Any], limit: float) -> float:
    """The HTTP ``timeout`` capped at ``limit``; ConfigError when it is not a number of seconds > 0."""
    value = config.get("timeout") or limit
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds <= 0:
        msg = f'the http transport\'s "timeout" must be a number of seconds > 0, got {value!r}'
        raise ConfigError(msg)
    return min(seconds, limit)


def _harden(config: dict[str, Any], send_timeout: float) -> dict[str, Any]:
    """Bound HTTP timeouts and switch off in-transport retries (recursively).

    The sender gives up on a send after ``send_timeout`` and spools the event; the HTTP timeout is
    ``HTTP_TIMEOUT_FACTOR`` times that (or the configured timeout if smaller), so an answer arriving a little
    late is still seen, and then the spooled copy is removed instead of being delivered twice.
    """
    kind = config.get("type")
    limit = send_timeout * HTTP_TIMEOUT_FACTOR
    if kind == "http":
        config["timeout"] = _timeout(config, limit)
        config["retry"] = {**_NO_RETRY, **(config.get("retry") or {}), **_NO_RETRY}
    elif kind == "async_http":
        config["timeout"] = _timeout(config, limit)
    elif kind == "composite":
        members = config.get("transports")
        values = members.values() if isinstance(members, dict) else members or []
        for member in values:
            if isinstance(member, dict):
                _harden(member, send_timeout)
    elif kind == "transform" and isinstance(config.get("transport"), dict):
        _harden(config["transport"], send_timeout)
    return config


#: what openlineage-python does with ``OPENLINEAGE_DISABLED=true``, and what to do about it (log and doctor)
OPENLINEAGE_DISABLED_NOTE = (
    "OPENLINEAGE_DISABLED=true is set, so openlineage-python builds its no-op transport and every event of "
    "this provider is discarded (only the embedded default file ignores the variable); to switch off "
    "apache-airflow-providers-openlineage alone, unset OPENLINEAGE_DISABLED and set [openlineage] disabled "
    "= True; to switch this provider off, set [lineage_provider] disabled = True"
)
_warned_disabled = False


def openlineage_disabled() -> bool:
    """``OPENLINEAGE_DISABLED=true``: openlineage-python's own switch, read in this process too."""
    return os.getenv("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


def mark_disabled_warned() -> None:
    """The OPENLINEAGE_DISABLED note was shown another way (doctor): no warning line for it."""
    global _warned_disabled
    _warned_disabled = True


def _warn_disabled_once() -> None:
    global _warned_disabled
    if not _warned_disabled:
        _warned_disabled = True
        log.warning("lineage: %s", OPENLINEAGE_DISABLED_NOTE)


def build(spec: TransportSpec, *, send_timeout: float | None = None) -> Transport:
    """Create the transport for ``spec``. Raises only ConfigError.

    The embedded default, a plain ``http`` configuration and a local ``file`` in append mode are served by
    :mod:`emission.direct` without importing openlineage-python; everything else by openlineage-python's
    transport factory.
    """
    redaction.register_secrets(spec.secrets)
    timeout = conf.send_timeout() if send_timeout is None else send_timeout
    try:
        config = _harden(copy.deepcopy(spec.config), timeout)
    except ConfigError as exc:
        msg = f"cannot build the lineage transport from {spec.source}: {exc}"
        raise ConfigError(msg) from None
    from airflow_lineage_provider.emission import direct

    _make_file_directory(config, spec.source)
    if spec.is_default:
        return direct.RotatingFileWriter(config["log_file_path"], int(config["max_bytes"]))
    if openlineage_disabled():  # openlineage-python's no-op transport: say so once per process
        _warn_disabled_once()
    else:
        http = direct.direct_http_config(config)
        if http is not None:
            return direct.DirectHttpTransport(http)
        path = direct.direct_file_path(config)
        if path is not None:
            return direct.RotatingFileWriter(path, max_bytes=None)
    ensure_imported()
    from openlineage.client.transport import get_default_factory

    try:
        built = get_default_factory().create(config)
    except ConfigError:
        raise
    except Exception as exc:
        msg = f"cannot build the lineage transport from {spec.source}: {redaction.safe_error(exc)}"
        raise ConfigError(msg) from None
    try:
        _key_kafka_messages(built)
    except Exception as exc:  # openlineage-python's internals moved: keep the transport, unkeyed messages
        log.warning(
            "lineage transport: kafka messages cannot be keyed by run (%s); set messageKey to keep a DAG "
            "run's events in one partition",
            redaction.safe_error(exc),
        )
    try:
        _bound_http_requests(built)
    except Exception as exc:  # openlineage-python's internals moved: keep the transport, per-read timeouts
        log.warning(
            "lineage transport: each HTTP request cannot be bounded in total (%s); reads keep their own "
            "timeout",
            redaction.safe_error(exc),
        )
    return built


def _bound_http_requests(built: Any) -> None:
    """Every openlineage-python ``HttpTransport`` in ``built`` (composite members and transformed transports
    too): each request ends by its ``timeout`` in total, as with :mod:`emission.direct` (a trickled answer
    cannot hold the send worker)."""
    from openlineage.client.transport.http import HttpTransport

    from airflow_lineage_provider.emission import direct

    for member in _members(built):
        if isinstance(member, HttpTransport):
            direct.bound_requests_transport(member)


def _members(built: Any) -> list[Any]:
    """``built`` and, for composite and transform transports, the transports inside it (recursively)."""
    kind = getattr(built, "kind", None)
    if kind == "composite":
        return [built, *(m for member in getattr(built, "transports", None) or [] for m in _members(member))]
    if kind == "transform":
        inner = getattr(built, "transport", None)
        return [built, *(_members(inner) if inner is not None else [])]
    return [built]


def _key_kafka_messages(built: Any) -> None:
    """Every openlineage-python ``KafkaTransport`` in ``built`` keys its messages by run, from the events as
    this provider hands them over (JSON objects: openlineage-python keys only its own event classes, and
    an unkeyed message lands in any partition, out of order with the rest of its DAG run)."""
    members = [m for m in _members(built) if type(m).__name__ in ("KafkaTransport", "MSKIAMTransport")]
    if not members:
        return
    from openlineage.client.transport.kafka import KafkaTransport

    for member in members:
        if isinstance(member, KafkaTransport):
            fallback = member._get_message_key
            member._get_message_key = functools.partial(kafka_message_key, fallback=fallback)  # type: ignore[method-assign]


def kafka_message_key(event: Any, fallback: Any = None) -> str | None:
    """``run:<namespace>/<job>`` of the event's root job (else its parent's, else its own job): every event
    of a DAG run, and of the jobs its tasks start, goes to one partition, in order. Events that are not
    JSON objects are keyed by ``fallback`` (openlineage-python's own rule for its event classes)."""
    if not isinstance(event, Mapping):
        return fallback(event) if fallback is not None else None
    job = event.get("job") if isinstance(event.get("job"), Mapping) else None
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent")
    for candidate in (
        (parent or {}).get("root", {}).get("job") if isinstance(parent, Mapping) else None,
        parent.get("job") if isinstance(parent, Mapping) else None,
        job,
    ):
        if isinstance(candidate, Mapping) and candidate.get("namespace") and candidate.get("name"):
            return f"run:{candidate['namespace']}/{candidate['name']}"
    if isinstance(event.get("dataset"), Mapping):
        return f"dataset:{event['dataset'].get('namespace')}/{event['dataset'].get('name')}"
    return None


def _make_file_directory(config: dict[str, Any], source: str) -> None:
    """Create the directory of a local ``file`` transport's (or the embedded default's) ``log_file_path``,
    as logging handlers do.

    A missing directory would otherwise fail every send; one that cannot be created is a ConfigError
    naming the path, so the events stay in the spool and the log says what to fix.
    """
    path = config.get("log_file_path")
    if config.get("type") not in ("file", ROTATING_FILE_TYPE) or not isinstance(path, str):
        return
    if not path or "://" in path:
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        msg = (
            f"cannot build the lineage transport from {source}: cannot create the directory {directory!r} "
            f"of the file transport's log_file_path ({exc.strerror or exc}); create it, make it "
            "writable for the Airflow user or change log_file_path"
        )
        raise ConfigError(msg) from None


class LazyTransport:
    """The transport of ``spec``, built by :func:`build` on first use.

    The emitter is created on a task's thread, but only its send thread calls ``emit``, so building here
    keeps openlineage-python's import (up to a second in a fresh task process) off the task's thread.
    A build error is raised again by every ``emit`` (the emitter spools those events and logs why).
    """

    def __init__(self, spec: TransportSpec, send_timeout: float | None = None) -> None:
        self.spec = spec
        self.send_timeout = send_timeout
        self._lock = threading.Lock()
        self._transport: Transport | None = None
        self._error: ConfigError | None = None
        redaction.register_secrets(spec.secrets)  # at once: no log line may show them, built or not

    def get(self) -> Transport:
        """The built transport (building it now if needed). Raises only ConfigError."""
        with self._lock:
            if self._transport is None:
                if self._error is not None:
                    raise self._error
                try:
                    self._transport = build(self.spec, send_timeout=self.send_timeout)
                except ConfigError as exc:
                    log.error("lineage events are kept in the spool until this is fixed: %s", exc)
                    self._error = exc
                    raise
            return self._transport

    def emit(self, event: Any) -> Any:
        return self.get().emit(event)

    def close(self, timeout: float = -1) -> bool:
        """Close the transport if it was ever built."""
        transport = self._transport
        return True if transport is None else bool(transport.close(timeout))

    def __getattr__(self, name: str) -> Any:  # anything else a caller reads from the real transport
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get(), name)


def build_lazy(spec: TransportSpec, *, send_timeout: float | None = None) -> LazyTransport:
    """A transport for ``spec`` that is built on first use (see :class:`LazyTransport`)."""
    return LazyTransport(spec, send_timeout)


def __getattr__(name: str) -> Any:
    """``RotatingFileTransport`` / ``RotatingFileConfig`` live in :mod:`emission.rotating_file` (lazily)."""
    if name in ("RotatingFileTransport", "RotatingFileConfig"):
        from airflow_lineage_provider.emission import rotating_file

        return getattr(rotating_file, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

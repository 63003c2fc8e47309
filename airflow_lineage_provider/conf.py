"""One small, validated accessor per ``[lineage_provider]`` option.

Values are read from Airflow's configuration (airflow.cfg, then ``AIRFLOW__LINEAGE_PROVIDER__<OPTION>``
environment variables, as Airflow resolves them) on first use and cached; ``clear_cache()`` forgets them
(tests, ``airflow-lineage doctor``). A bad value raises :class:`ConfigError` naming the option and the fix.
Every option is declared in ``get_provider_info.OPTIONS``; a test keeps the two in step.
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from airflow_lineage_provider.exceptions import ConfigError
from airflow_lineage_provider.get_provider_info import OPTIONS, SECTION

_T = TypeVar("_T")
_ACCESSORS: list[Any] = []

#: transport ``type`` values openlineage-python ships; a dotted path to a custom Transport is accepted too.
KNOWN_TRANSPORTS = frozenset(
    {
        "http",
        "async_http",
        "file",
        "console",
        "kafka",
        "msk-iam",
        "composite",
        "transform",
        "noop",
        "datadog",
        "gcplineage",
        "amazon_datazone_api",
    }
)


def _cached(fn: Callable[[], _T]) -> Callable[[], _T]:
    wrapped = functools.cache(fn)
    _ACCESSORS.append(wrapped)
    return wrapped


def clear_cache() -> None:
    """Forget every cached option value (they are re-read on next use)."""
    for accessor in _ACCESSORS:
        accessor.cache_clear()


def _raw(option: str) -> str:
    default = OPTIONS[option]["default"] or ""
    try:
        from airflow.configuration import conf as airflow_conf

        value = airflow_conf.get(SECTION, option, fallback=default)
    except Exception:  # Airflow config unavailable (e.g. a bare CLI): fall back to the environment
        value = os.environ.get(f"AIRFLOW__{SECTION.upper()}__{option.upper()}", default)
    return "" if value is None else str(value).strip()


def _where(option: str) -> str:
    env = f"AIRFLOW__{SECTION.upper()}__{option.upper()}"
    if OPTIONS[option].get("sensitive"):  # Airflow reads these from a command or a secrets backend too
        return f"[{SECTION}] {option} (env {env}, or {option}_cmd / {option}_secret)"
    return f"[{SECTION}] {option} (env {env})"


def _bool(option: str) -> bool:
    raw = _raw(option).lower() or str(OPTIONS[option]["default"]).lower()
    if raw in ("true", "1", "yes", "on", "t", "y"):
        return True
    if raw in ("false", "0", "no", "off", "f", "n"):
        return False
    msg = f"{_where(option)} must be true or false, got {raw!r}"
    raise ConfigError(msg)


def _number(option: str, kind: type[int] | type[float], *, minimum: float = 0) -> Any:
    raw = _raw(option) or str(OPTIONS[option]["default"])
    try:
        value = kind(raw)
    except ValueError:
        msg = f"{_where(option)} must be a{'n integer' if kind is int else ' number'}, got {raw!r}"
        raise ConfigError(msg) from None
    if kind is float and not math.isfinite(value):  # inf or nan: every wait or comparison on it fails
        msg = f"{_where(option)} must be a finite number, got {raw!r}"
        raise ConfigError(msg)
    if kind is float and value > threading.TIMEOUT_MAX:  # the float options are seconds to wait
        msg = f"{_where(option)} must be at most {threading.TIMEOUT_MAX:.0f} seconds, got {raw!r}"
        raise ConfigError(msg)
    if value < minimum:
        msg = f"{_where(option)} must be >= {minimum}, got {raw!r}"
        raise ConfigError(msg)
    return value


def _list(option: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _raw(option).replace(",", ";").split(";") if part.strip())


# --- switch and identity --------------------------------------------------------------------------


@_cached
def is_disabled() -> bool:
    """``[lineage_provider] disabled``: lineage switched off entirely."""
    return _bool("disabled")


@_cached
def namespace() -> str:
    """``[lineage_provider] namespace``, then ``OPENLINEAGE_NAMESPACE``, then ``default``."""
    configured = _raw("namespace")
    if configured and configured != OPTIONS["namespace"]["default"]:
        return configured
    return os.environ.get("OPENLINEAGE_NAMESPACE") or configured or "default"


# --- transport -------------------------------------------------------------------------------------


def _is_http_url(url: Any) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(url))
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _has_valid_port(url: Any) -> bool:
    """False when the port cannot be read, e.g. an unencoded '#' or '/' in a password cuts the host short.

    A '#' anywhere is refused too: a lineage endpoint has no fragment, and an unencoded '#' in a password
    whose first characters are digits ("12#34") reads as a valid port of the wrong host.
    """
    from urllib.parse import urlsplit

    if "#" in str(url):
        return False
    try:
        _ = urlsplit(str(url)).port
    except ValueError:
        return False
    return True


def _timeout_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(seconds) and seconds > 0


def validate_transport(config: Any, option: str = "transport") -> dict[str, Any]:
    """Check a transport mapping's shape; raise ConfigError naming the option and the fix.

    ``option`` is a ``[lineage_provider]`` option name, or where else the configuration came from.
    """
    where = _where(option) if option in OPTIONS else option
    if not isinstance(config, dict):
        msg = f'{where} must be a JSON object such as {{"type": "http", "url": "http://marquez:5000"}}'
        raise ConfigError(msg)
    kind = config.get("type")
    if not isinstance(kind, str) or not kind:
        known = ", ".join(sorted(KNOWN_TRANSPORTS))
        msg = f'{where} needs a "type" (one of {known}, or a dotted class path)'
        raise ConfigError(msg)
    if kind not in KNOWN_TRANSPORTS and "." not in kind:
        msg = (
            f"{where} has unknown transport type {kind!r}: use one of {', '.join(sorted(KNOWN_TRANSPORTS))} "
            "or the dotted path of a custom Transport class"
        )
        raise ConfigError(msg)
    if kind in ("http", "async_http") and not config.get("url"):
        msg = f'{where}: an http transport needs "url", e.g. {{"type": "http", "url": "http://marquez:5000"}}'
        raise ConfigError(msg)
    if kind in ("http", "async_http") and not _is_http_url(config["url"]):
        msg = f'{where}: "url" must be an http(s) URL with a host, e.g. "http://marquez:5000"'
        raise ConfigError(msg)
    if kind in ("http", "async_http") and not _has_valid_port(config["url"]):  # never echo it: a password
        msg = (
            f'{where}: the host and port of "url" cannot be read; percent-encode special characters in its '
            'user name and password ("#" as %23, "/" as %2F, "@" as %40, "?" as %3F, ":" as %3A)'
        )
        raise ConfigError(msg)
    timeout = config.get("timeout")
    if kind in ("http", "async_http") and timeout is not None and not _timeout_ok(timeout):
        msg = f'{where}: "timeout" must be a number of seconds > 0, got {timeout!r}'
        raise ConfigError(msg)
    compression = config.get("compression")
    if kind in ("http", "async_http") and compression not in (None, "", "gzip"):
        msg = f'{where}: "compression" must be "gzip" or left out, got {compression!r}'
        raise ConfigError(msg)
    auth = config.get("auth")
    if kind in ("http", "async_http") and isinstance(auth, dict) and auth.get("type") == "api_key":
        if not (auth.get("apiKey") or auth.get("apikey") or auth.get("api_key")):
            msg = (
                f'{where}: "auth" of type "api_key" needs "apiKey", e.g. '
                '{"auth": {"type": "api_key", "apiKey": "..."}} (or leave "auth" out)'
            )
            raise ConfigError(msg)
    if kind == "file" and not config.get("log_file_path"):
        example = '{"type": "file", "log_file_path": "/tmp/ol.json"}'
        msg = f'{where}: a file transport needs "log_file_path", e.g. {example}'
        raise ConfigError(msg)
    if kind == "kafka" and not (config.get("topic") and config.get("config")):
        msg = f'{where}: a kafka transport needs "topic" and "config" (with "bootstrap.servers")'
        raise ConfigError(msg)
    if kind == "composite":
        transports = config.get("transports")
        if not transports or not isinstance(transports, (list, dict)):
            msg = f'{where}: a composite transport needs a non-empty "transports" list or mapping'
            raise ConfigError(msg)
        members = transports.values() if isinstance(transports, dict) else transports
        for member in members:
            validate_transport(member, option)
    if kind == "transform" and not isinstance(config.get("transport"), dict):
        msg = f'{where}: a transform transport needs an inner "transport" object and a transformer_class'
        raise ConfigError(msg)
    return config


@_cached
def transport() -> dict[str, Any] | None:
    """``[lineage_provider] transport`` parsed and validated; None when empty."""
    raw = _raw("transport")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        msg = f"{_where('transport')} is not valid JSON ({exc.msg} at position {exc.pos}); give a JSON object"
        raise ConfigError(msg) from None
    return validate_transport(parsed)


@_cached
def config_path() -> str:
    """``[lineage_provider] config_path``: an openlineage.yml (used when ``transport`` is empty)."""
    path = _raw("config_path")
    if path and not os.path.isfile(path):
        msg = f"{_where('config_path')} points to {path!r}, which is not a readable file"
        raise ConfigError(msg)
    return path


@_cached
def default_file_max_bytes() -> int:
    """``[lineage_provider] default_file_max_mb`` in bytes."""
    return int(_number("default_file_max_mb", int, minimum=1)) * 1024 * 1024


def lineage_dir() -> str:
    """``$AIRFLOW_HOME/lineage``: home of the embedded default event file and the default spool."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.path.join(home, "lineage")


# --- what gets lineage -------------------------------------------------------------------------------


@_cached
def disabled_for_operators() -> frozenset[str]:
    """``[lineage_provider] disabled_for_operators``: full class paths."""
    return frozenset(_list("disabled_for_operators"))


@_cached
def selective_enable() -> bool:
    """``[lineage_provider] selective_enable``."""
    return _bool("selective_enable")


@_cached
def custom_extractors() -> tuple[str, ...]:
    """``[lineage_provider] extractors``: dotted paths of custom extractor classes."""
    return _list("extractors")


@_cached
def custom_run_facets() -> tuple[str, ...]:
    """``[lineage_provider] custom_run_facets``: dotted paths of run-facet functions."""
    return _list("custom_run_facets")


@_cached
def include_airflow_facet() -> bool:
    """``[lineage_provider] include_airflow_facet``."""
    return _bool("include_airflow_facet")


@_cached
def include_source_code() -> bool:
    """``[lineage_provider] include_source_code``."""
    return _bool("include_source_code")


@_cached
def spark_inject_parent_job_info() -> bool:
    """``[lineage_provider] spark_inject_parent_job_info``."""
    return _bool("spark_inject_parent_job_info")


# --- delivery --------------------------------------------------------------------------------------


@_cached
def queue_size() -> int:
    """``[lineage_provider] queue_size``."""
    return int(_number("queue_size", int, minimum=1))


@_cached
def send_timeout() -> float:
    """``[lineage_provider] send_timeout`` in seconds."""
    return float(_number("send_timeout", float, minimum=0.01))


@_cached
def flush_timeout() -> float:
    """``[lineage_provider] flush_timeout`` in seconds."""
    return float(_number("flush_timeout", float, minimum=0))


@_cached
def spool_dir() -> str:
    """``[lineage_provider] spool_dir``; empty means ``$AIRFLOW_HOME/lineage/spool``."""
    return _raw("spool_dir") or os.path.join(lineage_dir(), "spool")


@_cached
def spool_max_bytes() -> int:
    """``[lineage_provider] spool_max_mb`` in bytes."""
    return int(_number("spool_max_mb", int, minimum=1)) * 1024 * 1024


@_cached
def replay_on_success() -> bool:
    """``[lineage_provider] replay_on_success``."""
    return _bool("replay_on_success")


@_cached
def max_event_bytes() -> int:
    """``[lineage_provider] max_event_bytes``."""
    return int(_number("max_event_bytes", int, minimum=4096))


# --- redaction -------------------------------------------------------------------------------------


@_cached
def mask_sql_literals() -> bool:
    """``[lineage_provider] mask_sql_literals``."""
    return _bool("mask_sql_literals")


# --- SQL extraction --------------------------------------------------------------------------------


@_cached
def schema_lookup() -> bool:
    """``[lineage_provider] schema_lookup``."""
    return _bool("schema_lookup")


@_cached
def schema_cache_ttl() -> int:
    """``[lineage_provider] schema_cache_ttl`` in seconds."""
    return int(_number("schema_cache_ttl", int, minimum=0))


@_cached
def schema_query_timeout() -> float:
    """``[lineage_provider] schema_query_timeout`` in seconds."""
    return float(_number("schema_query_timeout", float, minimum=0.01))


@_cached
def extraction_timeout() -> float:
    """``[lineage_provider] extraction_timeout`` in seconds."""
    return float(_number("extraction_timeout", float, minimum=0.01))


@_cached
def hook_lineage_child_jobs() -> bool:
    """``[lineage_provider] hook_lineage_child_jobs``."""
    return _bool("hook_lineage_child_jobs")


@_cached
def emit_asset_events() -> bool:
    """``[lineage_provider] emit_asset_events``."""
    return _bool("emit_asset_events")


# --- coexistence -----------------------------------------------------------------------------------


@_cached
def warn_on_official_provider() -> bool:
    """``[lineage_provider] warn_on_official_provider``."""
    return _bool("warn_on_official_provider")


#: option name -> accessor, for ``airflow-lineage doctor`` and the declaration test.
ACCESSORS: dict[str, Callable[[], Any]] = {
    "disabled": is_disabled,
    "namespace": namespace,
    "transport": transport,
    "config_path": config_path,
    "default_file_max_mb": default_file_max_bytes,
    "disabled_for_operators": disabled_for_operators,
    "selective_enable": selective_enable,
    "extractors": custom_extractors,
    "custom_run_facets": custom_run_facets,
    "include_airflow_facet": include_airflow_facet,
    "include_source_code": include_source_code,
    "spark_inject_parent_job_info": spark_inject_parent_job_info,
    "queue_size": queue_size,
    "send_timeout": send_timeout,
    "flush_timeout": flush_timeout,
    "spool_dir": spool_dir,
    "spool_max_mb": spool_max_bytes,
    "replay_on_success": replay_on_success,
    "max_event_bytes": max_event_bytes,
    "mask_sql_literals": mask_sql_literals,
    "schema_lookup": schema_lookup,
    "schema_cache_ttl": schema_cache_ttl,
    "schema_query_timeout": schema_query_timeout,
    "extraction_timeout": extraction_timeout,
    "hook_lineage_child_jobs": hook_lineage_child_jobs,
    "emit_asset_events": emit_asset_events,
    "warn_on_official_provider": warn_on_official_provider,
}

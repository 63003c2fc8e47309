"""Make every event safe to send or spool: no secret in it, and no bigger than ``max_event_bytes``.

* ``redact_event``: walks the whole event; every string goes through Airflow's secrets masker (values it
  knows, and any value under a sensitive key such as ``password``/``token``/``authorization``), URIs lose
  their credentials (``postgresql://user:***@host/db``), and SQL text (``query``/``sql``/``statement``
  keys) goes through :func:`airflow_lineage_provider.sql.redact.redact_sql`.
* ``enforce_size_cap``: trims an oversized event, largest optional facets first (then trailing
  datasets), and adds the ``lineageProviderTrimmed`` run facet saying what was dropped.
* ``mask_config`` / ``register_secrets``: the same rules for transport configurations (doctor output, logs).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_lineage_provider import PRODUCER
from airflow_lineage_provider.sql.redact import (
    MASK,
    redact_connection_secrets,
    redact_sql,
    redact_uri_credentials,
)

log = logging.getLogger(__name__)

#: keys whose string values are SQL text
SQL_KEYS = frozenset({"query", "sql", "statement", "sql_query"})
#: transport-config keys that hold secrets (in addition to the masker's sensitive names)
_CONFIG_SECRET_KEYS = ("key", "token", "secret", "password", "passwd", "credential", "auth", "sasl")

TRIM_FACET = "lineageProviderTrimmed"
#: in this package's ``schemas/`` at the producer's version, like the ``airflow`` run facet's schema
TRIM_FACET_SCHEMA = f"{PRODUCER}/schemas/TrimmedRunFacet.json#/$defs/TrimmedRunFacet"
#: run facets never trimmed: they tie the event to its parent run and say why a run failed
_PROTECTED_RUN_FACETS = frozenset({"parent", "nominalTime", "errorMessage", TRIM_FACET})
#: bytes reserved for the trim facet itself while choosing what to drop
_TRIM_FACET_RESERVE = 1024


@functools.cache
def _maskers() -> tuple[Any, ...]:
    """The secrets-masker modules of this process (task SDK and core keep one each)."""
    found = []
    for name in ("airflow.sdk._shared.secrets_masker", "airflow._shared.secrets_masker"):
        try:
            found.append(__import__(name, fromlist=["redact"]))
        except Exception:
            log.debug("secrets masker %s unavailable", name, exc_info=True)
    return tuple(found)


def _masker_redact(text: str) -> str:
    """Values the secrets masker(s) know, replaced (key names are checked by the callers)."""
    for masker in _maskers():
        try:
            text = masker.redact(text)
        except Exception:  # a broken masker must not let a value through: fail closed
            return MASK
    return text


def _known_value_patterns() -> list[Any] | None:
    """The compiled pattern of known secret values of each masker that has one, read now.

    Applying them directly is what ``masker.redact(text)`` does to a string, without its per-call dispatch
    (a third of an event's redaction time). ``None`` when a masker does not look as expected: the caller
    then goes through ``masker.redact``.
    """
    patterns = []
    for masker in _maskers():
        try:
            pattern = masker._secrets_masker().replacer
        except Exception:
            return None
        if pattern is not None:
            if not hasattr(pattern, "sub"):
                return None
            patterns.append(pattern)
    return patterns


@functools.lru_cache(maxsize=4096)  # events repeat the same keys; the masker's test is a scan of names
def _is_sensitive_key(key: str | None) -> bool:
    if not key:
        return False
    for masker in _maskers():
        try:
            if masker.should_hide_value_for_key(key):
                return True
        except Exception:
            return True
    return False


def _redact_string(text: str, key: str | None, mask_sql_literals: bool, patterns: list[Any] | None) -> str:
    if _is_sensitive_key(key):
        return MASK
    if key in SQL_KEYS:
        text = redact_sql(text, mask_literals=mask_sql_literals)
    elif "://" in text:
        text = redact_uri_credentials(text)
        if "=" in text:  # a JDBC URL's ``password=``, an Azure SAS ``sig=`` in a query string
            text = redact_connection_secrets(text)
            if "?" in text or "#" in text:  # ``?api_key=``, a presigned URL's signature, ``#access_token=``
                text = _mask_query_credentials(text)
    if patterns is None:
        return _masker_redact(text)
    try:
        for pattern in patterns:
            text = pattern.sub(MASK, text)
    except Exception:  # fail closed
        return MASK
    return text


def redact_text(text: str, key: str | None = None, *, mask_sql_literals: bool = False) -> str:
    """One string, as it would appear under ``key`` in an event or a log line."""
    return _redact_string(text, key, mask_sql_literals, _known_value_patterns())


def _walk(value: Any, key: str | None, mask_sql_literals: bool, patterns: list[Any] | None) -> Any:
    if isinstance(value, str):
        return _redact_string(value, key, mask_sql_literals, patterns)
    if isinstance(value, Mapping):
        out = {}
        sql_content = value.get("contentType") == "sql"  # a data-quality assertion's SQL (``content``)
        for k, v in value.items():
            if v is None or _not_finite(v):  # as Serde: null fields are left out (NaN: no JSON at all)
                continue
            if not isinstance(v, (bool, int, float)) and _is_sensitive_key(str(k)):
                out[k] = MASK
            else:
                name = "sql" if sql_content and k == "content" else str(k)
                out[k] = _walk(v, name, mask_sql_literals, patterns)
        return out
    if isinstance(value, (list, tuple)):
        return [
            _walk(v, key, mask_sql_literals, patterns)
            for v in value
            if v is not None and v != {} and not _not_finite(v)  # as Serde: no null or empty-object items
        ]
    return value


def _not_finite(value: Any) -> bool:
    """NaN and infinities (a facet built from a float column's min, say): ``json.dumps`` writes them as bare
    ``NaN`` / ``Infinity``, which no JSON parser accepts, so a backend would reject the whole event."""
    return isinstance(value, float) and not math.isfinite(value)


def redact_event(event: Mapping[str, Any], *, mask_sql_literals: bool = False) -> dict[str, Any]:
    """A redacted copy of a wire-format event (the input is not modified), without null fields."""
    return _walk(event, None, mask_sql_literals, _known_value_patterns())


# --- size cap --------------------------------------------------------------------------------------


def _size(obj: Any) -> int:
    """Bytes of ``obj`` as JSON, with the separators openlineage-python's Serde puts on the wire."""
    return len(json.dumps(obj, default=str).encode("utf-8"))


def _facet_slots(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    run_facets = (event.get("run") or {}).get("facets")
    if isinstance(run_facets, dict):
        yield "run.facets", run_facets
    job_facets = (event.get("job") or {}).get("facets")
    if isinstance(job_facets, dict):
        yield "job.facets", job_facets
    for side in ("inputs", "outputs"):
        for index, dataset in enumerate(event.get(side) or []):
            for slot in ("facets", "inputFacets" if side == "inputs" else "outputFacets"):
                facets = dataset.get(slot) if isinstance(dataset, dict) else None
                if isinstance(facets, dict):
                    yield f"{side}[{index}].{slot}", facets


#: the trim marker lists at most this many dropped parts one by one; past it they are counted by kind
_DROPPED_LISTED = 20
_INDEX = re.compile(r"\[\d+\]")


def _dropped_summary(dropped: list[str]) -> list[str]:
    """``dropped`` itself when short; else one entry per kind (``outputs[*].facets.schema x812``), the
    most frequent first, so the marker stays small whatever was trimmed (1,000 dataset facets listed one by
    one would make the marker alone bigger than the cap)."""
    if len(dropped) <= _DROPPED_LISTED:
        return dropped
    counts: dict[str, int] = {}
    for label in dropped:  # a range of datasets ("outputs[188:1000]") is a kind of its own
        key = _INDEX.sub("[*]", label)
        counts[key] = counts.get(key, 0) + 1
    kinds = sorted(counts.items(), key=lambda item: -item[1])
    summary = [label if count == 1 else f"{label} x{count}" for label, count in kinds[:_DROPPED_LISTED]]
    if len(kinds) > _DROPPED_LISTED:
        summary.append(f"... {len(kinds) - _DROPPED_LISTED} more kinds")
    return summary


def enforce_size_cap(event: dict[str, Any], max_bytes: int) -> tuple[dict[str, Any], list[str]]:
    """Trim ``event`` (in place) to at most ``max_bytes`` of JSON; returns it and what was dropped."""
    original = _size(event)
    if original <= max_bytes:
        return event, []
    candidates: list[tuple[int, str, dict[str, Any], str]] = []
    for label, facets in _facet_slots(event):
        for name, facet in facets.items():
            if label == "run.facets" and name in _PROTECTED_RUN_FACETS:
                continue
            candidates.append((_size(facet) + len(name) + 4, f"{label}.{name}", facets, name))
    candidates.sort(key=lambda c: c[0], reverse=True)
    dropped: list[str] = []
    estimate = original
    budget = max_bytes - _TRIM_FACET_RESERVE
    for size, label, facets, name in candidates:
        if estimate <= budget:
            break
        del facets[name]
        dropped.append(label)
        estimate -= size
    estimate = _size(event)
    for side in ("outputs", "inputs"):  # still too big: the datasets themselves, last first
        datasets = event.get(side)
        if not isinstance(datasets, list):
            continue
        total = len(datasets)
        while datasets and estimate > budget:
            estimate -= _size(datasets.pop()) + 2
        if len(datasets) < total:
            dropped.append(f"{side}[{len(datasets)}:{total}]")
    dropped = _dropped_summary(dropped)
    run = event.setdefault("run", {})
    run.setdefault("facets", {})[TRIM_FACET] = {
        "_producer": PRODUCER,
        "_schemaURL": TRIM_FACET_SCHEMA,
        "originalBytes": original,
        "maxEventBytes": max_bytes,
        "dropped": dropped,
    }
    final = _size(event)
    if final > max_bytes:
        log.warning(
            "lineage event for job %s is %d bytes after trimming every optional part (cap %d); sent anyway",
            (event.get("job") or {}).get("name"),
            final,
            max_bytes,
        )
    return event, dropped


# --- transport configurations ----------------------------------------------------------------------


def _config_key_is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in _CONFIG_SECRET_KEYS) or _is_sensitive_key(key)


#: the userinfo of a URL an unencoded '/', '?' or '#' in its password makes invalid: up to the last '@'
_BROKEN_USERINFO = re.compile(r"[^\s:/?#]*(?::\S*)?(?=@)")
#: query-string keys whose values are secrets, besides the secret config key names (Azure's ``code``...)
_QUERY_SECRET_KEYS = ("code", "sig")
#: a URL's query string in a message: requests and urllib3 quote the URL, or only its path after "url: ".
#: Tried from the start of a scheme only, and up to the next "://" at most: linear time on any text.
_URL_QUERY = re.compile(
    r"(?P<url>(?:(?<![A-Za-z0-9+.\-])[A-Za-z0-9+.\-]+://|\burl: /)(?:(?!://)[^\s?#'\"])*)[?#][^\s'\"]*"
)


def _split_userinfo(url: str) -> tuple[str, str, str | None, str] | None:
    """``url`` as (``scheme://``, user, password or None, the rest from the ``@``), or None without userinfo.

    The userinfo is what urlsplit and requests read: up to the last '@' before the path. When an unencoded
    '/', '?' or '#' in a password makes the URL invalid (its port cannot be read), it runs to the last '@'
    of the URL instead: that text is still a secret.
    """
    head, sep, rest = url.partition("://")
    if not sep:
        return None
    try:
        _ = urlsplit(url).port
    except ValueError:
        match = _BROKEN_USERINFO.match(rest)
        if match is None:
            return None
        userinfo = match.group(0)
    else:
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "@" not in authority:
            return None
        userinfo = authority.rpartition("@")[0]
    user, colon, password = userinfo.partition(":")
    return head + sep, user, password if colon else None, rest[len(userinfo) :]


def _query_params(text: str) -> list[tuple[str, str]]:
    """The ``key=value`` pairs of the query string of a URL or endpoint (no '=': the key is empty)."""
    query = text.partition("?")[2].partition("#")[0]
    return [(k, v) if eq else ("", k) for k, eq, v in (p.partition("=") for p in query.split("&") if p)]


def mask_url(url: str) -> str:
    """A URL (or endpoint) to show: its password (or a user alone: a token) and query values as ``***``."""
    split = _split_userinfo(url) if "://" in url else None
    if split is not None:
        head, user, password, rest = split
        url = f"{head}{user}:{MASK}{rest}" if password is not None else f"{head}{MASK}{rest}"
    path, question, query = url.partition("?")
    if question:
        query, hash_, fragment = query.partition("#")
        params = (p.partition("=") for p in query.split("&"))
        masked = [f"{k}={MASK}" if eq else (MASK if k else "") for k, eq, _ in params]
        url = f"{path}?{'&'.join(masked)}{hash_}{fragment}"
    return redact_uri_credentials(url)  # any other URI in the text


#: query parameters that carry a credential, by exact name (lower case): only those are masked in events,
#: where a URL is often a dataset's identity (``?partition=..`` must stay as it is). A bare ``key`` is the
#: API key of Google APIs (``?key=AIza..``); like every name here it only matches a whole query name
_QUERY_CREDENTIALS = frozenset(
    {
        "key", "api_key", "apikey", "api-key", "access_key", "secret_key", "private_key",
        "token", "access_token", "id_token", "refresh_token", "auth_token", "session_token",
        "secret", "client_secret", "password", "passwd", "pwd", "sig", "signature",
        "x-amz-signature", "x-amz-credential", "x-amz-security-token",
        "x-goog-signature", "x-goog-credential",
    }
)  # fmt: skip
#: parameters of a URL fragment whose values are credentials (OAuth implicit flow, OpenID Connect)
_FRAGMENT_CREDENTIALS = frozenset({"access_token", "id_token", "refresh_token", "token", "code"})
#: one ``name=value`` of a query string
_QUERY_PARAM = re.compile(r"([?&#])([^=&#\s'\"]+)=([^&#\s'\"]*)")


def _mask_query_credentials(text: str) -> str:
    """``text`` with the values of credential query parameters (see ``_QUERY_CREDENTIALS``) as ``***``, and
    of the OAuth tokens a URL fragment carries (``#access_token=...``; other fragments are anchors)."""

    def masker(names: frozenset[str]) -> Any:
        def param(match: re.Match[str]) -> str:
            name, value = match.group(2), match.group(3)
            if value and value != MASK and unquote(name).lower() in names:
                return f"{match.group(1)}{name}={MASK}"
            return match.group(0)

        return param

    def url(match: re.Match[str]) -> str:
        head = match.group("url")
        query, hash_, fragment = match.group(0)[len(head) :].partition("#")
        query = _QUERY_PARAM.sub(masker(_QUERY_CREDENTIALS), query)
        return head + query + hash_ + _QUERY_PARAM.sub(masker(_FRAGMENT_CREDENTIALS), hash_ + fragment)[1:]

    return _URL_QUERY.sub(url, text)


def strip_query(text: str) -> str:
    """``text`` with the query string and fragment of every URL (``scheme://..?..``, ``url: /path?..``) left
    out."""
    return _URL_QUERY.sub(r"\g<url>", text)


def mask_config(config: Any, key: str | None = None) -> Any:
    """A copy of a transport configuration with every secret replaced by ``***``."""
    if isinstance(config, Mapping):
        return {
            k: (
                MASK
                if isinstance(v, (str, int, float))
                and not isinstance(v, bool)
                and k != "type"
                and _config_key_is_secret(str(k))
                else mask_config(v, str(k))
            )
            for k, v in config.items()
        }
    if isinstance(config, (list, tuple)):
        return [mask_config(v, key) for v in config]
    if isinstance(config, str) and ("://" in config or (key == "endpoint" and "?" in config)):
        return mask_url(config)
    return config


def url_secrets(url: str) -> list[str]:
    """The secrets of one URL (or endpoint): its password or lone user (a token), secret query values."""
    found: list[str] = []
    split = _split_userinfo(url) if "://" in url else None
    if split is not None:
        _, user, password, url = split  # the query is looked for after the userinfo
        secret = user if password is None else password
        found += [secret, unquote(secret)] if unquote(secret) != secret else [secret]
    for name, value in _query_params(url):
        if value and (not name or name.lower() in _QUERY_SECRET_KEYS or _config_key_is_secret(name)):
            found.append(value)
    return found


def config_secrets(config: Any, key: str | None = None) -> list[str]:
    """Every secret value in a transport configuration (api keys, tokens, passwords in URLs...)."""
    found: list[str] = []
    if isinstance(config, Mapping):
        for k, v in config.items():
            if isinstance(v, str) and k != "type" and _config_key_is_secret(str(k)):
                found.append(v)
            else:
                found.extend(config_secrets(v, str(k)))
    elif isinstance(config, (list, tuple)):
        for v in config:
            found.extend(config_secrets(v, key))
    elif isinstance(config, str) and ("://" in config or (key == "endpoint" and "?" in config)):
        found.extend(url_secrets(config))
    return found


def register_secrets(values: list[str]) -> None:
    """Teach Airflow's secrets masker(s) these values so no log line or event shows them."""
    for value in values:
        if not value:
            continue
        for masker in _maskers():
            try:
                masker.mask_secret(value)
            except Exception:
                log.debug("could not register a transport secret with the masker", exc_info=True)


#: a database error quoting a piece of the statement, cut where the server chose (PostgreSQL ``LINE 3: ...``,
#: MySQL ``near '...' at line 1``): the cut can drop the keyword that marks a secret, so the piece goes
_QUOTED_STATEMENT = re.compile(
    r"(?P<head>^LINE \d+: ).*$|(?P<near>\bnear )'.*' (?P<tail>at line \d+)", re.MULTILINE
)


def _drop_quoted_statement(match: re.Match[str]) -> str:
    if match.group("head"):
        return f"{match.group('head')}{MASK}"
    return f"{match.group('near')}'{MASK}' {match.group('tail')}"


def redact_error_text(text: str) -> str:
    """An error message or stack trace: as :func:`redact_text`, the pieces of statements database errors
    quote dropped, and credentials quoted from SQL, DSNs and connection strings (``PASSWORD '..'``,
    ``password=..``; drivers and tracebacks quote them) masked."""
    if "LINE " in text or "near '" in text:
        text = _QUOTED_STATEMENT.sub(_drop_quoted_statement, text)
    return redact_sql(redact_text(text))


def safe_error(exc: BaseException) -> str:
    """``exc`` as one log-safe line (credentials in URLs, URL query strings and known secrets masked)."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return redact_error_text(strip_query(text) if "?" in text or "#" in text else text)


__all__ = [
    "MASK",
    "TRIM_FACET",
    "config_secrets",
    "enforce_size_cap",
    "mask_config",
    "mask_url",
    "redact_error_text",
    "redact_event",
    "redact_text",
    "register_secrets",
    "safe_error",
    "strip_query",
    "url_secrets",
]

"""OpenLineage dataset namespaces and names for Airflow connections, table references and Asset URIs.

The one place that follows the OpenLineage naming spec (https://openlineage.io/docs/spec/naming):

============  ===================================================  ===============================
source        namespace                                            name
============  ===================================================  ===============================
PostgreSQL    ``postgres://{host}:{port}``                          ``{database}.{schema}.{table}``
MySQL/MariaDB ``mysql://{host}:{port}``                             ``{database}.{table}``
Redshift      ``redshift://{cluster_identifier}.{region}:{port}``   ``{database}.{schema}.{table}``
MSSQL         ``mssql://{host}:{port}``                             ``{database}.{schema}.{table}``
Snowflake     ``snowflake://{account identifier}``                  ``{database}.{schema}.{table}``
BigQuery      ``bigquery``                                          ``{project}.{dataset}.{table}``
Trino/Presto  ``trino://{host}:{port}``                             ``{catalog}.{schema}.{table}``
Databricks    ``databricks://{host}``                               ``{catalog}.{schema}.{table}``
Athena        ``awsathena://athena.{region}.amazonaws.com``         ``{catalog}.{database}.{table}``
SQLite        ``sqlite://{absolute real path of the database file}`` ``{table}`` (``{schema}.{table}``
                                                                     for an ATTACHed database)
S3/GCS/Azure  ``s3://{bucket}``, ``gs://{bucket}``, ``abfss://{container}@{account host}``  object key
HDFS          ``hdfs://{namenode}:{port}``                          ``/{path}``
local file    ``file``                                              ``/{path}``
============  ===================================================  ===============================

SQLite is not in the spec: the namespace is the database file's absolute, symlink-resolved path, so the
same file always gets the same datasets whatever relative path or symlink a connection uses.

Names keep the case the SQL engine gives them (unquoted identifiers lower-cased, quoted ones as written);
defaults that come from a connection (its database, schema, catalog) are used as written there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

import attrs

if TYPE_CHECKING:
    from airflow_lineage_provider.sql import TableRef


class _TableLike(Protocol):
    name: str
    schema: str | None
    database: str | None


@attrs.frozen
class DatasetId:
    """An OpenLineage dataset identity: ``namespace`` + ``name``."""

    namespace: str
    name: str

    @property
    def uri(self) -> str:
        """``namespace/name`` as one URI (the OpenLineage dataset URI form)."""
        return f"{self.namespace}/{self.name}"


# conn_type -> (namespace scheme, default port, name levels, default schema)
# name levels: 3 = database.schema.table, 2 = database.table
_SOURCES: dict[str, tuple[str, int | None, int, str | None]] = {
    "postgres": ("postgres", 5432, 3, "public"),
    "redshift": ("redshift", 5439, 3, "public"),
    "mysql": ("mysql", 3306, 2, None),
    "mssql": ("mssql", 1433, 3, "dbo"),
    "snowflake": ("snowflake", None, 3, None),
    "bigquery": ("bigquery", None, 3, None),
    "trino": ("trino", 8080, 3, None),
    "presto": ("presto", 8080, 3, None),
    "databricks": ("databricks", None, 3, "default"),
    "awsathena": ("awsathena", None, 3, None),
    "oracle": ("oracle", 1521, 3, None),
    "db2": ("db2", 50000, 3, None),
    "vertica": ("vertica", 5433, 3, "public"),
    "teradata": ("teradata", 1025, 2, None),
    "hive": ("hive", 10000, 2, "default"),
    "sqlite": ("sqlite", None, 1, None),
}

# Airflow conn_type (and URI scheme) aliases -> key of _SOURCES
_ALIASES = {
    "postgresql": "postgres",
    "psql": "postgres",
    "mariadb": "mysql",
    "aurora": "mysql",
    "odbc_mssql": "mssql",
    "sqlserver": "mssql",
    "google_cloud_platform": "bigquery",
    "gcpbigquery": "bigquery",
    "gcp": "bigquery",
    "databricks_sql": "databricks",
    "athena": "awsathena",
    "aws": "awsathena",
    "hiveserver2": "hive",
    "hive_cli": "hive",
    "hive_metastore": "hive",
}

_REDSHIFT_HOST = re.compile(
    r"^(?P<id>[^.]+)\.[^.]+\.(?P<region>[^.]+)\.redshift(?:-serverless)?\.amazonaws\.com$"
)


def source_kind(conn_type: str | None) -> str:
    """Normalized source kind of an Airflow ``conn_type`` (``postgres``, ``mysql``, ``sqlite`` ...)."""
    kind = (conn_type or "").strip().lower().replace("-", "_")
    return _ALIASES.get(kind, kind)


def _extra(conn: Any) -> Mapping[str, Any]:
    try:
        extra = conn.extra_dejson
    except Exception:
        return {}
    return extra if isinstance(extra, Mapping) else {}


def _extra_value(conn: Any, *keys: str) -> str | None:
    extra = _extra(conn)
    for key in keys:
        for candidate in (key, f"extra__{source_kind(conn.conn_type)}__{key}"):
            value = extra.get(candidate)
            if value:
                return str(value)
    return None


def _host(conn: Any) -> str:
    host = (getattr(conn, "host", None) or "localhost").strip()
    if "@" in host:  # never let credentials typed into the host field into a namespace
        host = host.rsplit("@", 1)[1]
    if "://" in host:
        host = urlsplit(host).hostname or host
    return _bracketed(host.lower())


def _bracketed(host: str) -> str:
    """An IPv6 address in brackets, as in any URI (``postgres://[::1]:5432``, not ``postgres://::1:5432``)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _kind(conn: Any) -> str:
    kind = source_kind(getattr(conn, "conn_type", None))
    if kind == "postgres" and _REDSHIFT_HOST.match(_host(conn)):
        return "redshift"
    return kind


def sqlite_path(conn: Any) -> str:
    """Absolute, symlink-resolved path of a SQLite connection's database file (``:memory:`` as is)."""
    raw = (getattr(conn, "host", None) or "").strip()
    if raw.startswith("file:"):
        raw = raw[len("file:") :]
    raw = unquote(raw.split("?", 1)[0])
    if not raw or raw == ":memory:" or raw.startswith("file::memory:"):
        return ":memory:"
    return os.path.realpath(os.path.expanduser(raw))


def namespace_for_connection(conn: Any) -> str:
    """OpenLineage namespace of the data source an Airflow connection points at (never credentials)."""
    kind = _kind(conn)
    if kind == "sqlite":
        return f"sqlite://{sqlite_path(conn)}"
    if kind == "bigquery":
        return "bigquery"
    if kind == "snowflake":
        return f"snowflake://{_snowflake_account(conn)}"
    if kind == "awsathena":
        region = _extra_value(conn, "region_name", "region") or "us-east-1"
        return f"awsathena://athena.{region}.amazonaws.com"
    scheme, default_port, _, _ = _SOURCES.get(kind, (kind or "unknown", None, 3, None))
    host = _host(conn)
    port = getattr(conn, "port", None) or default_port
    if kind == "redshift":
        match = _REDSHIFT_HOST.match(host)
        cluster: str = _extra_value(conn, "cluster_identifier") or (match["id"] if match else host)
        cluster_region = _extra_value(conn, "region_name", "region") or (match["region"] if match else "")
        host = f"{cluster}.{cluster_region}" if cluster_region else cluster
    if kind == "databricks":
        return f"databricks://{host}"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def _snowflake_account(conn: Any) -> str:
    account = (_extra_value(conn, "account") or getattr(conn, "host", None) or "").strip().lower()
    account = account.removesuffix(".snowflakecomputing.com").split("://")[-1]
    region = (_extra_value(conn, "region") or "").lower()
    if "." not in account and "-" not in account and region:  # legacy account locator + region
        account = f"{account}.{region}"
    return account.replace("_", "-") if "." not in account else account


def default_database_schema(conn: Any) -> tuple[str | None, str | None]:
    """The database (catalog, project) and schema an unqualified table name resolves to on ``conn``.

    Follows where each hook keeps them: PostgreSQL/MySQL/MSSQL store the database in ``conn.schema``;
    Snowflake the database in extra and the schema in ``conn.schema``; Trino/Databricks the catalog in extra.
    For two-level sources (MySQL, Hive ...) the one level is returned as the *schema*, because SQL parsers
    read ``db.table`` as schema-qualified.
    """
    kind = _kind(conn)
    _, _, levels, default_schema = _SOURCES.get(kind, ("", None, 3, None))
    conn_schema = getattr(conn, "schema", None) or None
    if kind == "sqlite":
        return None, None
    if levels == 2:
        return None, conn_schema or default_schema
    if kind == "snowflake":
        return _extra_value(conn, "database"), conn_schema or _extra_value(conn, "schema")
    if kind == "bigquery":
        return _extra_value(conn, "project", "project_id"), _extra_value(conn, "dataset")
    if kind in ("trino", "presto", "databricks"):
        catalog = _extra_value(conn, "catalog") or ("hive_metastore" if kind == "databricks" else None)
        return catalog, conn_schema or default_schema
    if kind == "awsathena":
        athena_database = conn_schema or _extra_value(conn, "database")
        return _extra_value(conn, "catalog") or "AwsDataCatalog", athena_database
    database = _extra_value(conn, "database", "dbname") or conn_schema
    if kind in ("postgres", "redshift", "vertica"):
        default_schema = search_path_schema(_extra_value(conn, "options")) or default_schema
    return database, default_schema


_SEARCH_PATH = re.compile(r"search_path\s*=\s*([^\s,]+)", re.IGNORECASE)


def search_path_schema(options: str | None) -> str | None:
    """First schema of a ``-c search_path=a,b`` libpq ``options`` string (``$user`` skipped)."""
    match = _SEARCH_PATH.search(options or "")
    if not match:
        return None
    first = match.group(1).strip("'\"")
    return None if first.startswith("$") else first


def _split_name(text: str) -> list[str]:
    """Split ``a.b.c`` on dots outside double quotes/backticks/brackets, dropping the quotes."""
    parts: list[str] = []
    current: list[str] = []
    closing: str | None = None
    for char in text.strip():
        if closing:
            if char == closing:
                closing = None
            else:
                current.append(char)
        elif char in '"`[':
            closing = "]" if char == "[" else char
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part]


def _as_parts(table: TableRef | _TableLike | str) -> tuple[str | None, str | None, str]:
    if isinstance(table, str):
        parts = _split_name(table)
        if not parts:
            msg = f"empty table name {table!r}"
            raise ValueError(msg)
        padded = [None] * (3 - len(parts[-3:])) + parts[-3:]
        return padded[0], padded[1], padded[2]  # type: ignore[return-value]
    return table.database, table.schema, table.name


def dataset_for_table(
    conn: Any,
    table: TableRef | _TableLike | str,
    *,
    default_database: str | None = None,
    default_schema: str | None = None,
) -> DatasetId:
    """Namespace and name of a table read or written through ``conn``, per the OpenLineage naming spec.

    Missing parts of ``table`` are filled from ``default_database``/``default_schema``, then from the
    connection (:func:`default_database_schema`).
    """
    kind = _kind(conn)
    namespace = namespace_for_connection(conn)
    database, schema, name = _as_parts(table)
    conn_database, conn_schema = default_database_schema(conn)
    levels = _SOURCES.get(kind, ("", None, 3, None))[2]
    if levels == 1:  # SQLite: the file is the namespace; only an ATTACHed database qualifies the name
        qualifier = schema or database
        if qualifier and qualifier.lower() not in ("main",):
            return DatasetId(namespace, f"{qualifier}.{name}")
        return DatasetId(namespace, name)
    if levels == 2:  # database.table; the parser's "schema" is the database here
        db = schema or database or default_schema or default_database or conn_schema
        return DatasetId(namespace, f"{db}.{name}" if db else name)
    database = database or default_database or conn_database
    schema = schema or default_schema or conn_schema
    parts = [part for part in (database, schema, name) if part]
    if kind in _UPPER_CASE_CATALOGS:
        parts = [_upper_unquoted(part) for part in parts]
    return DatasetId(namespace, ".".join(parts))


#: engines that store unquoted names in upper case: dataset names follow their catalogs (and Snowflake's own
#: lineage, and the official OpenLineage provider), so ``sales`` is ``SALES`` and ``"Sales"`` stays ``Sales``
_UPPER_CASE_CATALOGS = {"snowflake", "oracle", "db2"}


def _upper_unquoted(part: str) -> str:
    """A name part without upper-case letters was unquoted (the SQL parser lower-cases those): upper-case it.
    One with upper-case letters was quoted as written and is kept. (A quoted all-lower-case name, rare on
    these engines, is upper-cased too.)"""
    return part.upper() if part == part.lower() else part


def fold_column(conn: Any, column: str) -> str:
    """A column name as the connection's catalog stores it when unquoted (see :func:`dataset_for_table`)."""
    return _upper_unquoted(column) if _kind(conn) in _UPPER_CASE_CATALOGS else column


_OBJECT_STORES = {"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "wasb", "wasbs", "azure", "az"}
#: URI schemes of an object store -> the scheme of its namespace (Hadoop's s3a/s3n clients read S3 buckets)
_STORE_SCHEMES = {"gcs": "gs", "s3a": "s3", "s3n": "s3"}
#: a Windows drive: ``C:`` at the start of a path, or as the whole authority of ``file://C:/...``
_DRIVE = re.compile(r"^/?([A-Za-z]):(?=/|$)")


def _trimmed(path: str) -> str:
    """A path without its trailing '/' (Airflow drops it from asset URIs; the root stays ``/``)."""
    return path.rstrip("/") or ("/" if path else path)


def _windows_file(uri: str) -> DatasetId | None:
    """A local Windows file: ``C:\\data\\x.csv``, ``file:///C:/data/x.csv`` or ``file://C:/data/x.csv``."""
    text = uri.replace("\\", "/")
    lowered = text.lower()
    for prefix in ("file:///", "file://", "file:/", "file:"):
        if lowered.startswith(prefix) and _DRIVE.match(text[len(prefix) :]):
            text = text[len(prefix) :]
            break
    match = _DRIVE.match(text)
    if match is None:
        return None
    path = unquote(urlsplit("file:///" + text[match.end() :].lstrip("/")).path)
    return DatasetId("file", _trimmed(f"/{match.group(1).upper()}:{path}"))


def _kafka(parts: Any) -> DatasetId:
    """``kafka://host:port[,host:port...]/topic``: the first bootstrap server and the topic (spec)."""
    first = parts.netloc.rpartition("@")[2].split(",")[0]
    server = urlsplit(f"kafka://{first}")
    host = _bracketed((server.hostname or "").lower())
    authority = f"{host}:{server.port}" if server.port else host
    return DatasetId(f"kafka://{authority}", unquote(parts.path).strip("/"))


def _snowflake_uri(host: str, segments: list[str]) -> DatasetId:
    """A Snowflake asset named as SQL lineage names the table (account and case as the catalog has them)."""
    account = host.removesuffix(".snowflakecomputing.com")
    account = account.replace("_", "-") if "." not in account else account
    return DatasetId(f"snowflake://{account}", ".".join(_upper_unquoted(part) for part in segments))


#: ``scheme://user[:secret]@`` at the start of a URI. A secret may hold '/' (AWS secret keys do), which ends
#: a URI's authority: ``user:123/...@`` is read as a port and a path unless the scheme has no ports (the
#: same rule as the redaction of URIs in logs and events)
_USERINFO = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s:/@?#\[\]]*)(?::(?P<secret>[^@]*))?@"
)
_PORT_THEN_PATH = re.compile(r"^\d*[/?#]")
#: schemes whose authority is a bucket or container: never a port
_PORTLESS = _OBJECT_STORES | {"snowflake", "bigquery"}


def without_userinfo(uri: str) -> str:
    """``uri`` without ``user:secret@`` (an Azure container, written as the user, is kept).

    ``user:pa@ss@host`` (an '@' left unencoded in the secret) loses all of it, one '@' per round.
    """
    first_user: str | None = None
    while (match := _USERINFO.match(uri)) is not None:
        scheme, secret = match["scheme"][:-3].lower(), match["secret"]
        if secret is not None and scheme not in _PORTLESS and _PORT_THEN_PATH.match(secret):
            break  # host:port/path with an '@' further on: no userinfo
        first_user = match["user"] if first_user is None else first_user
        uri = match["scheme"] + uri[match.end() :]
    if first_user and uri[: uri.find("://")].lower().startswith(("abfs", "wasb")):
        scheme, _, rest = uri.partition("://")
        uri = f"{scheme}://{first_user}@{rest}"
    return uri


def dataset_from_uri(uri: str) -> DatasetId:
    """Namespace and name of an Airflow Asset URI (``postgres://h:5432/db/schema/table``, ``s3://b/k`` ...).

    Credentials, query strings and fragments in the URI are dropped. Raises ``ValueError`` for a string
    that is not a URI.
    """
    windows = _windows_file(uri.strip())
    if windows is not None:
        return windows
    parts = urlsplit(without_userinfo(uri.strip()))
    scheme = parts.scheme.lower()
    if not scheme:
        msg = f"not a URI (no scheme): {uri!r}; give an Asset URI such as 's3://bucket/key'"
        raise ValueError(msg)
    if scheme == "kafka":
        return _kafka(parts)
    host = _bracketed((parts.hostname or "").lower())
    authority = f"{host}:{parts.port}" if parts.port else host
    path = unquote(parts.path)
    segments = [segment for segment in path.split("/") if segment]
    kind = source_kind(scheme)
    if scheme == "file":
        namespace = f"file://{authority}" if authority and authority != "localhost" else "file"
        return DatasetId(namespace, _trimmed(path))
    if scheme in _OBJECT_STORES:
        scheme = _STORE_SCHEMES.get(scheme, scheme)
        user = f"{parts.username}@" if parts.username and scheme.startswith(("abfs", "wasb")) else ""
        return DatasetId(f"{scheme}://{user}{authority}", _trimmed(path).lstrip("/") or "/")
    if scheme == "hdfs":
        return DatasetId(f"hdfs://{authority}", _trimmed(path) or "/")
    if kind == "sqlite":  # sqlite:///abs/path/file.db/table (the form DatasetId.uri gives)
        location, _, table = ("/" + "/".join(segments)).rpartition("/")
        return DatasetId(f"sqlite://{os.path.realpath(location)}", table)  # the file, as connections have it
    if kind == "bigquery":
        return DatasetId("bigquery", ".".join([host, *segments] if host else segments))
    if kind == "snowflake":
        return _snowflake_uri(host, segments)
    if kind in _SOURCES:
        source_scheme, default_port, _, _ = _SOURCES[kind]
        port = parts.port or default_port
        namespace = f"{source_scheme}://{host}:{port}" if port else f"{source_scheme}://{host}"
        name_parts = [_upper_unquoted(p) for p in segments] if kind in _UPPER_CASE_CATALOGS else segments
        return DatasetId(namespace, ".".join(name_parts))
    return DatasetId(f"{scheme}://{authority}", path)


_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "[::1]"}


def dataset_for_location(conn: Any, location: str) -> DatasetId | None:
    """The dataset of a location SQL reads or writes instead of a table (``COPY t FROM 's3://b/k'``,
    ``LOAD DATA INFILE '/data/x.csv'``, ``COPY (...) TO '/tmp/out.csv'``), per the naming spec: a URI as an
    Asset URI is named (credentials dropped), an absolute path as a file on the database's host (``file``
    when that is this machine or unknown, else ``file://{host}``). None for anything else (a table name, a
    relative path, a Snowflake stage: those stay names of the connection's namespace)."""
    text = location.strip()
    if _URI_SCHEME.match(text):
        try:
            return dataset_from_uri(text)
        except ValueError:
            return None
    if not (text.startswith("/") or _DRIVE.match(text.replace("\\", "/"))):
        return None
    windows = _windows_file(text)
    path = windows.name if windows is not None else _trimmed(text)
    host = "" if _kind(conn) == "sqlite" else _host(conn)
    return DatasetId("file" if host in _LOCAL_HOSTS else f"file://{host}", path)


def asset_uri(dataset: DatasetId) -> str | None:
    """The Airflow Asset URI of a dataset (inverse of :func:`dataset_from_uri`); None when there is none.

    Database tables become ``{namespace}/{part}/{part}...`` (``postgres://h:5432/db/schema/table``,
    ``mysql://h:3306/db/table``, ``sqlite:///path/file.db/table``); files and objects ``{namespace}/{name}``.
    """
    scheme = dataset.namespace.split("://", 1)[0].lower()
    if dataset.namespace == "file":
        return f"file://{dataset.name}"
    if scheme in _OBJECT_STORES or scheme == "hdfs":
        return f"{dataset.namespace}/{dataset.name.lstrip('/')}"
    kind = source_kind(scheme)
    if kind == "sqlite":
        return f"{dataset.namespace}/{dataset.name}"
    if kind == "bigquery":
        return "bigquery://" + dataset.name.replace(".", "/")
    if kind in _SOURCES:
        parts = _split_name(dataset.name)
        if len(parts) != _SOURCES[kind][2]:
            return None
        return f"{dataset.namespace}/{'/'.join(parts)}"
    return None

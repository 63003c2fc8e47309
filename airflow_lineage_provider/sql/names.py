"""How SQL names become dataset names: identifiers, tables, files and stages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlglot import exp

from airflow_lineage_provider.sql.model import TableRef

#: table functions that read files: their first string argument is the dataset
_FILE_READERS = {
    "read_parquet",
    "parquet_scan",
    "read_csv",
    "read_csv_auto",
    "read_json",
    "read_json_auto",
    "read_ndjson",
    "read_ndjson_auto",
    "read_text",
    "read_blob",
    "read_xlsx",
    "read_delta",
    "delta_scan",
    "iceberg_scan",
    "read_files",
    "readparquet",
    "readcsv",
    "readjson",
    # ClickHouse table functions over files and URLs
    "s3",
    "url",
    "file",
    "hdfs",
    "gcs",
    "deltalake",
    "hudi",
    "iceberg",
    "icebergs3",
    # T-SQL OPENROWSET(BULK 'file', ...), as text.rewrite_unparseable_forms spells it
    "openrowset_bulk",
}
#: readers whose first argument is a cluster name, the file the second (ClickHouse ``s3Cluster(c, url)``)
_CLUSTER_READERS = {"s3cluster", "urlcluster", "hdfscluster", "deltalakecluster", "icebergs3cluster"}
#: the argument that names the file when given by keyword (ClickHouse ``s3(collection, url = '...')``)
_LOCATION_KEYWORDS = {"url", "path", "filename", "uri"}
_FILE_SUFFIX = re.compile(
    r"\.(parquet|csv|tsv|json|ndjson|jsonl|avro|orc|txt|xlsx)(\.gz|\.zst|\.bz2)?$", re.I
)
#: one-row pseudo tables that are not datasets
PSEUDO_TABLES = {"dual", "sysdummy1"}
_FILE_FORMATS = {"parquet", "json", "csv", "orc", "avro", "delta", "text", "binaryfile", "iceberg", "hudi"}
_DYNAMIC_NAME = re.compile(r"^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}$")


def ident(node: Any) -> str:
    """Identifier text as a dataset/column name: quoted keeps case, unquoted is lower-cased. Where unquoted
    names mean their upper-case form (Snowflake, Oracle), a quoted upper-case name is the unquoted one."""
    if isinstance(node, exp.Identifier):
        if node.quoted and _fold_upper.get() and _UPPER_NAME.match(node.this):
            return node.this.lower()
        return node.this if node.quoted else node.this.lower()
    if isinstance(node, str):
        return node.lower()
    if node is None:
        return ""
    return node.name.lower() if hasattr(node, "name") else str(node).lower()


#: dialects whose table names are case-sensitive even unquoted (BigQuery datasets and tables; MySQL and
#: MariaDB databases and tables, on the usual Linux servers; ClickHouse databases and tables): dataset names
#: keep the case written; columns, aliases and CTE names still match case-insensitively
_CASE_SENSITIVE_TABLES = {"bigquery", "mysql", "clickhouse"}


def keeps_table_case(dialect: str | None) -> bool:
    """Whether unquoted database and table names keep the case written in ``dialect``."""
    return (dialect or "").lower() in _CASE_SENSITIVE_TABLES


_keep_table_case: ContextVar[bool] = ContextVar("keep_table_case", default=False)
#: dialects that store unquoted names upper-case: ``"ORDERS"`` is ``orders``, ``"Orders"`` is not
_UPPER_CASE_NAMES = {"snowflake", "oracle", "exasol"}
_UPPER_NAME = re.compile(r"^[A-Z_][A-Z0-9_$#]*$")
_fold_upper: ContextVar[bool] = ContextVar("fold_upper", default=False)
#: dialects that fold unquoted names to lower case and keep quoted ones as written, also for CTE names:
#: ``"X"`` and ``x`` are two names there (elsewhere CTE names match case-insensitively)
_QUOTED_CASE_SENSITIVE = {"postgres"}
_quoted_case: ContextVar[bool] = ContextVar("quoted_case", default=False)


#: BigQuery partition decorators: ``t$20240101`` (day, hour, month, year), ``t$__UNPARTITIONED__``
_PARTITION_DECORATOR = re.compile(r"\$(?:\d{4,10}|__UNPARTITIONED__|__NULL__)$", re.IGNORECASE)
_partition_decorators: ContextVar[bool] = ContextVar("partition_decorators", default=False)


@contextmanager
def table_case_of(dialect: str | None) -> Iterator[None]:
    """Within this block, :func:`table_ref` keeps unquoted table-name case where ``dialect`` does (and drops
    BigQuery partition decorators), and :func:`ident` reads quoted upper-case names as unquoted ones where
    ``dialect`` folds names upper-case."""
    token = _keep_table_case.set(keeps_table_case(dialect))
    fold = _fold_upper.set((dialect or "").lower() in _UPPER_CASE_NAMES)
    quoted_case = _quoted_case.set((dialect or "").lower() in _QUOTED_CASE_SENSITIVE)
    decorators = _partition_decorators.set((dialect or "").lower() == "bigquery")
    try:
        yield
    finally:
        _partition_decorators.reset(decorators)
        _quoted_case.reset(quoted_case)
        _fold_upper.reset(fold)
        _keep_table_case.reset(token)


def cte_key(node: Any) -> str:
    """The name a CTE (or a reference to one) matches by: case-insensitive, except where quoted names keep
    their case (PostgreSQL: ``"X"`` is not ``x``, but ``"x"`` is)."""
    name = node if isinstance(node, str) else ident(node)  # a str is a name already read
    return name if _quoted_case.get() else name.lower()


def _table_part(node: Any) -> str:
    if _keep_table_case.get() and isinstance(node, exp.Identifier):
        return node.this
    return ident(node)


def is_quoted(node: Any) -> bool:
    return isinstance(node, exp.Identifier) and bool(node.quoted)


_DYNAMIC_NAME = re.compile(r"^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}$")


def table_ref(table: exp.Table) -> TableRef | None:
    """The dataset a Table node names, or None for table functions, dynamic names, UNNEST, VALUES..."""
    this = table.this
    dynamic = isinstance(this, exp.DynamicIdentifier) or (
        isinstance(this, exp.Anonymous)
        and str(this.this).lower() == "identifier"
        and len(this.expressions) == 1
    )
    if dynamic:
        inner = this.this if isinstance(this, exp.DynamicIdentifier) else this.expressions[0]
        # identifier(name) and identifier('name') name a table; $var, :bind, ? and expressions do not
        if isinstance(inner, exp.Literal) and inner.is_string and _DYNAMIC_NAME.match(inner.this):
            parts = inner.this.lower().split(".")
        elif isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star):
            parts = [ident(p) for p in inner.parts]
        else:
            return None
        parts = [p for p in parts if p]
        if not parts or len(parts) > 3:
            return None
        return TableRef(
            parts[-1], parts[-2] if len(parts) > 1 else None, parts[-3] if len(parts) > 2 else None
        )
    if isinstance(this, exp.Parameter) and isinstance(this.this, exp.Var) and not table.args.get("db"):
        return TableRef("@" + this.this.name)  # T-SQL table variable (script-local, see engine)
    linked = _db_link_ref(table)
    if linked is not None:
        return linked
    if isinstance(this, exp.Dot):  # four parts (T-SQL linked server.db.schema.table): the first two join
        return _four_part_ref(table, this)
    if not isinstance(this, exp.Identifier):
        return None
    name = _table_part(this)
    if _partition_decorators.get() and "$" in name:  # t$20240101 is a partition of the table t
        name = _PARTITION_DECORATOR.sub("", name)
    if not name:
        return None
    if this.args.get("global_") or this.args.get("global"):
        name = "##" + name  # T-SQL global temporary table
    elif this.args.get("temporary"):
        name = "#" + name  # T-SQL local temporary table
    schema = _table_part(table.args.get("db")) or None
    database = _table_part(table.args.get("catalog")) or None
    if isinstance(table.args.get("catalog"), exp.Dot):
        return None
    return TableRef(name, schema, database)


def reader_files(func: exp.Func) -> list[str]:
    """The files a file-reading table function reads: its first argument, a string or a list of strings
    (``read_csv('a.csv', header = true)``, ``read_parquet(['a.parquet', 'b.parquet'])``)."""
    name = (func.name if isinstance(func, exp.Anonymous) else func.key).lower()
    if name not in _FILE_READERS and name not in _CLUSTER_READERS:
        return []
    this = func.this if isinstance(func.this, exp.Expression) else None
    first = this if this is not None and not isinstance(func, exp.Anonymous) else None
    position = 1 if name in _CLUSTER_READERS else 0
    if first is None and len(func.expressions) > position:
        first = func.expressions[position]
    if not (isinstance(first, exp.Literal | exp.Array)):  # a named collection: the location by keyword
        for arg in func.expressions:
            if isinstance(arg, exp.EQ | exp.PropertyEQ) and ident(arg.this) in _LOCATION_KEYWORDS:
                first = arg.expression
    items = first.expressions if isinstance(first, exp.Array) else [first]
    return [i.this for i in items if isinstance(i, exp.Literal) and i.is_string]


#: table functions whose first argument names a table (Databricks ``table_changes('db.t', 2)``)
_TABLE_READERS = {"table_changes"}


#: ClickHouse table functions over a table of a cluster the server belongs to: ``cluster('c', db.t)``,
#: ``cluster('c', db, t)``, ``clusterAllReplicas('c', 'db', 't')`` (``remote()`` names another server: no
#: dataset of this connection)
_CLUSTER_TABLE_READERS = {"cluster", "clusterallreplicas"}


def _cluster_table(func: exp.Anonymous) -> TableRef | None:
    args = func.expressions[1:3]
    parts: list[str] = []
    for arg in args:
        if isinstance(arg, exp.Literal) and arg.is_string and _DYNAMIC_NAME.match(arg.this):
            parts.extend(_table_part(exp.to_identifier(p)) for p in arg.this.split("."))
        elif isinstance(arg, exp.Column) and not isinstance(arg.this, exp.Star):
            parts.extend(_table_part(p) for p in arg.parts)
        else:
            break
    if not parts or len(parts) > 3:
        return None
    return TableRef(parts[-1], parts[-2] if len(parts) > 1 else None, parts[-3] if len(parts) > 2 else None)


def reader_table(func: exp.Func) -> TableRef | None:
    """The table a table-reading function reads, from its first argument ``'[catalog.][db.]table'``."""
    if isinstance(func, exp.Anonymous) and func.name.lower() in _CLUSTER_TABLE_READERS:
        return _cluster_table(func)
    if not isinstance(func, exp.Anonymous) or func.name.lower() not in _TABLE_READERS or not func.expressions:
        return None
    first = func.expressions[0]
    if not (isinstance(first, exp.Literal) and first.is_string and _DYNAMIC_NAME.match(first.this)):
        return None
    parts = [_table_part(exp.to_identifier(p)) for p in first.this.split(".")]
    return TableRef(parts[-1], parts[-2] if len(parts) > 1 else None, parts[-3] if len(parts) > 2 else None)


def paths_of(node: exp.Expression) -> list[TableRef]:
    """Every file a FROM item reads (several for a reader over a list of files), else its one path (or the
    table a table-reading function names)."""
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
        table = reader_table(node.this)
        return [table] if table is not None else [TableRef(f) for f in reader_files(node.this)]
    path = path_of(node)
    return [path] if path is not None else []


def _db_link_ref(table: exp.Table) -> TableRef | None:
    """Oracle ``[schema.]t@link.domain.com``: the link's dots are no name parts (the parser splits them),
    ``t@link.domain.com`` is the table name and what is before it the schema (and database)."""
    this = table.this
    parts = [table.args.get("catalog"), table.args.get("db")]
    parts += [this.this, this.expression] if isinstance(this, exp.Dot) else [this]
    names = [p for p in parts if p is not None]
    if not all(isinstance(p, exp.Identifier) for p in names):
        return None
    at = next((i for i, p in enumerate(names[:-1]) if "@" in p.this and not p.quoted), None)
    if at is None:
        return None
    before = [_table_part(p) for p in names[:at]]
    name = ".".join(_table_part(p) for p in names[at:])
    if len(before) > 2:
        return None
    return TableRef(name, before[-1] if before else None, before[0] if len(before) == 2 else None)


def _four_part_ref(table: exp.Table, dot: exp.Dot) -> TableRef | None:
    parts = [table.args.get("catalog"), table.args.get("db"), dot.this, dot.expression]
    if not all(isinstance(p, exp.Identifier | str) for p in parts):
        return None
    server, database, schema, name = (_table_part(p) for p in parts)
    if not name or not database:
        return None
    return TableRef(name, schema or None, f"{server}.{database}" if server else database)


def path_of(node: exp.Expression) -> TableRef | None:
    """A file/stage/URI location written in the SQL, as a one-part dataset name."""
    if isinstance(node, exp.Literal) and node.is_string:
        return TableRef(node.this)
    if isinstance(node, exp.Table):
        this = node.this
        if isinstance(this, exp.Var) and str(this.this).startswith("@"):
            return TableRef(str(this.this))
        if isinstance(this, exp.Func):
            files = reader_files(this)
            return TableRef(files[0]) if files else None
        if (
            isinstance(this, exp.Identifier)
            and this.quoted
            and not node.args.get("db")
            and ("/" in this.this or _FILE_SUFFIX.search(this.this))
        ):
            return TableRef(this.this)  # DuckDB: FROM 'data/file.parquet'
        if isinstance(this, exp.Literal) and this.is_string:
            return TableRef(this.this)
        if (
            isinstance(this, exp.Identifier)
            and this.quoted
            and "/" in this.this
            and ident(node.args.get("db")) in _FILE_FORMATS
        ):
            return TableRef(this.this)
    if isinstance(node, exp.Directory):
        return path_of(node.this)
    return None


def dictionary_read(call: exp.Expression) -> tuple[TableRef, list[str], list[exp.Expression]] | None:
    """ClickHouse ``dictGet[OrDefault|OrNull|String|...]('db.dict', 'attr' | ('a', 'b'), key[, default])`` and
    ``dictHas('db.dict', key)``: the dictionary read, the attributes read from it and the other arguments
    (keys, defaults), or None for any other call. The dictionary may be named unquoted (``dictGet(d,
    ...)``)."""
    if not isinstance(call, exp.Anonymous) or not call.expressions:
        return None
    fn = str(call.this).lower()
    if not (fn.startswith("dictget") or fn == "dicthas"):
        return None
    first = call.expressions[0]
    if isinstance(first, exp.Literal) and first.is_string and _DICTIONARY_NAME.fullmatch(first.this):
        try:
            ref = table_ref(exp.to_table(first.this, dialect="clickhouse"))
        except Exception:
            return None
    elif isinstance(first, exp.Column) and not isinstance(first.this, exp.Star):
        parts = [ident(p) for p in first.parts]
        ref = TableRef(parts[-1], parts[-2] if len(parts) > 1 else None) if len(parts) <= 2 else None
    else:
        return None
    if ref is None:
        return None
    if fn == "dicthas":
        return ref, [], list(call.expressions[1:])
    attrs_node = call.expressions[1] if len(call.expressions) > 1 else None
    items = attrs_node.expressions if isinstance(attrs_node, exp.Tuple) else [attrs_node]
    attrs = [i.this for i in items if isinstance(i, exp.Literal) and i.is_string]
    return ref, attrs, list(call.expressions[2:])


_DICTIONARY_NAME = re.compile(r"[\w$]+(?:\.[\w$]+)?")

"""Script-level driver: clean, split, parse per dialect, analyse each statement, net the script."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_lineage_provider.sql import text
from airflow_lineage_provider.sql.dialects import DIALECT_ALIASES, sqlglot_dialect
from airflow_lineage_provider.sql.model import (
    IDENTITY,
    ColumnLineage,
    ColumnRef,
    IndirectLineage,
    SqlLineage,
    StatementLineage,
    TableRef,
)
from airflow_lineage_provider.sql.names import table_case_of
from airflow_lineage_provider.sql.walker import StatementWalker, merge_edges, stronger

log = logging.getLogger(__name__)

#: deeper parenthesis nesting is not given to the recursive-descent parser (table-level fallback instead)
MAX_PAREN_DEPTH = 100
#: longer statements (after VALUES shortening) get the linear table-level scan only (bounded cost)
MAX_PARSE_CHARS = 250_000
#: longer statements with a VALUES list are analysed with their first row only
VALUES_SHORTEN_AT = 20_000
#: deeper BEGIN ... END nesting gets the table-level scan (every level costs scans of the remaining text)
MAX_BLOCK_DEPTH = 32
#: a piece that is itself a block (``BEGIN ... END``, not ``BEGIN TRANSACTION``): unwrapped without a parse
_NESTED_BLOCK = re.compile(
    r"^\s*BEGIN\b(?!\s*;|\s+(?:TRANSACTION|TRAN|WORK|DISTRIBUTED|DEFERRED|IMMEDIATE|EXCLUSIVE)\b)",
    re.IGNORECASE,
)
#: dialects where a database *is* a schema: ``USE x`` sets the default schema
_USE_SETS_SCHEMA = {"mysql", "hive", "spark", "spark2", "databricks", "doris", "starrocks", "clickhouse"}

_SEARCH_PATH = re.compile(
    r"^\s*SET\s+(?:SESSION\s+|LOCAL\s+)?search_path\s*(?:TO|=)\s*(.+)$", re.IGNORECASE | re.DOTALL
)
#: the session's schema: Oracle ``ALTER SESSION SET CURRENT_SCHEMA = s``, ``SET [CURRENT] SCHEMA [=] s``
#: (PostgreSQL's alias of ``SET search_path``, Db2, Exasol)
_SET_SCHEMA = re.compile(
    r"^\s*(?:ALTER\s+SESSION\s+SET\s+CURRENT_SCHEMA|SET\s+(?:CURRENT\s+)?SCHEMA)\s*(?:=|TO\s)?\s*"
    r"(?P<name>'[^']+'|\"(?:[^\"]|\"\")+\"|[\w$]+)\s*;?\s*$",
    re.IGNORECASE,
)
_LOAD_DATA = re.compile(
    r"^\s*LOAD\s+(?:DATA|XML)\s+(?:LOW_PRIORITY\s+|CONCURRENT\s+)?(?:LOCAL\s+)?IN(?:FILE|PATH)\s+"
    r"(?:'(?P<file>[^']*)'|\"(?P<quoted_file>[^\"]*)\")\s+(?:OVERWRITE\s+|REPLACE\s+|IGNORE\s+)*"
    r"INTO\s+TABLE\s+(?P<table>[\w.`\"\[\]]+)",
    re.IGNORECASE,
)
#: T-SQL ``BULK INSERT t FROM 'file'``
_BULK_INSERT = re.compile(
    r"^\s*BULK\s+INSERT\s+(?P<table>[\w.\"\[\]#]+)\s+FROM\s+N?'(?P<file>[^']*)'", re.IGNORECASE
)
#: Redshift ``UNLOAD ('query') TO 's3://...'``; quotes in the query are doubled or backslash-escaped
_UNLOAD = re.compile(
    r"^\s*UNLOAD\s*\(\s*'((?:[^'\\]|''|\\.)*)'\s*\)\s*TO\s*'([^']*)'", re.IGNORECASE | re.DOTALL
)
_UNLOAD_ESCAPE = re.compile(r"''|\\(.)", re.DOTALL)
#: Athena ``UNLOAD (query) TO 's3://...' [WITH (...)]``: the query unquoted, in parentheses
_UNLOAD_QUERY = re.compile(r"^\s*UNLOAD\s*\(", re.IGNORECASE)
_UNLOAD_TO = re.compile(r"\s*TO\s*'([^']*)'", re.IGNORECASE)
#: ALTER TABLE forms that move rows from another table into the altered one (Hive/Oracle EXCHANGE
#: PARTITION, Redshift APPEND FROM): group 1 is written, group 2 read
_ALTER_MOVES = re.compile(
    r"^\s*ALTER\s+TABLE\s+([\w.`\"\[\]]+)\s+(?:EXCHANGE\s+PARTITION\s*(?:\(.*?\)|\w+)\s*WITH\s+TABLE"
    r"|APPEND\s+FROM)\s+([\w.`\"\[\]]+)",
    re.IGNORECASE | re.DOTALL,
)
_NAME = r"(?:[\w$]+|\"(?:[^\"]|\"\")+\"|`[^`]+`)(?:\.(?:[\w$]+|\"(?:[^\"]|\"\")+\"|`[^`]+`)){0,2}"
#: Databricks ``RESTORE [TABLE] t [TO] VERSION|TIMESTAMP AS OF ...``: t's data goes back to an older version
_RESTORE = re.compile(
    rf"^\s*RESTORE\s+(?:TABLE\s+)?(?P<table>{_NAME})\s+(?:TO\s+)?(?:VERSION|TIMESTAMP)\s+AS\s+OF\b",
    re.IGNORECASE,
)
#: Delta Live Tables ``APPLY CHANGES INTO t FROM STREAM(s) KEYS (...) ...`` (also ``CREATE FLOW f AS AUTO CDC
#: INTO t FROM ...``): the change rows of s are merged into t, column by column
_APPLY_CHANGES = re.compile(
    rf"^\s*(?:CREATE\s+(?:OR\s+REFRESH\s+)?FLOW\s+{_NAME}\s+AS\s+)?(?:APPLY\s+CHANGES|AUTO\s+CDC)\s+INTO\s+"
    rf"(?P<target>{_NAME})\s+FROM\s+(?:STREAM\s*\(\s*(?P<stream>{_NAME})\s*\)|STREAM\s+(?P<bare>{_NAME})"
    rf"|(?P<plain>{_NAME}))",
    re.IGNORECASE,
)
#: refreshes that recompute a table from its own query: ``REFRESH MATERIALIZED VIEW [CONCURRENTLY] mv``
#: (PostgreSQL, Redshift, Trino, Databricks), Databricks ``REFRESH STREAMING TABLE st``, Snowflake ``ALTER
#: DYNAMIC TABLE dt REFRESH`` (not Spark's ``REFRESH TABLE t``, which drops cached metadata)
_REFRESH = re.compile(
    rf"^\s*(?:REFRESH\s+(?:MATERIALIZED\s+VIEW|STREAMING\s+TABLE)\s+(?:CONCURRENTLY\s+)?(?P<name>{_NAME})"
    rf"|ALTER\s+DYNAMIC\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<altered>{_NAME})\s+REFRESH)\b",
    re.IGNORECASE,
)
#: Databricks ``CONVERT TO DELTA t|parquet.`path` [NO STATISTICS] [PARTITIONED BY (...)]``: t becomes a Delta
#: table in place (its files get a transaction log)
_CONVERT_TO_DELTA = re.compile(rf"^\s*CONVERT\s+TO\s+DELTA\s+(?P<table>{_NAME})", re.IGNORECASE)
#: DuckDB ``EXPORT DATABASE [db TO] 'dir' [(options)]`` (every table written to files in dir) and ``IMPORT
#: DATABASE 'dir'`` (the other way round)
_DATABASE_TRANSFER = re.compile(
    r"^\s*(?P<verb>EXPORT|IMPORT)\s+DATABASE\s+(?:[\w\"]+\s+TO\s+)?'(?P<dir>(?:[^']|'')*)'", re.IGNORECASE
)
#: Hive ``EXPORT TABLE t [PARTITION (...)] TO 'path'``, ``IMPORT [[EXTERNAL] TABLE t [PARTITION (...)]]
#: FROM 'path' [LOCATION '...']``, ``MSCK REPAIR TABLE t [ADD|DROP|SYNC PARTITIONS]``, Databricks ``REPAIR
#: TABLE t`` (``MSCK TABLE t`` without REPAIR only reports: not matched)
_PARTITION_SPEC = r"(?:\s+PARTITION\s*\([^()]*\))?"
_HIVE_EXPORT = re.compile(
    rf"^\s*EXPORT\s+TABLE\s+(?P<table>{_NAME}){_PARTITION_SPEC}\s+TO\s+'(?P<path>(?:[^']|'')*)'",
    re.IGNORECASE,
)
_HIVE_IMPORT = re.compile(
    rf"^\s*IMPORT(?:\s+(?:EXTERNAL\s+)?TABLE\s+(?P<table>{_NAME}){_PARTITION_SPEC})?\s+FROM\s+"
    r"'(?P<path>(?:[^']|'')*)'",
    re.IGNORECASE,
)
_HIVE_REPAIR = re.compile(
    rf"^\s*(?:MSCK\s+)?REPAIR\s+TABLE\s+(?P<table>{_NAME})(?:\s+(?:ADD|DROP|SYNC)\s+PARTITIONS)?\s*;?\s*$",
    re.IGNORECASE,
)
#: DuckDB session setup: ``LOAD httpfs`` (an extension, not ``LOAD DATA``), ``CREATE [OR REPLACE]
#: [PERSISTENT|TEMPORARY] SECRET [name] (...)``, ``DROP [PERSISTENT|TEMPORARY] SECRET [IF EXISTS] name``
_SESSION_SETUP = re.compile(
    r"^\s*(?:LOAD\s++(?!DATA\b|XML\b)(?:[\w.]++|'[^']*+'|\"[^\"]*+\")\s*+;?\s*+$"
    r"|(?:CREATE\s+(?:OR\s+REPLACE\s+)?|DROP\s+)(?:PERSISTENT\s+|TEMPORARY\s+)?SECRET\b)",
    re.IGNORECASE,
)
#: Trino ``ALTER TABLE t EXECUTE optimize|expire_snapshots|remove_orphan_files(...)``: table maintenance
_ALTER_EXECUTE = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?{_NAME}\s+EXECUTE\b", re.IGNORECASE)
_ALTER_HEAD = r"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?"
_TABLE_NAME = r"[\w.`\"\[\]$#]+"
_ON_CLUSTER = r"(?:\s+ON\s+CLUSTER\s+\S+)?"
#: ALTER TABLE forms that move partitions between two tables, with the table that gains the rows (``into``)
#: and the one they come from (``src``): PostgreSQL ``ATTACH PARTITION child FOR VALUES ...|DEFAULT`` and
#: ``DETACH PARTITION child``, T-SQL ``SWITCH [PARTITION n] TO t``, ClickHouse ``ATTACH PARTITION p FROM t``
#: and ``MOVE PARTITION p TO TABLE t``
_ALTER_PARTITION_MOVES = (
    re.compile(
        rf"{_ALTER_HEAD}(?P<into>{_TABLE_NAME})\s+ATTACH\s+PARTITION\s+(?P<src>{_TABLE_NAME})\s+"
        r"(?:FOR\s+VALUES|DEFAULT)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"{_ALTER_HEAD}(?P<src>{_TABLE_NAME})\s+DETACH\s+PARTITION\s+(?P<into>{_TABLE_NAME})"
        r"(?:\s+(?:CONCURRENTLY|FINALIZE))?\s*;?\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        rf"{_ALTER_HEAD}(?P<src>{_TABLE_NAME})\s+SWITCH\s+(?:PARTITION\s+\S+\s+)?TO\s+(?P<into>{_TABLE_NAME})",
        re.IGNORECASE,
    ),
    re.compile(
        rf"{_ALTER_HEAD}(?P<into>{_TABLE_NAME}){_ON_CLUSTER}\s+(?:ATTACH|REPLACE)\s+PARTITION\s+"
        rf".*?\bFROM\s+(?P<src>{_TABLE_NAME})\s*;?\s*$",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(
        rf"{_ALTER_HEAD}(?P<src>{_TABLE_NAME}){_ON_CLUSTER}\s+MOVE\s+PARTITION\s+"
        rf".*?\bTO\s+TABLE\s+(?P<into>{_TABLE_NAME})\s*;?\s*$",
        re.IGNORECASE | re.DOTALL,
    ),
)
#: partition maintenance of one table the parser keeps opaque (Oracle/MySQL ``TRUNCATE|DROP PARTITION p``,
#: ClickHouse ``DETACH|DROP|FREEZE PARTITION p``, Spark ``RECOVER PARTITIONS``): it writes that table only
_ALTER_PARTITION_ONLY = re.compile(
    rf"{_ALTER_HEAD}(?P<table>{_TABLE_NAME}){_ON_CLUSTER}\s+(?:ADD|DROP|TRUNCATE|DETACH|ATTACH|RECOVER|MERGE|"
    r"SPLIT|COALESCE|REORGANIZE|REBUILD|OPTIMIZE|ANALYZE|CHECK|REPAIR|DISCARD|IMPORT|FREEZE|UNFREEZE|CLEAR|"
    r"MATERIALIZE|EXCHANGE|MOVE|REMOVE|FETCH)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:SUB)?PARTITION(?:S|ING)?\b"
    r"(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_NAMES_ANOTHER_TABLE = re.compile(r"\b(?:FROM|TO|WITH\s+TABLE|INTO|REFERENCES)\b", re.IGNORECASE)
#: MySQL / ClickHouse / Teradata ``RENAME TABLE a TO b [, c TO d ...]`` (a pair as ALTER TABLE a RENAME TO b)
_RENAME_TABLES = re.compile(
    rf"^\s*RENAME\s+TABLES?\s+(?P<pairs>{_NAME}\s+TO\s+{_NAME}(?:\s*,\s*{_NAME}\s+TO\s+{_NAME})*)"
    r"(?:\s+ON\s+CLUSTER\s+\S+)?\s*;?\s*$",
    re.IGNORECASE,
)
_RENAME_PAIR = re.compile(rf"({_NAME})\s+TO\s+({_NAME})", re.IGNORECASE)
#: PostgreSQL ``ALTER TABLE|VIEW|MATERIALIZED VIEW t OWNER TO r`` (a catalog change of t) and ``... SET
#: SCHEMA s`` (t moves: a rename to ``s.t``), which the parser keeps opaque
_ALTER_OWNER_OR_SCHEMA = re.compile(
    rf"^\s*ALTER\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|FOREIGN\s+TABLE)\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?"
    rf"(?P<table>{_NAME})\s+(?P<verb>OWNER\s+TO|SET\s+SCHEMA)\s+(?P<to>[\w$]+|\"(?:[^\"]|\"\")+\")\s*;?\s*$",
    re.IGNORECASE,
)
#: ClickHouse ``EXCHANGE TABLES a AND b``
_EXCHANGE = re.compile(rf"^\s*EXCHANGE\s+TABLES\s+({_NAME})\s+AND\s+({_NAME})", re.IGNORECASE)
#: Snowflake ``CREATE [OR REPLACE] STREAM [IF NOT EXISTS] s [COPY GRANTS] ON TABLE|VIEW|STAGE src``
_CREATE_STREAM = re.compile(
    rf"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?STREAM\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<stream>{_NAME})"
    r"(?:\s+COPY\s+GRANTS)?\s+ON\s+(?:EXTERNAL\s+TABLE|DYNAMIC\s+TABLE|TABLE|VIEW|STAGE)\s+"
    rf"(?P<source>@[\w.$/]+|{_NAME})",
    re.IGNORECASE,
)
#: MySQL ``INTO OUTFILE 'file'`` and its export options, up to FROM or the end (strings skipped as a whole)
_INTO_OUTFILE = re.compile(
    r"\bINTO\s+(?:OUTFILE|DUMPFILE)\s+'((?:[^'\\]|\\.|'')*)'((?:'(?:[^'\\]|\\.)*'|(?!\bFROM\b)[^';])*)",
    re.IGNORECASE,
)
#: dynamic SQL given as one constant string: ``EXECUTE IMMEDIATE '...' [INTO|USING ...]`` (Snowflake,
#: BigQuery, also ``"..."`` / ``"""..."""`` there, Oracle), PL/pgSQL ``EXECUTE '...' [INTO|USING ...]``, T-SQL
#: ``EXEC ('...')`` and ``EXEC sp_executesql N'...' [, params]``; text built by concatenation or variables
#: does not match (``rest`` must be empty or a clause that adds no SQL text)
_EXECUTE_STRING = re.compile(
    r"^\s*EXEC(?:UTE)?\s*(?:"
    r"IMMEDIATE\s+(?P<immediate>N?'(?:[^']|'')*'|\$\$.*?\$\$|(?P<dq>\"\"\".*?\"\"\"|\"(?:[^\"\\]|\\.)*\"))"
    r"\s*(?P<clauses>(?:(?:INTO|USING)\b.*)?)"
    r"|(?P<plain>'(?:[^']|'')*')\s*(?:(?:INTO|USING)\b.*)?"
    r"|\(\s*(?P<paren>N?'(?:[^']|'')*')\s*\)"
    r"|(?:sys\.)?sp_executesql\s+(?:@stmt\s*=\s*)?(?P<proc>N?'(?:[^']|'')*')\s*(?P<params>(?:,.*)?)"
    r")\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
#: MySQL ``PREPARE stmt FROM '...'`` of a constant string: the statement its ``EXECUTE stmt`` runs
_PREPARE_STRING = re.compile(
    r"^\s*PREPARE\s+\w+\s+FROM\s+(?P<literal>'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\")\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_BACKSLASH_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_WRITE_START = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|MERGE|UPSERT|REPLACE)\b", re.IGNORECASE)
#: T-SQL ``INSERT [INTO] t [(cols)] EXEC[UTE] ...``: the rows a procedure or dynamic SQL returns go to t
_INSERT_EXEC = re.compile(
    rf"^\s*INSERT\s+(?:INTO\s+)?(?P<target>{_NAME}|\[[^\]]+\](?:\.\[[^\]]+\]){{0,2}}|#\w+|@\w+)\s*"
    r"(?P<cols>\([^()]*\))?\s*(?P<exec>EXEC(?:UTE)?\b.*)$",
    re.IGNORECASE | re.DOTALL,
)
#: T-SQL ``EXEC sp_rename 'schema.old', 'new' [, 'OBJECT']``: a table rename (not of a column or index)
_SP_RENAME = re.compile(
    r"^\s*EXEC(?:UTE)?\s+(?:sys\.)?sp_rename\s+(?:@objname\s*=\s*)?N?'(?P<old>[^']+)'\s*,\s*"
    r"(?:@newname\s*=\s*)?N?'(?P<new>[^'.]+)'\s*(?:,\s*(?:@objtype\s*=\s*)?N?'(?P<kind>\w+)'\s*)?;?\s*$",
    re.IGNORECASE,
)
#: ClickHouse ``INSERT INTO [TABLE] t [(cols)] [FROM INFILE 'file' [COMPRESSION 'x']] [SETTINGS ...] FORMAT
#: fmt`` (rows sent by the client, or read from a file)
_INSERT_FORMAT = re.compile(
    rf"^\s*INSERT\s+INTO\s+(?:TABLE\s+)?(?P<target>{_NAME})\s*(?:\([^()]*\))?\s*"
    r"(?:FROM\s+INFILE\s+'(?P<file>[^']*)'\s*(?:COMPRESSION\s+'[^']*'\s*)?)?"
    r"(?:SETTINGS\s+[^;]*?\s*)?FORMAT\s+\w+",
    re.IGNORECASE,
)
#: Exasol ``IMPORT INTO t [(cols)] FROM CSV|FBV AT 'url' FILE 'f' ...`` and ``EXPORT t|(query) INTO CSV|FBV
#: AT 'url' FILE 'f'`` (from or to another database, ``EXA|ORA|JDBC``, the remote side is no known dataset)
_EXA_FORMATS = (
    r"(?P<kind>LOCAL\s+(?:SECURE\s+)?(?:CSV|FBV)|CSV|FBV|EXA|ORA|JDBC(?:\s+DRIVER\s*=\s*'[^']*')?|SCRIPT)"
)
_EXA_IMPORT = re.compile(
    rf"^\s*IMPORT\s+INTO\s+(?P<target>{_NAME})\s*(?:\([^()]*\))?\s*FROM\s+{_EXA_FORMATS}\b(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_EXA_EXPORT = re.compile(
    rf"^\s*EXPORT\s+(?:\((?P<query>.*)\)|(?P<source>{_NAME}))\s*INTO\s+{_EXA_FORMATS}\b(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_NO_LINEAGE_COMMANDS = re.compile(
    r"^\s*(SET(?![\s\S]*\bSELECT\b)|RESET|SHOW|DESC|DESCRIBE|EXPLAIN|ANALYZE|VACUUM|REFRESH|CACHE(?![\s\S]*\bSELECT\b)|UNCACHE|ADD\s+(JAR|FILE|ARCHIVE)|"
    r"LIST|GRANT|REVOKE|COMMENT|PRINT|RAISERROR|COMMIT|ROLLBACK|START\s+TRANSACTION|CALL|EXEC|EXECUTE|MSCK|OPTIMIZE|"
    r"SAVEPOINT|RELEASE|ABORT|SAVE\s+TRAN(?:SACTION)?|"  # savepoints (T-SQL SAVE TRAN), PostgreSQL ABORT
    # SQLite BEGIN DEFERRED|IMMEDIATE|EXCLUSIVE, END [TRANSACTION]; Teradata BT / ET (begin / end transaction)
    r"BEGIN\s+(?:DEFERRED|IMMEDIATE|EXCLUSIVE)|(?:END(?:\s+TRANSACTION)?|BT|ET)(?=\s*$)|"
    r"LOCK|UNLOCK|KILL|GO|PUT|GET|REMOVE|RENAME\s+(USER|ROLE)|FETCH|OPEN|CLOSE|DEALLOCATE|"
    # maintenance: statistics, indexes, storage, sessions (no data moves between datasets)
    r"UPDATE\s+STATISTICS|ALTER\s+(INDEX|WAREHOUSE|SESSION|USER|ROLE)|REINDEX|CLUSTER|CHECKPOINT|DBCC|FLUSH|"
    r"SYSTEM|WAITFOR|BACKUP|RESTORE|DISCARD|LISTEN|NOTIFY|UNLISTEN|"
    # Impala: table statistics and the catalog's cached metadata
    r"(?:COMPUTE|DROP)\s+(?:INCREMENTAL\s+)?STATS|INVALIDATE\s+METADATA|"
    r"CREATE\s+(OR\s+REPLACE\s+)?(TEMPORARY\s+|TEMP\s+)?(FUNCTION|PROCEDURE|ROLE|USER)|DROP\s+(FUNCTION|PROCEDURE))\b",
    re.IGNORECASE,
)
_CREATE_FUNCTION = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+|TEMP\s+)?FUNCTION\b", re.IGNORECASE
)
#: procedural lines of scripts and routines: no lineage of their own, not an error when nothing is found
_PROCEDURAL = re.compile(
    r"^\s*(BEGIN|END|IF|ELSE|ELSIF|ELSEIF|LOOP|WHILE|FOR|REPEAT|UNTIL|DECLARE|RAISE|RETURN|EXCEPTION|THROW|"
    r"LEAVE|ITERATE|CONTINUE|BREAK|EXIT|CASE|WHEN|OPEN|CLOSE|FETCH|DEALLOCATE|PREPARE|LET)\b"
    r"|^\s*[\w.@$]+\s*:=|^\s*/\s*$",  # PL/SQL assignment, SQL*Plus block terminator
    re.IGNORECASE,
)

#: dialects where a name's prefix makes a session-local table: T-SQL ``#t`` and table variables ``@t``,
#: Redshift ``#t`` (``CREATE TABLE #stage (LIKE t)``, as S3ToRedshiftOperator's UPSERT writes it)
_HASH_TEMP: dict[str, tuple[str, ...]] = {"tsql": ("@", "#"), "redshift": ("#",)}

#: sqlglot dialects where ``SELECT ... INTO t`` creates the table t ("" = generic)
_SELECT_INTO_TABLE = {"", "tsql", "postgres", "redshift", "materialize"}
#: dialects whose routines are PL/pgSQL (Redshift stored procedures too)
_PLPGSQL = {"postgres", "redshift"}

_sqlglot_quieted = False


@dataclass
class _State:
    dialect: str | None
    read: str
    database: str | None
    schema_name: str | None
    columns: Mapping[str, list[str]] | None
    statements: list[StatementLineage] = field(default_factory=list)
    temporary: set[TableRef] = field(default_factory=set)
    written: set[TableRef] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)
    #: > 0 while the statements of a procedural body (BEGIN ... END, DO $$ ... $$) are analysed
    routine: int = 0
    #: the last text given to ``_analyze_tree`` and its stripped form: one text parsed into many statements
    #: (a script swallowed by an unterminated ``$$`` and re-parsed) is stripped once, not once per statement
    stripped: tuple[str, str] = ("", "")
    #: indexes of the statements that rename a table (ALTER TABLE a RENAME TO b, RENAME TABLE a TO b)
    renames: set[int] = field(default_factory=set)
    #: the statement that created each view or table of the script from a query (what a refresh reads)
    definitions: dict[TableRef, StatementLineage] = field(default_factory=dict)
    #: a ``time.monotonic()`` value: past it the analysis stops before its next statement
    deadline: float | None = None
    #: SQL functions and macros the script defined (BigQuery ``CREATE TEMP FUNCTION f(x) AS (expr)``, DuckDB
    #: ``CREATE MACRO f(x) AS expr``), by lowercase name: their parameters and body, inlined where called
    functions: dict[str, tuple[list[str], Any]] = field(default_factory=dict)
    #: Snowflake session variables set to a string (``SET target = 'an.t'``), by lowercase name: what
    #: ``IDENTIFIER($target)`` names
    session_strings: dict[str, str] = field(default_factory=dict)
    #: the named columns of tables the script created from a query with a ``*`` next to them (lower-case)
    named_columns: dict[TableRef, set[str]] = field(default_factory=dict)


class _OutOfTime(Exception):
    """The caller's deadline passed: no further statement is analysed."""


def analyze_safely(sql: Any, dialect: str | None, **kwargs: Any) -> SqlLineage:
    """``analyze`` without ever raising: any unexpected error becomes an error entry of the result."""
    try:
        if isinstance(sql, list | tuple):  # SQLExecuteQueryOperator(sql=[...]): one script
            sql = ";\n".join(str(s) for s in sql if s)
        return _analyze(sql if isinstance(sql, str) else str(sql or ""), dialect, **kwargs)
    except Exception as exc:
        return SqlLineage(
            errors=(f"lineage analysis failed: {type(exc).__name__}: {exc}",),
            partial=True,
            columns_known=False,
        )


def normalize_schema(schema: Any) -> dict[str, list[str]] | None:
    """``{"[db.][schema.]table": [cols] | {col: type}}`` -> lower-cased keys, column names as the catalog
    spells them (``SELECT *`` expands to those; references match them case-insensitively)."""
    if not schema or not isinstance(schema, Mapping):
        return None
    out: dict[str, list[str]] = {}
    for key, cols in schema.items():
        names = list(cols.keys()) if isinstance(cols, Mapping) else [str(c) for c in cols or ()]
        out[str(key).lower()] = [str(c) for c in names]
    return out


def _quiet_sqlglot() -> None:
    global _sqlglot_quieted
    if not _sqlglot_quieted:
        # sqlglot warns on every statement it keeps as an opaque Command; we report those ourselves
        logging.getLogger("sqlglot").setLevel(logging.ERROR)
        _sqlglot_quieted = True


def _analyze(
    sql: str,
    dialect: str | None,
    *,
    default_database: str | None = None,
    default_schema: str | None = None,
    schema: Any = None,
    keep_temp_tables: bool = False,
    deadline: float | None = None,
) -> SqlLineage:
    _quiet_sqlglot()
    state = _State(
        dialect=dialect,
        read=sqlglot_dialect(dialect),
        database=default_database,
        schema_name=default_schema,
        columns=normalize_schema(schema),
        deadline=deadline,
    )
    if dialect and sqlglot_dialect(dialect) == "" and dialect.lower() not in ("generic", "ansi", "db2"):
        known = ", ".join(sorted(DIALECT_ALIASES))
        state.warnings.append(
            f"unknown dialect {dialect!r}: parsed with the generic dialect; known dialects: {known}"
        )
    cleaned = text.clean_templating(sql)
    try:
        with table_case_of(state.read), text.comment_style(state.read):
            if state.read == "mysql":
                cleaned = text.unwrap_executable_comments(text.apply_client_delimiters(cleaned))
            elif state.read in ("postgres", "tsql"):
                cleaned = text.flatten_nested_comments(cleaned)
            for piece in text.split_statements(cleaned):
                _analyze_piece(piece, state, allow_routine=True)
    except _OutOfTime:
        result = _net(state, keep_temp_tables)
        done = len(state.statements)
        error = (
            f"analysis stopped at its time limit after {done} statement{'s' if done != 1 else ''}: "
            "the tables of the rest of the SQL are missing"
        )
        return dataclasses.replace(result, errors=(*result.errors, error), partial=True, stopped_early=True)
    return _net(state, keep_temp_tables)


def _analyze_piece(piece: str, state: _State, *, allow_routine: bool, depth: int = 0) -> None:
    if state.deadline is not None and time.monotonic() > state.deadline:
        raise _OutOfTime
    if depth > MAX_BLOCK_DEPTH:
        _fallback(piece, state, f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels: table-level scan only")
        return
    body = text.routine_body(piece) if allow_routine else None
    if body is None and depth and _NESTED_BLOCK.match(text.strip_comments(piece)):
        body = text.routine_body(piece, anywhere=True)  # a block inside a block: no failed parse per level
    if body is not None:
        state.routine += 1
        outer = set(state.variables)
        state.variables.update(_routine_parameters(piece))  # names in the body, not columns
        try:
            for declaration in text.split_statements(text.routine_declarations(piece) or ""):
                _declaration(declaration, state, bare=True)
            for inner in text.split_statements(body):
                _analyze_piece(inner, state, allow_routine=False, depth=depth + 1)
        finally:
            state.routine -= 1
            state.variables.intersection_update(outer)  # what the routine declared ends with it
        return
    if allow_routine and _ROUTINE_HEAD_ONLY.match(piece):
        # PL/SQL CREATE PROCEDURE p IS <declaration>; ... BEGIN ... END: a script split on ; cuts the head,
        # with the first declaration, from the body (the later declarations are pieces of their own)
        for declaration in text.split_statements(text.routine_declarations(piece) or ""):
            _declaration(declaration, state, bare=True)
    if state.read == "snowflake" and piece.lstrip()[:3].lower() == "set":
        _remember_session_string(piece, state)
    if _handle_text_statement(piece, state):
        return
    if state.read == "tsql" and "output" in piece.lower():
        split = text.split_output_clause(text.strip_comments(piece))
        if split is not None:  # T-SQL OUTPUT [INTO]: the statement, then the rows it sends elsewhere
            before = len(state.statements)
            _analyze_piece(split[0], state, allow_routine=False, depth=depth + 1)
            if split[2] and len(state.statements) == before + 1 and not state.statements[-1].partial:
                _output_into(split[1], split[2], state, _merge_source(split[0], state))
            return
    if state.routine and state.read in _PLPGSQL:
        piece = text.rewrite_plpgsql_forms(piece)
    elif state.routine and state.read in ("mysql", "oracle"):
        piece = text.select_into_one_variable(piece)
    shortened = text.shorten_values(piece, VALUES_SHORTEN_AT)
    source = shortened if shortened is not None else piece
    if state.read == "tsql":
        source = text.strip_dml_top(source) or source
    if len(source) > MAX_PARSE_CHARS:  # the limit is on SQL, not on comments (generated headers, docs)
        source = text.strip_comments(source)
    if len(source) > MAX_PARSE_CHARS:
        _fallback(piece, state, f"statement longer than {MAX_PARSE_CHARS} characters: table-level scan only")
        return
    if text.max_paren_depth(source, MAX_PAREN_DEPTH) > MAX_PAREN_DEPTH:
        _fallback(piece, state, f"nesting deeper than {MAX_PAREN_DEPTH} levels: table-level scan only")
        return
    trees, error = _parse(source, state.read)
    if trees == [] and text.strip_comments(source).strip(" \t\r\n;"):
        # the parser stops at a word that ends a statement (``ELSE INSERT ...``) and returns nothing: that is
        # a failed parse, not an empty statement, or the statement's tables are lost
        trees, error = None, "could not parse statement: the parser returned nothing"
    if trees is None:
        block = text.routine_body(piece, anywhere=True)
        if block is not None and block.strip():
            _text_condition_reads(text.strip_comments(piece), state)  # IF (SELECT ...) > 0 BEGIN ... END
            state.routine += 1
            try:
                for inner in text.split_statements(block):
                    _analyze_piece(inner, state, allow_routine=False, depth=depth + 1)
            finally:
                state.routine -= 1
            return
        if _recover(piece, state):
            return
        _fallback(piece, state, error)
        return
    for tree in trees:
        if tree is None:
            continue
        _analyze_tree(tree, piece, state)


_TOKENIZER_QUOTE = re.compile(r"Error tokenizing\s+'.*", re.DOTALL)


def _parse(sql: str, read: str) -> tuple[list[Any] | None, str]:
    import sqlglot

    try:
        return [t for t in sqlglot.parse(sql, read=read or None) if t is not None], ""
    except RecursionError:
        return None, "statement too deeply nested to parse"
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # the tokenizer quotes the SQL where it stopped: cut mid-literal, that piece defeats redaction
        first = _TOKENIZER_QUOTE.sub("Error tokenizing the statement", first)
        return None, f"could not parse statement: {first[:200]}"


def _recover(piece: str, state: _State) -> bool:
    """Unparseable text that is several statements without ``;`` or a statement behind procedural code."""
    stripped = text.strip_comments(piece)
    lines = text.split_lines_without_semicolons(stripped)
    if len(lines) > 1:
        parsed = [(_parse(p, state.read)[0], p) for p in lines]
        if all(trees is not None for trees, _ in parsed):
            for trees, p in parsed:
                for tree in trees or ():
                    _analyze_tree(tree, p, state)
            return True
    return _reparse(stripped, state)


def _reparse(sql: str, state: _State) -> bool:
    """Second chances for a statement the parser rejected or kept opaque: an equivalent rewrite, or the
    statement behind a prefix the parser does not know (``IF ... THEN``, ``CREATE TASK ... AS``)."""
    from sqlglot import exp

    if _into_outfile(sql, state) or _procedural_piece(sql, state):
        return True
    rewritten = text.rewrite_unparseable_forms(sql)
    candidates = [rewritten] if rewritten != sql else []
    candidates += [sql[start:] for start in text.statement_starts(sql, limit=3, after=0)]
    # a write the parser rejected is not the query inside it: INSERT INTO t <unknown clause> SELECT ... must
    # keep its target (the table-level scan does), not become a plain SELECT
    writes = _WRITE_START.match(sql) is not None or _CREATE_RELATION.match(sql) is not None
    query = _QUERY_START.match(sql) is not None
    for rest in candidates:
        trees, _ = _parse(rest, state.read)
        if writes and rest is not rewritten and trees and all(isinstance(t, exp.Query) for t in trees):
            continue
        if query and rest is not rewritten and trees and _names_tables(sql[: len(sql) - len(rest)]):
            continue  # a later part of a query (a UNION branch) is not the query: it loses the tables before
        if trees and not any(isinstance(t, exp.Command) for t in trees):
            for tree in trees:
                _analyze_tree(tree, rest, state)
            return True
    return False


_QUERY_START = re.compile(r"[\s(]*(?:SELECT|WITH|FROM|VALUES)\b", re.IGNORECASE)
#: ``CREATE [OR REPLACE] [TEMP ...] TABLE|VIEW``: a rejected one is no plain query behind a prefix either
_CREATE_RELATION = re.compile(
    r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL|TEMP|TEMPORARY|TRANSIENT|VOLATILE|UNLOGGED|"
    r"MATERIALIZED|SECURE|RECURSIVE)\s+)*(?:TABLE|VIEW)\b",
    re.IGNORECASE,
)


def _names_tables(sql: str) -> bool:
    """Whether the table-level scan finds a table in ``sql`` (the part of a query a retry would skip)."""
    from airflow_lineage_provider.sql.fallback import scan_tables

    inputs, outputs = scan_tables(sql)
    return bool(inputs or outputs)


def _into_outfile(sql: str, state: _State) -> bool:
    """MySQL ``SELECT ... INTO OUTFILE 'file' [FIELDS ... LINES ...] [FROM ...]``: the query, written to the
    file (the parser knows neither the clause nor its export options)."""
    from sqlglot import exp

    m = _INTO_OUTFILE.search(sql) if re.match(r"\s*(?:SELECT|WITH|\()", sql, re.IGNORECASE) else None
    if m is None:
        return False
    query = f"{sql[: m.start()]} {sql[m.end() :]}"
    trees, _ = _parse(query, state.read)
    tree = trees[0] if trees is not None and len(trees) == 1 else None
    # ``SELECT ... UNION SELECT ... INTO OUTFILE 'f'`` (or the INTO in the first branch): the whole set
    # operation is written; the analyser reads the INTO of its first SELECT
    select = tree
    while isinstance(select, exp.SetOperation | exp.Subquery):
        select = select.this
    if not isinstance(select, exp.Select) or select.args.get("into") is not None:
        return False
    file = m.group(1).replace("''", "'").replace("\\\\", "\\")
    select.set("into", exp.Into(this=exp.Literal.string(file)))
    _analyze_tree(tree, query, state)
    return True


def _analyze_tree(tree: Any, raw: str, state: _State) -> None:
    from sqlglot import exp

    from airflow_lineage_provider.sql.statement import StatementAnalyzer

    if isinstance(tree, exp.Block | exp.IfBlock | exp.WhileBlock | exp.LoopBlock | exp.RepeatBlock):
        condition = tree.args.get("until") if isinstance(tree, exp.RepeatBlock) else tree.args.get("this")
        if isinstance(tree, exp.IfBlock | exp.WhileBlock | exp.RepeatBlock) and isinstance(
            condition, exp.Expression
        ):  # IF EXISTS (SELECT ... FROM control): the condition reads its tables
            _condition_reads(condition, state)
        for stmt in _block_statements(tree):
            _analyze_tree(stmt, stmt.sql(dialect=state.read or None), state)
        return
    if isinstance(tree, exp.ForIn):  # BigQuery FOR x IN (query) DO body: the query is read, the body runs
        head = tree.this
        query = head.args.get("query") if isinstance(head, exp.In) else None
        if isinstance(query, exp.Expression):
            _condition_reads(query, state)
        body = tree.args.get("expression")
        var = head.this.name.lower() if isinstance(head, exp.In) and isinstance(head.this, exp.Column) else ""
        added = {var} - state.variables if var else set()
        state.variables.update(added)  # rec.field in the body reads the loop row, not a column
        try:
            if isinstance(body, exp.Expression):
                _analyze_tree(body, body.sql(dialect=state.read or None), state)
        finally:
            state.variables -= added
        return
    if state.read == "clickhouse" and isinstance(tree, exp.Create) and _dictionary_source(tree, raw, state):
        return
    if isinstance(tree, exp.Command):
        if not _handle_text_statement(raw, state) and not _reparse(text.strip_comments(raw), state):
            _fallback(raw, state, f"statement not understood by the parser ({tree.name})")
        return
    _remember_function(tree, state)
    if state.session_strings:
        tree = _session_identifiers(tree, state)
    if state.functions:
        tree = _inline_functions(tree, state.functions)
    if state.read == "postgres" and "crosstab" in raw.lower():
        tree = _expand_crosstab(tree)
    if "/*+" in raw:  # optimizer hints (Spark ``/*+ BROADCAST(d) */``) name aliases of the query, no datasets
        for hint in list(tree.find_all(exp.Hint)):
            hint.pop()
    try:
        walker = StatementWalker(
            state.columns, raw, state.read, lambda ref: _qualify(ref, state), frozenset(state.variables)
        )
        # SELECT ... INTO t creates a table in T-SQL, Redshift and plain PostgreSQL; elsewhere, and in a
        # PL/pgSQL body (also a Redshift procedure's), it assigns variables (INTO TEMP TABLE t still creates)
        into_tables = state.read in _SELECT_INTO_TABLE and not (state.read in _PLPGSQL and state.routine)
        res = StatementAnalyzer(walker, select_into_tables=into_tables).analyze(tree)
    except RecursionError:
        _fallback(raw, state, "statement too deeply nested to analyse")
        return
    if res.use is not None:
        _apply_use(res.use, res.use_kind, state)
    state.variables.update(res.variables)
    state.temporary.update(_qualify(t, state) for t in res.temporary)
    if state.read in _HASH_TEMP:  # table variables (@t) live in the batch only, #temp tables in the session
        prefixes = _HASH_TEMP[state.read]
        state.temporary.update(t for t in (*res.inputs, *res.outputs) if t.name.startswith(prefixes))
    # a table written and then dropped or renamed by the same script does not outlive it: an intermediate,
    # collapsed like a temp table (dbt: CREATE x__dbt_tmp AS ...; ALTER TABLE x__dbt_tmp RENAME TO x)
    gone = (_qualify(t, state) for t in (*res.dropped, *res.renamed))
    state.temporary.update(t for t in gone if t in state.written)
    state.written.update(_qualify(t, state) for t in res.outputs)
    for t, names in res.named_columns.items():
        state.named_columns[_qualify(t, state)] = {n.lower() for n in names}
    if res.created_columns:
        state.columns = dict(state.columns or {})
        state.columns.update(
            {_qualify(t, state).qualified.lower(): c for t, c in res.created_columns.items()}
        )
    if state.stripped[0] is not raw:
        state.stripped = (raw, raw.strip())
    if res.renamed:
        state.renames.add(len(state.statements))
    statement = StatementLineage(
        sql=state.stripped[1],
        kind=res.kind,
        inputs=_qualify_all(res.inputs, state),
        outputs=_qualify_all(res.outputs, state),
        column_lineage=tuple(
            merge_edges(
                e
                for e in (_qualify_edge(_spelled_output(c, walker), state) for c in res.columns)
                if e is not None
            )
        ),
        indirect=_qualify_rows(res.indirect, state),
    )
    state.statements.append(statement)
    if res.kind in ("create_view", "create_table") and len(statement.outputs) == 1 and statement.inputs:
        state.definitions[statement.outputs[0]] = statement


_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _dictionary_source(tree: Any, raw: str, state: _State) -> bool:
    """ClickHouse ``CREATE DICTIONARY d (attrs) ... SOURCE(CLICKHOUSE(TABLE 't' [DB 'db'] | QUERY 'q'))``: d
    is loaded from that table or query of this server, each attribute from the source's column of its name
    (analysed as ``INSERT INTO d (attrs) SELECT attrs FROM ...``). False for anything else: a ``HOST`` of
    another server or another source type (``MYSQL``, ``POSTGRESQL``, ``HTTP``) names no dataset of this
    connection, and the dictionary is written only."""
    from sqlglot import exp

    if str(tree.args.get("kind") or "").upper() != "DICTIONARY" or not isinstance(tree.this, exp.Schema):
        return False
    props = tree.args.get("properties")
    source = next(
        (
            p
            for p in (props.expressions if props is not None else ())
            if isinstance(p, exp.DictProperty) and p.name.upper() == "SOURCE"
        ),
        None,
    )
    if source is None or str(source.args.get("kind") or "").upper() != "CLICKHOUSE":
        return False
    settings = {
        s.name.upper(): s.args["value"].name
        for s in source.args.get("settings") or ()
        if isinstance(s, exp.DictSubProperty) and isinstance(s.args.get("value"), exp.Literal)
    }
    if settings.get("HOST", "localhost").lower() not in _LOCAL_HOSTS:
        return False
    attrs = ", ".join(f"`{c.name}`" for c in tree.this.expressions if isinstance(c, exp.ColumnDef))
    if settings.get("QUERY"):
        origin = f"({settings['QUERY']}) AS _source"
    elif settings.get("TABLE"):
        origin = ".".join(f"`{part}`" for part in (settings.get("DB"), settings["TABLE"]) if part)
    else:
        return False
    before = len(state.statements)
    name = tree.this.this.sql(dialect="clickhouse")
    _analyze_piece(f"INSERT INTO {name} ({attrs}) SELECT {attrs} FROM {origin}", state, allow_routine=False)
    if len(state.statements) == before + 1:
        state.statements[-1] = dataclasses.replace(
            state.statements[-1], sql=raw.strip(), kind="create_dictionary"
        )
    return True


def _remember_function(tree: Any, state: _State) -> None:
    """``CREATE [TEMP] FUNCTION f(x [type], ...) AS (expr)`` / ``CREATE MACRO f(x) AS expr`` with an SQL
    expression for body (not a script language's string, not a table macro): kept so later calls of ``f`` read
    what the body reads (a lookup table in a scalar subquery too)."""
    from sqlglot import exp

    if not isinstance(tree, exp.Create) or str(tree.args.get("kind") or "").upper() not in (
        "FUNCTION",
        "MACRO",
    ):
        return
    udf, body = tree.this, tree.args.get("expression")
    name = udf.this if isinstance(udf, exp.UserDefinedFunction) else None
    if (
        not isinstance(name, exp.Table)
        or name.args.get("db") is not None
        or not isinstance(body, exp.Expression)
        or (isinstance(body, exp.Query) and not isinstance(body, exp.Subquery))  # a table macro
        or isinstance(body, exp.Literal)  # a script language's source
    ):
        if isinstance(name, exp.Table):  # redefined with a body of another kind: no longer inlined
            state.functions.pop(name.name.lower(), None)
        return
    params = [p.this if isinstance(p, exp.ColumnDef) else p for p in udf.expressions]
    if all(isinstance(p, exp.Identifier) for p in params):
        state.functions[name.name.lower()] = ([p.name.lower() for p in params], body)


#: inlining a script's functions adds at most this many nodes to a statement (else the calls stay calls)
_MAX_INLINED_NODES = 2_000


#: Snowflake ``SET v = 'text'``: a session variable set to a string
_SET_STRING = re.compile(r"^\s*SET\s+([A-Za-z_]\w*)\s*=\s*'((?:[^'\\]|'')*)'\s*;?\s*$", re.IGNORECASE)
#: Snowflake ``SET v = ...`` of anything else
_SET_OTHER = re.compile(r"^\s*SET\s+([A-Za-z_]\w*)\s*=", re.IGNORECASE)


def _remember_session_string(raw: str, state: _State) -> None:
    """Snowflake ``SET target = 'an.t'`` remembered: ``IDENTIFIER($target)`` of a later statement names that
    table; set to anything else, the name is no longer known."""
    stripped = text.strip_comments(raw)
    m = _SET_STRING.match(stripped)
    if m:
        state.session_strings[m.group(1).lower()] = m.group(2).replace("''", "'")
    elif m := _SET_OTHER.match(stripped):
        state.session_strings.pop(m.group(1).lower(), None)


def _session_identifiers(tree: Any, state: _State) -> Any:
    """``IDENTIFIER($v)`` of a session variable set to a string: ``IDENTIFIER('its value')``."""
    from sqlglot import exp

    def bind(node: exp.Expression) -> exp.Expression:
        var = node.this if isinstance(node, exp.DynamicIdentifier) else None
        if isinstance(var, exp.Parameter) and var.name.lower() in state.session_strings:
            return exp.DynamicIdentifier(this=exp.Literal.string(state.session_strings[var.name.lower()]))
        return node

    return tree.transform(bind)


def _crosstab_query(source: Any, categories: Any, names: list[Any]) -> Any:
    """The query a ``crosstab(source, categories) AS ct(names)`` returns: the row name and any extra
    columns of ``source`` by position, then one column per category, each a value of ``source``'s last
    column put there by its category (the column before it); ``None`` when the parts are unknown."""
    from sqlglot import exp

    width = len(source.selects) if isinstance(source, exp.Select) else 0
    stars = (e for e in source.selects if isinstance(e, exp.Star) or isinstance(e.this, exp.Star))
    if width < 3 or next(stars, None) is not None:
        width = 0  # SELECT * ...: which column is which is not known; every one may feed every one
    keys = [f"_ct{i}" for i in range(width)]
    columns = [exp.to_identifier(k) for k in keys] or None
    inner = exp.Subquery(this=source, alias=exp.TableAlias(this=exp.to_identifier("_ct"), columns=columns))
    projections: list[Any] = []
    for i, name in enumerate(names):
        value: Any
        if width and i < width - 2:
            value = exp.column(keys[i], "_ct")
        elif width:
            value = exp.func("coalesce", exp.column(keys[-1], "_ct"), exp.column(keys[-2], "_ct"))
        else:
            projections = [exp.column(exp.Star(), "_ct")]
            break
        projections.append(exp.alias_(value, name.copy()))
    query = exp.select(*projections).from_(inner)
    if categories is not None:  # the categories decide which columns get values
        query = query.where(exp.Exists(this=categories))
    return query


def _expand_crosstab(tree: Any) -> Any:
    """PostgreSQL tablefunc ``crosstab('source query' [, 'category query']) AS ct(row_name type, ...)``:
    the queries are SQL in strings, run by the server here; read as the pivot of the source query."""
    import sqlglot
    from sqlglot import exp

    def parse(arg: Any) -> Any:
        if not (isinstance(arg, exp.Literal) and arg.is_string) and not isinstance(arg, exp.RawString):
            return None  # a string, also dollar-quoted ($$SELECT ...$$)
        try:
            parsed = sqlglot.parse_one(arg.this, read="postgres")
        except Exception:  # not SQL we can read: the call stays a function
            return None
        return parsed if isinstance(parsed, exp.Query) else None

    def expand(node: exp.Expression) -> exp.Expression:
        call = node.this if isinstance(node, exp.Table) else None
        if not isinstance(call, exp.Anonymous) or call.name.lower() != "crosstab" or not call.expressions:
            return node
        source = parse(call.expressions[0])
        alias = node.args.get("alias")
        if source is None or alias is None or not alias.columns:
            return node
        categories = parse(call.expressions[1]) if len(call.expressions) > 1 else None
        names = [c.this if isinstance(c, exp.ColumnDef) else c for c in alias.columns]
        query = _crosstab_query(source, categories, names)
        # the names rename by position; over an unknown source (SELECT *) each is some column of it
        columns = [n.copy() for n in names]
        return exp.Subquery(this=query, alias=exp.TableAlias(this=alias.this.copy(), columns=columns))

    return tree.transform(expand)


def _inline_functions(tree: Any, functions: dict[str, tuple[list[str], Any]]) -> Any:
    """Calls of the script's own SQL functions replaced by their bodies, each parameter by its argument
    (``f(a)`` with ``f(x) AS ((SELECT max(v) FROM lookup WHERE k = x))`` reads ``lookup`` and ``a``); a body
    calling another such function is inlined in turn, a few levels deep."""
    from sqlglot import exp

    def inline(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Anonymous) or node.name.lower() not in functions:
            return node
        params, body = functions[node.name.lower()]
        if len(params) != len(node.expressions):
            return node
        args = dict(zip(params, node.expressions, strict=True))

        def bind(inner: exp.Expression) -> exp.Expression:
            if isinstance(inner, exp.Column) and not inner.table and inner.name.lower() in args:
                return args[inner.name.lower()].copy()
            return inner

        return exp.Paren(this=body.copy().transform(bind))

    limit = sum(1 for _ in tree.walk()) + _MAX_INLINED_NODES
    for _ in range(4):
        if not any(isinstance(n, exp.Anonymous) and n.name.lower() in functions for n in tree.walk()):
            break
        grown = tree.transform(inline)
        if sum(1 for _ in grown.walk()) > limit:  # bodies calling each other many times: read as calls
            break
        tree = grown
    return tree


def _merge_source(statement: str, state: _State) -> tuple[str, TableRef] | None:
    """The alias (or name) and table of a T-SQL ``MERGE ... USING table [AS] s``; None for anything else."""
    from sqlglot import exp

    from airflow_lineage_provider.sql.names import ident, table_ref

    if not re.match(r"\s*MERGE\b", statement, re.IGNORECASE):
        return None
    trees, _ = _parse(statement, state.read)
    merge = trees[0] if trees else None
    using = merge.args.get("using") if isinstance(merge, exp.Merge) else None
    if not isinstance(using, exp.Table):
        return None
    ref = table_ref(using)
    if ref is None:
        return None
    return (ident(using.args["alias"].this) if using.args.get("alias") else ref.name).lower(), _qualify(
        ref, state
    )


def _output_into(
    items: str, into: str, state: _State, merge_source: tuple[str, TableRef] | None = None
) -> None:
    """T-SQL ``OUTPUT inserted.c, deleted.c, ... INTO t [(cols)]`` of the statement just analysed: ``t`` is
    written; ``inserted.c`` carries the lineage written into the target's ``c`` (the target's own ``c`` when
    the statement does not write it), ``deleted.c`` the target's ``c`` (then the target is also read); in a
    MERGE, ``s.c`` of its ``USING table s`` is that table's ``c``."""
    from sqlglot import exp

    from airflow_lineage_provider.sql.names import ident, table_ref

    m = re.match(r"\s*([^\s(]+)\s*(?:\((.*)\))?\s*$", into, re.DOTALL)
    if m is None:
        return
    trees, _ = _parse(f"SELECT {items} FROM {m.group(1)}", state.read)
    select = trees[0] if trees else None
    written = select.args.get("from_") if isinstance(select, exp.Select) else None
    sink = table_ref(written.this) if written is not None and isinstance(written.this, exp.Table) else None
    last = state.statements[-1]
    if sink is None or not last.outputs or not isinstance(select, exp.Select):
        return
    sink = _qualify(sink, state)
    target = last.outputs[0]
    names = [ident(c.strip().strip('[]"`')) for c in m.group(2).split(",")] if m.group(2) else None
    into_target = {e.output.column.lower(): e for e in last.column_lineage if e.output.table == target}
    reads_target = False
    edges: list[ColumnLineage] = []
    for i, proj in enumerate(select.expressions):
        name = names[i] if names is not None and i < len(names) else proj.alias_or_name.lower()
        deps: set[ColumnRef] = set()
        how = "IDENTITY" if isinstance(proj.unalias(), exp.Column) else "TRANSFORMATION"
        for col in proj.find_all(exp.Column):
            row = ident(col.args.get("table")) if col.args.get("table") else ""
            column = "*" if isinstance(col.this, exp.Star) else ident(col.this)
            written_edge = into_target.get(column) if row == "inserted" else None
            if written_edge is not None:
                deps.update(written_edge.inputs)
                how = stronger(how, written_edge.transformation)
            elif row in ("inserted", "deleted"):
                deps.add(ColumnRef(target, column))
                reads_target = True
            elif merge_source is not None and row.lower() == merge_source[0]:
                deps.add(ColumnRef(merge_source[1], column))
        if deps and name:
            edges.append(ColumnLineage(ColumnRef(sink, name), tuple(sorted(deps, key=str)), how))
    if m.group(1).startswith(("#", "@")):  # a #temp table or a table variable: the script passes through it
        state.temporary.add(sink)
    state.written.add(sink)
    # the rows sent are the rows the statement changed: what chose those chose the sink's rows too
    rows = [IndirectLineage(sink, r.input, r.subtype) for r in last.indirect if r.output == target]
    state.statements[-1] = StatementLineage(
        sql=last.sql,
        kind=last.kind,
        inputs=tuple(dict.fromkeys([*last.inputs, *([target] if reads_target else [])])),
        outputs=tuple(dict.fromkeys([*last.outputs, sink])),
        column_lineage=tuple(merge_edges([*last.column_lineage, *edges])),
        errors=last.errors,
        partial=last.partial,
        indirect=tuple(dict.fromkeys([*last.indirect, *rows])),
    )


#: the head of a routine whose body a script split on ``;`` left in a later piece (no BEGIN in this one)
_ROUTINE_HEAD_ONLY = re.compile(
    r"\s*CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:PROCEDURE|FUNCTION)\b(?![\s\S]*\bBEGIN\b)", re.IGNORECASE
)
_ROUTINE_HEAD = re.compile(
    r"^\s*CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:PROCEDURE|PROC|FUNCTION)\s+[\w.`\"\[\]$]+\s*\(",
    re.IGNORECASE,
)
_PARAMETER_MODES = {"in", "out", "inout", "variadic"}


def _routine_parameters(piece: str) -> set[str]:
    """Parameter names of ``CREATE PROCEDURE|FUNCTION name (a INT, IN b DATE, ...)``, lower-case."""
    sql = text.strip_comments(piece)
    m = _ROUTINE_HEAD.match(sql)
    if m is None:
        return set()
    depth, start, names = 1, m.end(), set()
    for i in range(m.end(), len(sql)):
        char = sql[i]
        if char == "(":
            depth += 1
        elif char == ")" or (char == "," and depth == 1):
            if depth == 1:
                words = [w for w in sql[start:i].split() if w.lower() not in _PARAMETER_MODES]
                if len(words) > 1:  # a name and a type (PostgreSQL allows a type alone: no name)
                    names.add(words[0].strip('"`[]').lower())
                start = i + 1
            if char == ")":
                depth -= 1
                if depth == 0:
                    break
    return {n for n in names if n and not n.startswith("@")}


def _condition_reads(condition: Any, state: _State) -> None:
    """The tables a procedural condition reads (``IF EXISTS (SELECT 1 FROM control WHERE ready)``)."""
    from airflow_lineage_provider.sql.statement import read_tables

    inputs = _qualify_all(read_tables(condition, set()), state)
    if inputs:
        state.statements.append(
            StatementLineage(sql=condition.sql(dialect=state.read or None), kind="condition", inputs=inputs)
        )


#: ``IF|ELSEIF|ELSIF|WHILE <condition> THEN|DO|LOOP|BEGIN ...`` of a script or routine, as text
_CONDITION_START = re.compile(
    r"\s*(?:IF|ELSEIF|ELSIF|WHILE|(?P<loop>FOR(?:EACH)?\s+(?P<var>[A-Za-z_]\w*)\s+(?:SLICE\s+\d+\s+)?IN))\b",
    re.IGNORECASE,
)
_CONDITION_SCAN = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\"|(?P<open>\(|\bCASE\b)|(?P<close>\)|\bEND\b)|\b(?P<end>THEN|DO|LOOP|BEGIN)\b"
    r"|\b(?P<statement>INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|TRUNCATE|ALTER|REPLACE)\b(?!\s*\()",
    re.IGNORECASE,
)


def _text_condition_reads(sql: str, state: _State, at: int = 0) -> int | None:
    """The tables the condition of a procedural ``IF ... THEN`` line (at offset ``at``) reads (the parser
    skips such lines); the offset after its ``THEN|DO|LOOP|BEGIN``, None when ``sql`` has no such head."""
    from sqlglot import exp

    m = _CONDITION_START.match(sql, at)
    if m is None:
        return None
    depth = 0
    for token in _CONDITION_SCAN.finditer(sql, m.end()):
        if token.group("open"):
            depth += 1
        elif token.group("close"):
            depth -= 1
        elif token.group("statement") and depth <= 0:
            return None  # T-SQL IF cond INSERT ...: no THEN, the statement follows the condition
        elif token.group("end") and depth <= 0:
            condition = sql[m.end() : token.start()]
            if m.group("var"):  # FOR i IN 1..10 / FOR r IN query: the loop's variable is no column
                state.variables.add(m.group("var").lower())
            if not m.group("loop"):
                _expression_reads(condition, state)
            elif _SELECT_WORD.search(
                condition
            ):  # PL/pgSQL / PL/SQL FOR r IN [(]query[)] LOOP: the query is read
                trees, _ = _parse(condition, state.read)
                if trees and len(trees) == 1 and isinstance(trees[0], exp.Query | exp.Subquery):
                    _condition_reads(trees[0], state)
            return token.end()
    return None


def _expression_reads(condition: str, state: _State) -> None:
    """The tables a procedural condition or value given as text reads (``(SELECT count(*) FROM q) > 0``)."""
    if _SELECT_WORD.search(condition):
        trees, _ = _parse(f"SELECT 1 WHERE {condition}", state.read)
        if trees and len(trees) == 1:
            _condition_reads(trees[0], state)


#: the heads of a procedural piece that hold no statement of their own: a block keyword (``ELSE``, ``LOOP``,
#: ``REPEAT``, ``BEGIN`` of a block, ``EXCEPTION``, T-SQL ``BEGIN|END TRY|CATCH``, ``END IF|LOOP|...``), a
#: label (``read_loop:``), an exception handler's ``WHEN ... THEN``
_BLOCK_HEAD = re.compile(
    r"\s*(?:(?:BEGIN|END)\s+(?:TRY|CATCH)\b|END\s+(?:IF|LOOP|WHILE|REPEAT|FOR)\b"
    r"|(?:ELSE|LOOP|REPEAT|DO|THEN|EXCEPTION|BEGIN(?!\s+(?:TRANSACTION|TRAN|WORK|DISTRIBUTED|DEFERRED|"
    r"IMMEDIATE|EXCLUSIVE)\b))\b(?!\s*[(.=])|[A-Za-z_]\w*[ \t]*:(?![:=]))",
    re.IGNORECASE,
)
_WHEN_HEAD = re.compile(r"\s*WHEN\b", re.IGNORECASE)
_THEN = re.compile(r"\bTHEN\b", re.IGNORECASE)
_SELECT_WORD = re.compile(r"\bSELECT\b", re.IGNORECASE)
#: ``UNTIL <condition> [END REPEAT [label]]`` closing a REPEAT loop
_UNTIL = re.compile(r"\s*UNTIL\b(?P<cond>.*?)(?:\bEND\s+REPEAT\b[\s\w]*+)?$", re.IGNORECASE | re.DOTALL)
#: Snowflake scripting's DECLARE section: ``[DECLARE] name [type] DEFAULT|:= value`` and ``name CURSOR FOR
#: query`` (a variable, a result set or a cursor), one per piece
_DECLARATION = re.compile(
    r"\s*(?:DECLARE\s+)?(?:CURSOR\s+(?P<cursor>[A-Za-z_]\w*)\s*(?:\([^()]*\))?\s*(?:IS|FOR)"  # PL/SQL
    # PL/pgSQL ``c [NO] SCROLL CURSOR (p int) FOR``, T-SQL ``c [INSENSITIVE] CURSOR [LOCAL ...] FOR``
    r"|(?P<name>[@A-Za-z_]\w*)\s+(?:(?:NO\s+|INSENSITIVE\s+|SCROLL\s+)*CURSOR\s*(?:\([^()]*\))?"
    r"(?:\s*\b(?:LOCAL|GLOBAL|FORWARD_ONLY|SCROLL|STATIC|KEYSET|DYNAMIC|FAST_FORWARD|READ_ONLY|SCROLL_LOCKS"
    r"|OPTIMISTIC|TYPE_WARNING|WITH(?:OUT)?\s+HOLD)\b)*\s*(?:FOR|IS)"
    r"|(?:CONSTANT\s+)?(?:[A-Za-z_][\w.%]*(?:\s*\([\d\s,]*\))?\s+)?(?:NOT\s+NULL\s+)?(?:DEFAULT|:=)))"
    r"\s+(?P<value>.*)$",
    re.IGNORECASE | re.DOTALL,
)
#: PL/SQL declarations that name no data: ``TYPE t IS TABLE OF ...|RECORD (...)``, ``SUBTYPE s IS ...``,
#: ``PRAGMA ...``, ``v t.col%TYPE`` / ``r t%ROWTYPE`` (a variable of a column's or row's type)
_TYPE_DECLARATION = re.compile(
    r"\s*(?:(?:TYPE|SUBTYPE)\s+[A-Za-z_]\w*\s+IS\b|PRAGMA\b|(?P<name>[A-Za-z_]\w*)\s+[\w.$\"]+%(?:ROW)?TYPE\s*$)",
    re.IGNORECASE,
)
#: a declaration without a value (``v_cnt NUMBER``, ``r record``, ``l_ids t_ids``): its first word names a
#: variable, unless it declares something else (a type, a pragma, a nested routine)
_BARE_DECLARATION = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s+[A-Za-z_]", re.IGNORECASE)
_NOT_VARIABLES = {
    "type",
    "subtype",
    "pragma",
    "cursor",
    "function",
    "procedure",
    "declare",
    "begin",
    "return",
}
#: PL/SQL ``FORALL i IN lo .. hi | INDICES OF c | VALUES OF c [SAVE EXCEPTIONS]`` before its one statement
_FORALL = re.compile(
    r"\s*FORALL\s+(?P<var>[A-Za-z_]\w*)\s+IN\s+.*?(?=\b(?:INSERT|UPDATE|DELETE|MERGE)\b)",
    re.IGNORECASE | re.DOTALL,
)
#: procedural lines that end a piece and read nothing: ``LEAVE``, ``RETURN``, ``RAISE ...``, ``SIGNAL ...``
_PROCEDURAL_TAIL = re.compile(
    r"\s*(?:(?:LEAVE|ITERATE|BREAK|CONTINUE|EXIT|RETURN|RAISE|SIGNAL|RESIGNAL|THROW|END)\b(?![\s\S]*\bSELECT\b)"
    r"|$)",
    re.IGNORECASE,
)


def _procedural_piece(sql: str, state: _State) -> bool:
    """A piece the parser rejected that begins with procedural heads (``ELSE``, ``LOOP``, ``label:``, ``IF
    cond THEN``, ``UNTIL cond``, a Snowflake declaration): the conditions' tables are read, and what follows
    the heads is analysed as a statement of its own. False when ``sql`` has no such head."""
    at = 0
    while True:
        m = _BLOCK_HEAD.match(sql, at)
        if m is not None:
            at = m.end()
            continue
        forall = _FORALL.match(sql, at)
        if forall is not None:  # FORALL i IN 1 .. n <statement>: i is no column
            state.variables.add(forall.group("var").lower())
            at = forall.end()
            continue
        end = _text_condition_reads(sql, state, at)
        if end is None and _WHEN_HEAD.match(sql, at):
            then = _THEN.search(sql, at)
            end = then.end() if then is not None else None
        if end is None:
            break
        at = end
    rest = sql[at:]
    if at == 0:
        m = _UNTIL.match(sql)
        if m is not None:
            _value_reads(m.group("cond"), state)
        elif not _declaration(sql, state):
            return False
        rest = ""
    if _PROCEDURAL_TAIL.match(rest):
        state.statements.append(StatementLineage(sql=sql.strip(), kind="procedural"))
    else:
        _analyze_piece(rest, state, allow_routine=False, depth=1)
    return True


def _value_reads(value: str, state: _State) -> None:
    """The tables a declared value, a cursor's query or a loop condition reads."""
    if re.match(r"[\s(]*(?:SELECT|WITH)\b", value, re.IGNORECASE):
        trees, _ = _parse(value.strip().rstrip(";"), state.read)
        if trees and len(trees) == 1:
            _condition_reads(trees[0], state)
    else:
        _expression_reads(value, state)


def _declaration(sql: str, state: _State, *, bare: bool = False) -> bool:
    """A declaration (``v type := value``, ``c CURSOR FOR query``, PL/SQL ``CURSOR c IS query``): its query's
    tables are read and its name is a variable, no column (with ``bare``, in a routine's declaration
    section, also ``v type`` without a value). False when ``sql`` is no declaration."""
    typed = _TYPE_DECLARATION.match(sql)
    if typed is not None:
        if typed.group("name"):
            state.variables.add(typed.group("name").lower())
        return True
    m = _DECLARATION.match(sql)
    if m is None:
        bare_match = _BARE_DECLARATION.match(sql) if bare else None
        name = bare_match.group("name").lower() if bare_match is not None else ""
        if name and name not in _NOT_VARIABLES:
            state.variables.add(name)
        return False
    name = (m.group("cursor") or m.group("name") or "").lower()
    if name and name not in _NOT_VARIABLES:
        state.variables.add(name)
    _value_reads(m.group("value"), state)
    return True


def _block_statements(block: Any) -> list[Any]:
    """Statements inside a procedural block (BEGIN ... END, IF, WHILE, LOOP bodies), in order."""
    from sqlglot import exp

    out: list[Any] = []
    for child in block.iter_expressions():
        if isinstance(child, exp.Block):  # T-SQL IF x BREAK / RETURN: a body of None, nothing to run
            out.extend(e for e in child.expressions if e is not None)
        elif isinstance(child, exp.IfBlock | exp.WhileBlock | exp.LoopBlock | exp.RepeatBlock):
            out.append(child)
    return out


def _apply_use(use: tuple[str | None, str | None], kind: str, state: _State) -> None:
    first, second = use
    if second is not None:
        state.database, state.schema_name = first, second
    elif kind == "CATALOG":
        state.database = first
    elif kind == "SCHEMA" or state.read in _USE_SETS_SCHEMA:
        state.schema_name = first
    else:
        state.database = first


def _alter_partition(stripped: str, state: _State) -> bool:
    """ALTER TABLE partition moves between two tables (rows from ``src`` into ``into``) and partition
    maintenance of one table, which the parser keeps opaque."""
    lowered = stripped.lower()
    if not re.match(r"\s*ALTER\s", stripped, re.IGNORECASE) or not (
        "partition" in lowered or "switch" in lowered
    ):
        return False
    from airflow_lineage_provider.sql.fallback import scan_tables

    for i, pattern in enumerate(_ALTER_PARTITION_MOVES):
        if i < 2 and state.read == "clickhouse":
            continue  # ClickHouse partitions are values (DETACH PARTITION 202401), not tables
        m = pattern.match(stripped)
        if m:
            into = _qualify_all(scan_tables(f"SELECT * FROM {m.group('into')}")[0], state)
            src = _qualify_all(scan_tables(f"SELECT * FROM {m.group('src')}")[0], state)
            if not into or not src:
                continue
            state.statements.append(
                StatementLineage(
                    sql=stripped,
                    kind="alter",
                    inputs=src,
                    outputs=into,
                    column_lineage=_whole_rows(into, src),
                )
            )
            return True
    m = _ALTER_PARTITION_ONLY.match(stripped)
    if m and not _NAMES_ANOTHER_TABLE.search(re.sub(r"'(?:[^']|'')*'", "''", m.group("rest"))):
        table = _qualify_all(scan_tables(f"SELECT * FROM {m.group('table')}")[0], state)
        if table:
            state.statements.append(StatementLineage(sql=stripped, kind="alter", outputs=table))
            return True
    return False


def _handle_text_statement(raw: str, state: _State) -> bool:
    """Statements recognised from their text: SET search_path, UNLOAD, EXCHANGE PARTITION, no-lineage ones."""
    stripped = text.strip_comments(raw).strip()
    m = _SEARCH_PATH.match(stripped)
    if m:
        first = m.group(1).split(",")[0].strip().strip("'\"")
        if first and not first.startswith("$"):
            state.schema_name = first if m.group(1).split(",")[0].strip().startswith('"') else first.lower()
        state.statements.append(StatementLineage(sql=stripped, kind="set"))
        return True
    m = _SET_SCHEMA.match(stripped)
    if m:
        name = m.group("name")
        state.schema_name = name[1:-1].replace('""', '"') if name[0] in "'\"" else name.lower()
        state.statements.append(StatementLineage(sql=stripped, kind="set"))
        return True
    m = _LOAD_DATA.match(stripped) or _BULK_INSERT.match(stripped)
    if m:
        from airflow_lineage_provider.sql.fallback import scan_tables

        target = scan_tables(f"SELECT * FROM {m.group('table')}")[0]
        state.statements.append(
            StatementLineage(
                sql=stripped,
                kind="load",
                inputs=(TableRef(m.group("file") or m.groupdict().get("quoted_file") or ""),),
                outputs=_qualify_all(target, state),
            )
        )
        return True
    m = _ALTER_OWNER_OR_SCHEMA.match(stripped) if state.read in ("postgres", "redshift", "") else None
    if m:
        from airflow_lineage_provider.sql.fallback import scan_tables

        table = scan_tables(f"SELECT * FROM {m.group('table')}")[0]
        if m.group("verb").upper().startswith("SET") and len(table) == 1:
            name = table[0].name
            quoted = f'"{name}"' if name != name.lower() or not re.fullmatch(r"[\w$]+", name) else name
            _analyze_piece(
                f"ALTER TABLE {m.group('table')} RENAME TO {m.group('to')}.{quoted}",
                state,
                allow_routine=False,
            )
            return True
        state.statements.append(
            StatementLineage(sql=stripped, kind="alter", outputs=_qualify_all(table, state))
        )
        return True
    m = _UNLOAD.match(stripped)
    if m:
        _unload(
            _UNLOAD_ESCAPE.sub(lambda q: "'" if q.group(1) is None else q.group(1), m.group(1)),
            m.group(2),
            stripped,
            state,
        )
        return True
    m = _UNLOAD_QUERY.match(stripped)
    close = text.closing_paren(stripped, m.end() - 1) if m else None
    to = _UNLOAD_TO.match(stripped, close) if close is not None else None
    if m and to and close is not None:
        _unload(stripped[m.end() : close - 1], to.group(1), stripped, state)
        return True
    m = _RESTORE.match(stripped)
    if m:
        from airflow_lineage_provider.sql.fallback import scan_tables

        restored = _qualify_all(scan_tables(f"SELECT * FROM {m.group('table')}")[0], state)
        state.written.update(restored)
        state.statements.append(StatementLineage(sql=stripped, kind="restore", outputs=restored))
        return True
    m = _APPLY_CHANGES.match(stripped)
    if m:
        from airflow_lineage_provider.sql.fallback import scan_tables

        source = m.group("stream") or m.group("bare") or m.group("plain")
        into = _qualify_all(scan_tables(f"SELECT * FROM {m.group('target')}")[0], state)
        read = _qualify_all(scan_tables(f"SELECT * FROM {source}")[0], state)
        edges = tuple(
            ColumnLineage(ColumnRef(o, "*"), (ColumnRef(i, "*"),), IDENTITY) for o in into for i in read
        )
        state.written.update(into)
        state.statements.append(
            StatementLineage(sql=stripped, kind="merge", inputs=read, outputs=into, column_lineage=edges)
        )
        return True
    if _ALTER_EXECUTE.match(stripped) or _SESSION_SETUP.match(stripped):
        state.statements.append(StatementLineage(sql=stripped, kind="other"))
        return True
    m = _ALTER_MOVES.match(stripped)
    if m:
        from airflow_lineage_provider.sql.fallback import scan_tables

        moved_into = _qualify_all(scan_tables(f"SELECT * FROM {m.group(1)}")[0], state)
        moved_from = _qualify_all(scan_tables(f"SELECT * FROM {m.group(2)}")[0], state)
        state.statements.append(
            StatementLineage(
                sql=stripped,
                kind="alter",
                inputs=moved_from,
                outputs=moved_into,
                column_lineage=_whole_rows(moved_into, moved_from),
            )
        )
        return True
    if _alter_partition(stripped, state):
        return True
    m = _EXCHANGE.match(stripped)
    if m:  # ClickHouse EXCHANGE TABLES a AND b: each takes the other's rows (as Snowflake SWAP WITH)
        from airflow_lineage_provider.sql.fallback import scan_tables

        first = _qualify_all(scan_tables(f"SELECT * FROM {m.group(1)}")[0], state)
        second = _qualify_all(scan_tables(f"SELECT * FROM {m.group(2)}")[0], state)
        both = tuple(dict.fromkeys((*first, *second)))
        swapped = _whole_rows(first, second) + _whole_rows(second, first)
        state.statements.append(
            StatementLineage(sql=stripped, kind="alter", inputs=both, outputs=both, column_lineage=swapped)
        )
        return True
    m = _RENAME_TABLES.match(stripped)
    if m:
        _rename_tables(m.group("pairs"), stripped, state)
        return True
    m = _CREATE_STREAM.match(stripped)
    if m:  # Snowflake CREATE STREAM s ON TABLE t: the stream holds the changes of t, with t's columns
        from airflow_lineage_provider.sql.fallback import scan_tables

        stream = _qualify_all(scan_tables(f"SELECT * FROM {m.group('stream')}")[0], state)
        origin = m.group("source")
        read = (
            (TableRef(origin),)
            if origin.startswith("@")
            else _qualify_all(scan_tables(f"SELECT * FROM {origin}")[0], state)
        )
        edges = tuple(
            ColumnLineage(ColumnRef(o, "*"), (ColumnRef(i, "*"),), IDENTITY) for o in stream for i in read
        )
        state.statements.append(
            StatementLineage(
                sql=stripped, kind="create_stream", inputs=read, outputs=stream, column_lineage=edges
            )
        )
        return True
    m = _SP_RENAME.match(stripped)
    if m and (m.group("kind") or "OBJECT").upper() == "OBJECT":  # as ALTER TABLE old RENAME TO new
        new = m.group("new").strip()
        new = new if new.startswith("[") or re.fullmatch(r"[A-Za-z_#@][\w$#@]*", new) else f"[{new}]"
        _analyze_piece(f"ALTER TABLE {m.group('old')} RENAME TO {new}", state, allow_routine=False)
        return True
    m = _INSERT_FORMAT.match(stripped) if state.read == "clickhouse" else None
    if m:
        from airflow_lineage_provider.sql.fallback import scan_tables

        into = _qualify_all(scan_tables(f"SELECT * FROM {m.group('target')}")[0], state)
        files = (TableRef(m.group("file")),) if m.group("file") else ()
        state.written.update(into)
        state.statements.append(StatementLineage(sql=stripped, kind="insert", inputs=files, outputs=into))
        return True
    m = (_EXA_IMPORT.match(stripped) or _EXA_EXPORT.match(stripped)) if state.read == "exasol" else None
    if m:
        _exasol_transfer(m, stripped, state)
        return True
    m = _INSERT_EXEC.match(stripped)
    if m:
        _insert_exec(m, state)
        return True
    m = _EXECUTE_STRING.match(stripped)
    if m and (m.group("dq") is None or state.read == "bigquery"):  # "..." is a name elsewhere
        literal = m.group("immediate") or m.group("plain") or m.group("paren") or m.group("proc")
        if literal.startswith("$$"):
            dynamic = literal[2:-2]
        elif literal.startswith('"""'):
            dynamic = literal[3:-3]
        elif literal.startswith('"'):  # BigQuery: backslash escapes
            dynamic = _BACKSLASH_ESCAPE.sub(r"\1", literal[1:-1])
        else:
            dynamic = literal[literal.index("'") + 1 : -1].replace("''", "'")
        for piece in text.split_statements(dynamic):
            _analyze_piece(piece, state, allow_routine=True)
        return True
    m = _PREPARE_STRING.match(stripped) if state.read in ("mysql", "doris", "starrocks") else None
    if m:
        literal = m.group("literal")
        quote = literal[0]
        dynamic = _BACKSLASH_ESCAPE.sub(r"\1", literal[1:-1].replace(quote * 2, quote))
        for piece in text.split_statements(dynamic):
            _analyze_piece(piece, state, allow_routine=True)
        return True
    if _refresh_or_conversion(stripped, state) or _hive_table_files(stripped, state):
        return True
    if _NO_LINEAGE_COMMANDS.match(stripped):
        if _CREATE_FUNCTION.match(stripped):
            trees, _ = _parse(stripped, state.read)
            for tree in trees or ():
                _remember_function(tree, state)
        state.statements.append(StatementLineage(sql=stripped, kind="other"))
        return True
    return False


def _refresh_or_conversion(stripped: str, state: _State) -> bool:
    """Statements that rewrite a table from its own definition or files: a materialized view's refresh (it
    reads what the script defined it from), ``CONVERT TO DELTA``, DuckDB ``EXPORT|IMPORT DATABASE``."""
    m = _DATABASE_TRANSFER.match(stripped)
    if m:
        files = (TableRef(m.group("dir").replace("''", "'")),)
        verb = m.group("verb").upper()
        export = verb == "EXPORT"
        side = "reads" if export else "writes"
        state.warnings.append(
            f"{verb} DATABASE {side} every table of the database; the SQL does not name them"
        )
        state.statements.append(
            StatementLineage(
                sql=stripped,
                kind=verb.lower(),
                inputs=() if export else files,
                outputs=files if export else (),
            )
        )
        return True
    m = _REFRESH.match(stripped) or _CONVERT_TO_DELTA.match(stripped)
    if m is None:
        return False
    name = m.group("table") if m.re is _CONVERT_TO_DELTA else m.group("name") or m.group("altered")
    written = _query_inputs(f"SELECT * FROM {name}", state)
    if not written:
        return False
    state.written.update(written)
    defined = state.definitions.get(written[0]) if m.re is _REFRESH and len(written) == 1 else None
    state.statements.append(
        StatementLineage(
            sql=stripped,
            kind="refresh" if m.re is _REFRESH else "convert",
            inputs=defined.inputs if defined is not None else (),
            outputs=written,
            column_lineage=defined.column_lineage if defined is not None else (),
            indirect=defined.indirect if defined is not None else (),
        )
    )
    return True


def _hive_table_files(stripped: str, state: _State) -> bool:
    """Hive ``EXPORT TABLE t TO 'path'`` (t's rows and metadata go to files), ``IMPORT [EXTERNAL] TABLE t
    FROM 'path'`` (the other way round), ``MSCK REPAIR TABLE t`` / Databricks ``REPAIR TABLE t`` (t's
    partitions are synced with its files: a write of t, like ``ALTER TABLE t RECOVER PARTITIONS``)."""
    if state.read not in _USE_SETS_SCHEMA:
        return False
    m = _HIVE_EXPORT.match(stripped) or _HIVE_IMPORT.match(stripped) or _HIVE_REPAIR.match(stripped)
    if m is None:
        return False
    from airflow_lineage_provider.sql.fallback import scan_tables

    name = m.group("table")
    table = _qualify_all(scan_tables(f"SELECT * FROM {name}")[0], state) if name else ()
    if m.re is not _HIVE_EXPORT:
        state.written.update(table)
    if m.re is _HIVE_REPAIR:
        state.statements.append(StatementLineage(sql=stripped, kind="alter", outputs=table))
        return True
    files = (TableRef(m.group("path").replace("''", "'")),)
    read, written = (table, files) if m.re is _HIVE_EXPORT else (files, table)
    if not table:  # IMPORT FROM 'path': the table is named in the export's metadata, not in the SQL
        state.warnings.append("IMPORT FROM 'path' without a table writes the table the export names")
    state.statements.append(
        StatementLineage(
            sql=stripped,
            kind="export" if m.re is _HIVE_EXPORT else "import",
            inputs=read,
            outputs=written,
            column_lineage=_whole_rows(written, read),
        )
    )
    return True


def _insert_exec(m: re.Match[str], state: _State) -> None:
    """``INSERT INTO t [(cols)] EXEC ...``: dynamic SQL given as one constant query is analysed as ``INSERT
    INTO t [(cols)] <query>``; a procedure's reads are unknown, so it only writes ``t``."""
    from sqlglot import exp

    from airflow_lineage_provider.sql.fallback import scan_tables

    head = f"INSERT INTO {m.group('target')} {m.group('cols') or ''}"
    dynamic = _EXECUTE_STRING.match(m.group("exec"))
    if dynamic is not None and not dynamic.group("immediate"):
        literal = dynamic.group("paren") or dynamic.group("proc")
        query = literal[literal.index("'") + 1 : -1].replace("''", "'")
        pieces = text.split_statements(query)
        trees = _parse(pieces[0], state.read)[0] if len(pieces) == 1 else None
        if trees is not None and len(trees) == 1 and isinstance(trees[0], exp.Query):
            _analyze_piece(f"{head} {pieces[0]}", state, allow_routine=False)
            return
    target = _qualify_all(scan_tables(f"SELECT * FROM {m.group('target')}")[0], state)
    if state.read in _HASH_TEMP:  # a table variable or a #temp table
        state.temporary.update(t for t in target if t.name.startswith(_HASH_TEMP[state.read]))
    state.written.update(target)
    state.warnings.append(f"INSERT ... EXEC: what the procedure reads is unknown ({m.group('exec')[:80]})")
    state.statements.append(StatementLineage(sql=m.group(0).strip(), kind="insert", outputs=target))


def _exasol_transfer(m: re.Match[str], sql: str, state: _State) -> None:
    """Exasol ``IMPORT INTO t FROM CSV AT 'url' FILE 'a.csv'`` reads ``url/a.csv`` and writes ``t``; ``EXPORT
    t|(query) INTO CSV AT 'url' FILE 'a.csv'`` the other way round; a database on the other side is none
    of this connection's datasets."""
    from airflow_lineage_provider.sql.fallback import scan_tables

    files: tuple[TableRef, ...] = ()
    if m.group("kind").upper().split()[-1] in ("CSV", "FBV"):
        at = re.search(r"\bAT\s+'((?:[^']|'')*)'", m.group("rest"), re.IGNORECASE)
        base = at.group(1).rstrip("/") + "/" if at else ""
        names = re.findall(r"\bFILE\s+'((?:[^']|'')*)'", m.group("rest"), re.IGNORECASE)
        files = tuple(TableRef(base + f.lstrip("/") if base else f) for f in names)
    if "target" in m.re.groupindex:  # IMPORT
        into = _qualify_all(scan_tables(f"SELECT * FROM {m.group('target')}")[0], state)
        state.written.update(into)
        state.statements.append(StatementLineage(sql=sql, kind="import", inputs=files, outputs=into))
        return
    if m.group("query"):
        read = _query_inputs(m.group("query"), state)
    else:
        read = _qualify_all(scan_tables(f"SELECT * FROM {m.group('source')}")[0], state)
    state.statements.append(StatementLineage(sql=sql, kind="export", inputs=read, outputs=files))


def _whole_rows(written: Any, read: Any) -> tuple[ColumnLineage, ...]:
    """``w.* <- r.*``: the rows of ``read`` become ``written``'s (EXCHANGE PARTITION, APPEND FROM, SWAP)."""
    return tuple(
        ColumnLineage(ColumnRef(w, "*"), (ColumnRef(r, "*"),), IDENTITY)
        for w in written
        for r in read
        if w != r
    )


def _rename_tables(pairs: str, sql: str, state: _State) -> None:
    """``RENAME TABLE a TO b [, c TO d]``, in order: a table the script wrote passes what it holds to its new
    name (``CREATE TABLE t_new AS ...; RENAME TABLE t TO t_old, t_new TO t`` writes ``t``); renaming a table
    the script did not write is a catalog change that moves no data (as sqllineage, unlike ``ALTER TABLE a
    RENAME TO b``, which OpenLineage reads as in ``a``, out ``b``)."""
    from airflow_lineage_provider.sql.fallback import scan_tables

    moved = False
    for old, new in _RENAME_PAIR.findall(pairs):
        if any(t in state.written for t in _qualify_all(scan_tables(f"SELECT * FROM {old}")[0], state)):
            _analyze_piece(f"ALTER TABLE {old} RENAME TO {new}", state, allow_routine=False)
            moved = True
    if not moved:
        state.statements.append(StatementLineage(sql=sql, kind="rename"))


def _unload(query: str, to: str, sql: str, state: _State) -> None:
    """Redshift ``UNLOAD ('query') TO 'path'`` and Athena ``UNLOAD (query) TO 'path' WITH (...)``: the query's
    columns go to ``path.c``, as ``COPY (query) TO 'file'`` and ``EXPORT DATA`` give them (analysed as an
    INSERT into the path); only its inputs when that fails."""
    path = TableRef(to)
    sub = _State(state.dialect, state.read, state.database, state.schema_name, state.columns)
    pieces = text.split_statements(query)
    if len(pieces) == 1 and '"' not in path.name:
        _analyze_piece(f'INSERT INTO "{path.name}" {pieces[0]}', sub, allow_routine=False)
        done = sub.statements[0] if len(sub.statements) == 1 else None
        if done is not None and done.kind == "insert" and not done.errors and done.outputs == (path,):
            state.statements.append(dataclasses.replace(done, sql=sql, kind="unload"))
            return
    inner = _query_inputs(query, state)
    state.statements.append(StatementLineage(sql=sql, kind="unload", inputs=inner, outputs=(path,)))


def _query_inputs(sql: str, state: _State) -> tuple[TableRef, ...]:
    """Inputs of a query given as a string literal (``UNLOAD ('select ...')``)."""
    sub = _State(state.dialect, state.read, state.database, state.schema_name, state.columns)
    for piece in text.split_statements(sql):
        _analyze_piece(piece, sub, allow_routine=False)
    return tuple(dict.fromkeys(t for s in sub.statements for t in s.inputs))


#: catalog objects that hold no rows, in forms the parser does not know: Redshift ``CREATE EXTERNAL SCHEMA s
#: FROM DATA CATALOG|POSTGRES|MYSQL|KINESIS ...``, ``CREATE SCHEMA s AUTHORIZATION u``, ``ALTER SCHEMA``,
#: Snowflake ``CREATE DATABASE d FROM SHARE p.s``, Unity Catalog ``CREATE CATALOG|VOLUME``, extensions,
#: integrations: the table-level scan would take words after FROM for tables
_CATALOG_OBJECT = re.compile(
    r"^\s*(?:CREATE(?:\s+OR\s+REPLACE)?|ALTER|DROP)\s+(?:EXTERNAL\s+|SHARED\s+|MANAGED\s+)?"
    r"(?:SCHEMA|DATABASE|CATALOG|VOLUME|EXTENSION|NAMESPACE|(?:\w+\s+)?INTEGRATION|CONNECTION|SHARE|SERVER|"
    r"USER\s+MAPPING|LANGUAGE|COLLATION|DOMAIN|TYPE|SEQUENCE|ROLE|USER|WAREHOUSE|RESOURCE\s+MONITOR)\b",
    re.IGNORECASE,
)


def _fallback(raw: str, state: _State, error: str) -> None:
    from airflow_lineage_provider.sql.fallback import scan_tables

    if _CATALOG_OBJECT.match(text.strip_comments(raw)):
        state.statements.append(StatementLineage(sql=raw.strip(), kind="other"))
        return
    try:
        inputs, outputs = scan_tables(text.strip_comments(raw))
    except Exception as exc:
        inputs, outputs = [], []
        error = f"{error}; token scan failed: {exc}"
    if not inputs and not outputs and _PROCEDURAL.match(raw):
        state.statements.append(StatementLineage(sql=raw.strip(), kind="procedural"))
        return
    state.statements.append(
        StatementLineage(
            sql=raw.strip(),
            kind="unparsed",
            inputs=_qualify_all(inputs, state),
            outputs=_qualify_all(outputs, state),
            errors=(error,),
            partial=True,
        )
    )


# ---------------------------------------------------------------------- names and defaults
def _is_path(ref: TableRef) -> bool:
    return (
        not ref.schema
        and not ref.database
        and ("/" in ref.name or "\\" in ref.name or ref.name.startswith("@") or "://" in ref.name)
    )


def _qualify(ref: TableRef, state: _State) -> TableRef:
    if _is_path(ref):
        return ref
    if ref.database:
        if ref.schema:
            return ref
        # db..t: T-SQL's default schema; in Snowflake the PUBLIC schema of db
        schema = "public" if state.read == "snowflake" else state.schema_name
        return TableRef(ref.name, schema, ref.database) if schema else ref
    if ref.schema:
        return TableRef(ref.name, ref.schema, state.database) if state.database else ref
    return TableRef(ref.name, state.schema_name, state.database)


def _has_placeholder(ref: TableRef) -> bool:
    return text.JINJA_PLACEHOLDER in ref.name


def _strip_placeholder(ref: TableRef) -> TableRef:
    if not any(p and text.JINJA_PLACEHOLDER in p for p in (ref.database, ref.schema)):
        return ref  # keeps db..t as database + table (no shift of the database into the schema)
    parts = [p for p in (ref.database, ref.schema) if p and text.JINJA_PLACEHOLDER not in p]
    return TableRef(ref.name, parts[-1] if parts else None, parts[-2] if len(parts) > 1 else None)


def _qualify_all(refs: Any, state: _State) -> tuple[TableRef, ...]:
    out: dict[TableRef, None] = {}
    for ref in refs:
        if _has_placeholder(ref):
            continue
        out[_qualify(_strip_placeholder(ref), state)] = None
    return tuple(out)


def _qualify_col(col: ColumnRef, state: _State) -> ColumnRef | None:
    if col.table is None:
        return col
    if _has_placeholder(col.table):
        return None
    return ColumnRef(_qualify(_strip_placeholder(col.table), state), col.column)


def _qualify_rows(rows: list[IndirectLineage], state: _State) -> tuple[IndirectLineage, ...]:
    out: dict[IndirectLineage, None] = {}
    for row in rows:
        col = _qualify_col(row.input, state)
        if col is not None and not _has_placeholder(row.output):
            out[IndirectLineage(_qualify(_strip_placeholder(row.output), state), col, row.subtype)] = None
    return tuple(out)


def _spelled_output(edge: ColumnLineage, walker: StatementWalker) -> ColumnLineage:
    """``edge`` with its written column as the target's known columns spell it (``SET amount`` of a
    T-SQL or Snowflake ``Amount`` / ``AMOUNT``), as references to it are, so a script's edges chain."""
    out = edge.output
    if out.table is None or out.column == "*":
        return edge
    name = walker.spelled(out.table, out.column)
    return (
        edge
        if name == out.column
        else ColumnLineage(ColumnRef(out.table, name), edge.inputs, edge.transformation)
    )


def _qualify_edge(edge: ColumnLineage, state: _State) -> ColumnLineage | None:
    out = _qualify_col(edge.output, state)
    ins = tuple(c for c in (_qualify_col(i, state) for i in edge.inputs) if c is not None)
    if out is None or not ins:
        return None
    return ColumnLineage(out, ins, edge.transformation)


# ---------------------------------------------------------------------- script net
def _net(state: _State, keep_temp_tables: bool) -> SqlLineage:
    statements = state.statements
    temp = set() if keep_temp_tables else state.temporary
    inputs: dict[TableRef, None] = {}
    outputs: dict[TableRef, None] = {}
    unread = set() if keep_temp_tables else _unread_caches(statements)
    discarded = set() if keep_temp_tables else _discarded_renames(statements, state.renames, temp)
    for i, st in enumerate(statements):
        if i in unread:  # Spark CACHE TABLE c AS query no later statement reads: it moves no data
            continue
        if i in discarded:  # a RENAME TO b of a b the script drops unread: the old table is dropped
            outputs.update((t, None) for t in st.inputs if t not in temp)
            continue
        inputs.update((t, None) for t in st.inputs if t not in temp)
        outputs.update((t, None) for t in st.outputs if t not in temp)
    named = state.named_columns
    edges = merge_edges(_collapse_columns([e for st in statements for e in st.column_lineage], temp, named))
    indirect = _collapse_rows(statements, temp, named)
    errors = tuple(e for st in statements for e in st.errors)
    partial = any(st.partial for st in statements)
    parsed = [st for st in statements if not st.partial]
    return SqlLineage(
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        column_lineage=tuple(edges),
        statements=tuple(statements),
        errors=errors,
        warnings=tuple(state.warnings),
        partial=partial,
        columns_known=bool(parsed) or not statements,
        indirect=indirect,
    )


def _discarded_renames(statements: Any, renames: set[int], temp: set[TableRef]) -> set[int]:
    """Indexes of renames whose new name is an intermediate no later statement reads (dbt's ``ALTER TABLE m
    RENAME TO m__dbt_backup ... DROP TABLE m__dbt_backup``): the old rows are thrown away, not read."""
    discarded: set[int] = set()
    later: set[TableRef] = set()
    for i in range(len(statements) - 1, -1, -1):
        st = statements[i]
        if i in renames and st.outputs and all(t in temp and t not in later for t in st.outputs):
            discarded.add(i)
        later.update(st.inputs)
    return discarded


def _unread_caches(statements: Any) -> set[int]:
    """Indexes of ``CACHE TABLE c AS query`` statements whose ``c`` no later statement reads."""
    unread: set[int] = set()
    later: set[TableRef] = set()
    for i in range(len(statements) - 1, -1, -1):
        st = statements[i]
        if st.kind == "cache" and not later.intersection(st.outputs):
            unread.add(i)
        later.update(st.inputs)
    return unread


class _TempColumns:
    """What each column of the script's temp tables holds: the real columns it came from and the strongest
    transformation on the way. A temp table filled by ``SELECT *`` holds ``t.*``: its column ``c`` is then
    the ``c`` of each dataset behind that star."""

    def __init__(self, temp: set[TableRef], named: dict[TableRef, set[str]] | None = None) -> None:
        self.temp = temp
        self.held: dict[ColumnRef, tuple[set[ColumnRef], str]] = {}
        #: columns a temp table's query named next to its ``*``: without an edge they hold constants
        self.named = named or {}

    def real(self, col: ColumnRef) -> tuple[set[ColumnRef], str]:
        if col.table not in self.temp:
            return {col}, IDENTITY
        found = self.held.get(col)
        if found is not None:
            return found
        star = self.held.get(ColumnRef(col.table, "*"))
        if star is None or col.column == "*" or col.column.lower() in self.named.get(col.table, ()):
            return set(), IDENTITY
        return {ColumnRef(d.table, col.column) for d in star[0] if d.column == "*"}, star[1]

    def expand(self, edge: ColumnLineage) -> list[ColumnLineage]:
        """``x.* <- t.*`` of a temp table ``t`` whose columns are known one by one (``INSERT INTO t_new
        SELECT a, b ...; ALTER TABLE t_new RENAME TO x``): one edge per column of ``t``; else ``[edge]``."""
        if edge.output.column != "*" or len(edge.inputs) != 1:
            return [edge]
        src = edge.inputs[0]
        if src.table not in self.temp or src.column != "*":
            return [edge]
        names = [c.column for c in self.held if c.table == src.table and c.column != "*"]
        each = [
            ColumnLineage(ColumnRef(edge.output.table, n), (ColumnRef(src.table, n),), edge.transformation)
            for n in names
        ]
        # a temp table that also holds a whole table (CLONE, then MERGE into it) keeps its star as well
        return [edge, *each] if src in self.held else each or [edge]

    def resolve(self, edge: ColumnLineage) -> tuple[set[ColumnRef], str]:
        """The real inputs of ``edge`` and its transformation along the whole path."""
        resolved: set[ColumnRef] = set()
        how = edge.transformation
        for src in edge.inputs:
            cols, through = self.real(src)
            resolved |= cols
            if cols:
                how = stronger(how, through)
        return resolved, how

    def record(self, edge: ColumnLineage) -> None:
        """Remember what ``edge`` writes into a temp table column."""
        resolved, how = self.resolve(edge)
        held = self.held.get(edge.output)
        if held is None:
            self.held[edge.output] = (resolved, how)
        else:
            self.held[edge.output] = (held[0] | resolved, stronger(held[1], how))


def _collapse_rows(
    statements: Any, temp: set[TableRef], named: dict[TableRef, set[str]] | None = None
) -> tuple[IndirectLineage, ...]:
    """Net row-deciding columns: through a temp table they become the columns its own columns and rows
    came from, and what decided a temp table's rows decides the rows of what is written from it."""
    columns = _TempColumns(temp, named)  # a temp table's column -> the real columns it holds
    temp_rows: dict[TableRef, set[tuple[ColumnRef, str]]] = {}  # a temp table -> what decided its rows
    out: dict[IndirectLineage, None] = {}

    for st in statements:
        inherited = {r for t in st.inputs if t in temp for r in temp_rows.get(t, ())}
        for edge in st.column_lineage:  # record what each temp column holds, as _collapse_columns does
            if edge.output.table in temp:
                columns.record(edge)
        for target in st.outputs:
            rows = {
                (c, r.subtype) for r in st.indirect if r.output == target for c in columns.real(r.input)[0]
            }
            rows |= inherited
            if target in temp:
                temp_rows.setdefault(target, set()).update(rows)
            else:
                out.update((IndirectLineage(target, c, subtype), None) for c, subtype in rows)
    return tuple(sorted(out, key=IndirectLineage.sort_key))


def _collapse_columns(
    edges: list[ColumnLineage], temp: set[TableRef], named: dict[TableRef, set[str]] | None = None
) -> list[ColumnLineage]:
    """Net column lineage: edges through temp tables are chained to their real sources (through a temp
    table's ``*`` too), with the strongest transformation along the way."""
    if not temp:
        return edges
    columns = _TempColumns(temp, named)
    out: list[ColumnLineage] = []
    for edge in (e for whole in edges for e in columns.expand(whole)):
        if edge.output.table in temp:
            columns.record(edge)
            continue
        resolved, how = columns.resolve(edge)
        if resolved:
            out.append(ColumnLineage(edge.output, tuple(sorted(resolved, key=str)), how))
    return out

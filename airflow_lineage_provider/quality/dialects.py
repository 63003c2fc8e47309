"""Per-dialect SQL spelling for the quality gate: identifier quoting, case folding, sampling, text casts.

Pure Python. A dialect is looked up from an Airflow ``conn_type``; unknown types get an ANSI fallback
that quotes with double quotes and leaves unquoted names to the database.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from decimal import Decimal
from typing import Any

import attrs

from airflow_lineage_provider.exceptions import QualityGateError

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@attrs.frozen
class NamePart:
    """One part of a qualified table name as the author wrote it."""

    text: str
    quoted: bool = False


@attrs.frozen
class QualityDialect:
    """How one SQL engine spells what the gate's query needs."""

    name: str
    quote_open: str = '"'
    quote_close: str = '"'
    #: how the engine folds unquoted identifiers: "lower", "upper" or None (keeps them / case-insensitive)
    fold: str | None = None
    #: format string applied after the table name; ``{percent}`` is the sample percentage; None: no sampling
    sample_clause: str | None = None
    #: format string turning ``{expr}`` into text, so blank-string counting works on any column type
    text_cast: str = "CAST({expr} AS VARCHAR)"
    #: the blank-string predicate: ``{expr}`` the quoted column, ``{text}`` it cast to text
    blank_format: str = "TRIM({text}) = ''"
    #: the engine has ``COUNT(*) FILTER (WHERE ...)``: null counts step the aggregate on null rows only
    aggregate_filter: bool = False
    #: False for the fallback dialect: unquoted plain names are passed through untouched
    known: bool = True
    #: statements run on the gate's own connection before its query (session settings for that query only)
    setup: tuple[str, ...] = ()
    #: DB-API ``type_code`` values (``cursor.description``) of columns ``text_cast`` refuses (MySQL/MariaDB
    #: spatial types: "Illegal parameter data type ... for operation 'cast_as_char'"), and the cast that
    #: turns them into a string for the blank test instead
    opaque_type_codes: tuple[Any, ...] = ()
    opaque_text_cast: str | None = None
    #: the most values one result row may hold (PostgreSQL's target list, SQLite's columns); None: no limit
    max_result_columns: int | None = None
    #: the most parts a table name may have here, and what they are (MySQL/MariaDB: ``database.table``)
    max_table_parts: int = 3
    table_parts_shape: str = "[database.][schema.]table"

    def quote(self, identifier: str) -> str:
        """``identifier`` quoted exactly (any case, reserved words, embedded quote characters)."""
        if "\x00" in identifier:
            msg = f"identifier {identifier!r} contains a NUL character"
            raise QualityGateError(msg)
        escaped = identifier.replace(self.quote_close, self.quote_close * 2)
        return f"{self.quote_open}{escaped}{self.quote_close}"

    def render_part(self, part: NamePart) -> str:
        """A name part as SQL: quoted parts exactly; unquoted ones folded as the engine would, then quoted."""
        if part.quoted:
            return self.quote(part.text)
        if not self.known and _PLAIN.match(part.text):
            return part.text
        if self.fold == "lower":
            return self.quote(part.text.lower())
        if self.fold == "upper":
            return self.quote(part.text.upper())
        return self.quote(part.text)

    def render_table(self, parts: tuple[NamePart, ...]) -> str:
        return ".".join(self.render_part(part) for part in parts)

    def check_table(self, parts: tuple[NamePart, ...], table: str) -> None:
        """Refuse a name with more parts than the engine has (there a syntax error, found at run time)."""
        if len(parts) > self.max_table_parts:
            msg = (
                f"table {table!r} has {len(parts)} name parts, but {self.name} names tables "
                f"{self.table_parts_shape}; drop the extra part (or quote a name that contains a dot)"
            )
            raise QualityGateError(msg)

    def sample(self, percent: float) -> str:
        if self.sample_clause is None:
            msg = (
                f"sampling is not supported on {self.name} connections; remove sample_percent "
                "(or measure a subset with row_filter instead)"
            )
            raise QualityGateError(msg)
        return " " + self.sample_clause.format(percent=_number(percent))

    def blank_test(self, quoted_column: str, *, opaque: bool = False) -> str:
        """A predicate true when the column holds an empty or all-blank string (any column type).

        ``opaque``: the column's type is one of ``opaque_type_codes`` (``text_cast`` would be refused).
        """
        cast = self.opaque_text_cast if opaque and self.opaque_text_cast else self.text_cast
        return self.blank_format.format(expr=quoted_column, text=cast.format(expr=quoted_column))


def _sqlite_result_columns() -> int:
    """The most columns a result row may have in the SQLite library Python links (2000 unless rebuilt)."""
    try:
        with closing(sqlite3.connect(":memory:")) as db:
            return int(db.getlimit(sqlite3.SQLITE_LIMIT_COLUMN))
    except Exception:  # Python < 3.11 has no getlimit(): SQLite's compiled-in default
        return 2000


def _number(value: float) -> str:
    """``value`` as an SQL numeric literal, exactly (no exponent: ``1e-07`` is ``0.0000001``)."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_ANSI = QualityDialect(name="generic", known=False)

_DIALECTS: dict[str, QualityDialect] = {
    "postgres": QualityDialect(
        name="postgres",
        fold="lower",
        sample_clause="TABLESAMPLE SYSTEM ({percent})",
        text_cast="CAST({expr} AS TEXT)",
        aggregate_filter=True,
        # when the server JIT-compiles the query at all (its cost is above jit_above_cost: a big table), also
        # optimise it: 20 FILTER aggregates per row run 8-25 % faster for tens of ms of compiling (measured
        # in docs/quality-gate.md). jit = off, or a table below jit_above_cost, is left as it is. Local to the
        # gate's transaction: nothing leaks to a pooled server connection.
        setup=(
            "SELECT pg_catalog.set_config('jit_optimize_above_cost', "
            "pg_catalog.current_setting('jit_above_cost'), true)",
        ),
        max_result_columns=1664,  # MaxTupleAttributeNumber: "target lists can have at most 1664 entries"
    ),
    "redshift": QualityDialect(name="redshift", fold="lower"),
    # aggregate FILTER arrived in SQLite 3.30 (2019); the library Python links is the one the hook uses
    "sqlite": QualityDialect(
        name="sqlite",
        text_cast="{expr}",
        aggregate_filter=sqlite3.sqlite_version_info >= (3, 30),
        max_result_columns=_sqlite_result_columns(),
        max_table_parts=2,
        table_parts_shape="[schema.]table (schema: main, temp or an attached database)",
    ),
    # GEOMETRY, POINT ... (type code 255 in mysqlclient, PyMySQL and mysql-connector) refuse CAST AS CHAR
    "mysql": QualityDialect(
        name="mysql",
        quote_open="`",
        quote_close="`",
        text_cast="CAST({expr} AS CHAR)",
        opaque_type_codes=(255,),
        opaque_text_cast="CAST({expr} AS BINARY)",
        max_table_parts=2,  # a database is MySQL's schema: `db`.`schema`.`t` is a syntax error
        table_parts_shape="[database.]table",
    ),
    "snowflake": QualityDialect(name="snowflake", fold="upper", sample_clause="SAMPLE SYSTEM ({percent})"),
    "bigquery": QualityDialect(
        name="bigquery",
        quote_open="`",
        quote_close="`",
        sample_clause="TABLESAMPLE SYSTEM ({percent} PERCENT)",
        text_cast="CAST({expr} AS STRING)",
    ),
    "mssql": QualityDialect(
        name="mssql",
        quote_open="[",
        quote_close="]",
        sample_clause="TABLESAMPLE ({percent} PERCENT)",
        text_cast="CAST({expr} AS NVARCHAR(MAX))",
    ),
    "trino": QualityDialect(name="trino", fold="lower", sample_clause="TABLESAMPLE SYSTEM ({percent})"),
    # Oracle stores '' as NULL (counted as a null already), and TRIM of a string of spaces is NULL too
    "oracle": QualityDialect(
        name="oracle",
        fold="upper",
        sample_clause="SAMPLE BLOCK ({percent})",
        text_cast="TO_CHAR({expr})",
        blank_format="{expr} IS NOT NULL AND TRIM({text}) IS NULL",
    ),
    # Hive, Spark SQL and Impala read "x" as a string: identifiers take backticks
    "hive": QualityDialect(
        name="hive", quote_open="`", quote_close="`", fold="lower", text_cast="CAST({expr} AS STRING)"
    ),
    "databricks": QualityDialect(
        name="databricks",
        quote_open="`",
        quote_close="`",
        sample_clause="TABLESAMPLE ({percent} PERCENT)",
        text_cast="CAST({expr} AS STRING)",
    ),
}

_ALIASES = {
    "postgresql": "postgres",
    "psql": "postgres",
    "mariadb": "mysql",
    "aurora": "mysql",
    "presto": "trino",
    "odbc_mssql": "mssql",
    "sqlserver": "mssql",
    "gcpbigquery": "bigquery",
    "google_cloud_platform": "bigquery",
    "databricks_sql": "databricks",
    "hiveserver2": "hive",
    "hive_cli": "hive",
    "impala": "hive",
    "spark_sql": "hive",
    "spark_connect": "hive",
}


def dialect_for(conn_type: str | None, escape_word_format: str | None = None) -> QualityDialect:
    """The dialect for an Airflow ``conn_type``; unknown types get the ANSI fallback.

    ``escape_word_format`` (a ``DbApiHook``'s, e.g. ``"`{}`"``) sets the fallback's quote characters.
    """
    key = (conn_type or "").strip().lower().replace("-", "_")
    dialect = _DIALECTS.get(_ALIASES.get(key, key))
    if dialect is not None:
        return dialect
    quoting = re.fullmatch(r"(\S)\{\}(\S)", escape_word_format or "")
    if quoting and quoting.groups() != ('"', '"'):
        return attrs.evolve(_ANSI, quote_open=quoting.group(1), quote_close=quoting.group(2))
    return _ANSI


def _mysql_text(text: str) -> str:
    """``text`` as a MySQL/MariaDB string literal that needs no escaping, whatever ``sql_mode`` says of
    backslashes: a hex literal read as UTF-8."""
    return f"CONVERT(X'{text.encode().hex()}' USING utf8mb4)" if text else "''"


def granted_columns_query(dialect: QualityDialect, table: tuple[NamePart, ...]) -> str | None:
    """A catalog query for the columns of ``table`` the user may ``SELECT`` (in table order), for when the
    probe's ``SELECT *`` is refused to a user granted some columns only; ``None`` where not supported.

    PostgreSQL: the table is resolved as the measuring query resolves it (``to_regclass``: search path,
    quoting), and a column is listed when ``has_column_privilege(..., 'SELECT')`` (a table-level grant, or
    one on that column). MySQL/MariaDB: ``information_schema.COLUMNS`` lists the columns the user holds
    some privilege on, ``PRIVILEGES`` says which (``select,insert,...``); the database is the one named,
    else the connection's.
    """
    if dialect.name == "postgres":
        name = dialect.render_table(table).replace("'", "''")
        return (
            "SELECT a.attname FROM pg_catalog.pg_attribute AS a "
            f"WHERE a.attrelid = pg_catalog.to_regclass('{name}') AND a.attnum > 0 AND NOT a.attisdropped "
            "AND pg_catalog.has_column_privilege(a.attrelid, a.attnum, 'SELECT') ORDER BY a.attnum"
        )
    if dialect.name == "mysql" and 1 <= len(table) <= 2:
        database = _mysql_text(table[0].text) if len(table) == 2 else "DATABASE()"
        return (
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
            f"WHERE TABLE_SCHEMA = {database} AND TABLE_NAME = {_mysql_text(table[-1].text)} "
            "AND FIND_IN_SET('select', PRIVILEGES) > 0 ORDER BY ORDINAL_POSITION"
        )
    return None


#: MySQL/MariaDB error numbers of a refused ``SELECT``: on the table (1142), on a column (1143)
_MYSQL_DENIED = (1142, 1143)


def lacks_privilege(exc: BaseException) -> bool:
    """Whether a database error is a refused privilege (SQLSTATE 42501, ``insufficient_privilege``; on
    MySQL/MariaDB, whose SQLSTATE is the generic 42000, the error number)."""
    code = getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None)
    if code == "42501":
        return True
    args = getattr(exc, "args", ())
    # mysql-connector has ``errno``; mysqlclient and PyMySQL give the number first in ``args``
    number = getattr(exc, "errno", None) or (args[0] if args else None)
    return isinstance(number, int) and number in _MYSQL_DENIED


def quoting_probe(dialect: QualityDialect, table: tuple[NamePart, ...]) -> str:
    """A query that must fail: it names a column that does not exist, quoted the dialect's way.

    For an engine the gate does not know: if this runs, the quoting makes string literals there, and every
    null count would silently be 0.
    """
    return f"SELECT {dialect.quote('alp_no_such_column_0')} FROM {dialect.render_table(table)} WHERE 1 = 0"


def parse_table_name(text: str) -> tuple[NamePart, ...]:
    """Split ``[db.][schema.]table`` on dots outside quotes (``"..."``, ```...```, ``[...]``).

    A doubled closing quote inside a quoted part is an escaped quote. Raises ``QualityGateError`` naming
    the problem for an empty name, an empty part or an unbalanced quote.
    """
    if not isinstance(text, str):
        msg = f"table must be a table name string such as 'schema.table', got {text!r}"
        raise QualityGateError(msg)
    parts: list[NamePart] = []
    source = text.strip()
    i, n = 0, len(source)
    if not source:
        msg = "table must be a non-empty table name such as 'schema.table'"
        raise QualityGateError(msg)
    while i < n:
        char = source[i]
        if char in '"`[':
            closing = "]" if char == "[" else char
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    msg = f"table {text!r}: unbalanced quote {char!r}; close every quoted name part"
                    raise QualityGateError(msg)
                if source[i] == closing:
                    if i + 1 < n and source[i + 1] == closing:
                        buf.append(closing)
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(source[i])
                i += 1
            parts.append(NamePart("".join(buf), quoted=True))
        else:
            j = i
            while j < n and source[j] != ".":
                j += 1
            word = source[i:j].strip()
            if not _PLAIN.match(word):
                msg = (
                    f"table {text!r}: name part {word!r} is not a plain identifier; "
                    'quote it (e.g. "My Table") or fix the name'
                )
                raise QualityGateError(msg)
            parts.append(NamePart(word))
            i = j
        if i < n:
            if source[i] != ".":
                msg = f"table {text!r}: expected '.' between name parts at position {i}"
                raise QualityGateError(msg)
            i += 1
            if i >= n:
                msg = f"table {text!r}: empty name part after the last '.'"
                raise QualityGateError(msg)
    if len(parts) > 3:
        msg = f"table {text!r}: at most three parts (database.schema.table), got {len(parts)}"
        raise QualityGateError(msg)
    return tuple(parts)

"""Statement splitting and text handling: the text helpers, each dialect's comments (``#``, ``//``, MySQL /
MariaDB executable comments), dollar quotes, T-SQL ``GO`` batches, leftover Jinja and numeric binds."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze
from airflow_lineage_provider.sql.text import clean_templating, shorten_values, split_statements

from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        ("SELECT 1; SELECT 2;", 2),
        ("SELECT ';'; SELECT \";\"", 2),
        ("SELECT 1 -- ; comment\n; SELECT 2 /* ; */", 2),
        ("CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END; SELECT 3", 2),
        ("BEGIN; INSERT INTO t VALUES (1); COMMIT;", 3),
        ("SELECT CASE WHEN a THEN 1 END; SELECT 2", 2),
        ("BEGIN IF x THEN SELECT 1; END IF; LOOP SELECT 2; END LOOP; END; SELECT 3", 2),
        ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2", 2),
        (";;  ;", 0),
    ],
)
def test_split_statements(sql: str, count: int) -> None:
    assert len(split_statements(sql)) == count


def test_clean_templating() -> None:
    assert clean_templating("a = %(x)s AND b = %s {# c #}") == "a = ? AND b = ?  "


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("INSERT INTO o SELECT a FROM s WHERE ts >= %(start)s::timestamp AND ds = %s::date - 1", "postgres"),
        ("INSERT INTO o SELECT a FROM s WHERE ds BETWEEN ?::date AND ? :: date", "duckdb"),
        ("INSERT INTO o SELECT a FROM s WHERE ds = %(ds)s::date", "redshift"),
    ],
)
def test_a_positional_bind_cast_with_double_colons_parses(sql: str, dialect: str) -> None:
    assert _plain(sql, dialect) == {"o.a": {"s.a"}}


def test_a_bind_cast_keeps_the_jsonb_question_mark_operators() -> None:
    assert clean_templating("doc ?| array['a'] AND x = %s::int") == "doc ?| array['a'] AND x = (?)::int"


def test_shorten_values() -> None:
    sql = "INSERT INTO t VALUES (1, ')'), " + ", ".join(["(2, 'x')"] * 100)
    assert shorten_values(sql, 50) == "INSERT INTO t VALUES (1, ')')"
    assert shorten_values("INSERT INTO t VALUES (1)", 50) is None


# ---------------------------------------------------------------------- comments


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "INSERT INTO t (a) SELECT a FROM s # it's loaded; then copied\n; INSERT INTO u SELECT a FROM t",
            "mysql",
            id="mysql-hash-comment",
        ),
        pytest.param(
            "#standardSQL\nINSERT INTO t (a) SELECT a FROM s; # don't; stop\n"
            "INSERT INTO u SELECT a FROM t WHERE b = 'x'",
            "bigquery",
            id="bigquery-hash-comment",
        ),
        pytest.param(
            "// load step; don't skip\nINSERT INTO t (a) SELECT a FROM s; // it's here; yes\n"
            "INSERT INTO u SELECT a FROM t",
            "snowflake",
            id="snowflake-double-slash-comment",
        ),
        pytest.param(
            "INSERT INTO t (a) SELECT a FROM s # that's; all\n; INSERT INTO u SELECT a FROM t",
            "clickhouse",
            id="clickhouse-hash-comment",
        ),
    ],
)
def test_dialect_line_comments_hold_semicolons_and_quotes(sql: str, dialect: str) -> None:
    assert _kinds(sql, dialect) == ["insert", "insert"]
    assert _tables(sql, dialect) == (["s", "t"], ["t", "u"])


def test_hash_is_no_comment_where_the_dialect_has_no_such_comment() -> None:
    sql = "INSERT INTO t SELECT a # b AS x FROM s; INSERT INTO u SELECT x FROM t"
    assert _plain(sql, "postgres") == {"t.x": {"s.a", "s.b"}, "u.x": {"t.x"}}


def test_slash_slash_inside_a_snowflake_string_is_no_comment() -> None:
    sql = "INSERT INTO t SELECT a FROM s WHERE u = 'https://x.io/a;b'; INSERT INTO u SELECT a FROM t"
    assert _kinds(sql, "snowflake") == ["insert", "insert"]


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        pytest.param(
            "/*!50001 CREATE ALGORITHM=UNDEFINED */ "
            "/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */ "
            "/*!50001 VIEW `v` AS select `s`.`a` AS `a` from `s` */;",
            "mysql",
            ["s"],
            ["v"],
            id="mysqldump-view",
        ),
        pytest.param(
            "/*!40101 SET NAMES utf8mb4 */;\nINSERT INTO t SELECT a FROM s",
            "mysql",
            ["s"],
            ["t"],
            id="documents-set-names",
        ),
        pytest.param("/*M!100100 INSERT INTO t SELECT a FROM s */", "mariadb", ["s"], ["t"], id="mariadb"),
        pytest.param(
            "INSERT INTO t SELECT a.x, b.y FROM a JOIN b ON a.id = b.id /*! STRAIGHT_JOIN */;\n"
            "INSERT INTO u SELECT z FROM c /*!40001 SQL_NO_CACHE */",
            "mysql",
            ["a", "b", "c"],
            ["t", "u"],
            id="modifier-at-the-end",
        ),
        pytest.param(
            "INSERT INTO t SELECT a FROM s WHERE x <> '/*!50001 not a comment */'",
            "mysql",
            ["s"],
            ["t"],
            id="documents-inside-a-string",
        ),
    ],
)
def test_mysql_executable_comments_are_run(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_documents_executable_comments_are_comments_elsewhere() -> None:
    assert _tables("/*!50001 INSERT INTO t SELECT a FROM s */ SELECT 1", "postgres") == ([], [])


# ---------------------------------------------------------------------- quotes and batches


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE FUNCTION f() RETURNS void AS $fn$ INSERT INTO b SELECT a FROM c; $fn$ LANGUAGE sql; "
        "INSERT INTO x SELECT y FROM z",
        "INSERT INTO x SELECT y FROM z WHERE note <> $q$a;b$q$",
    ],
)
def test_postgres_tagged_dollar_quotes_hold_their_semicolons(sql: str) -> None:
    res = analyze(sql, "postgres")
    assert not res.errors and not res.partial
    assert _plain(sql, "postgres") == {"x.y": {"z.y"}}


def test_dollar_signs_inside_names_are_no_quotes() -> None:
    sql = "SELECT v$a$b FROM x; INSERT INTO y SELECT a FROM z"
    assert _tables(sql, "oracle") == (["x", "z"], ["y"])


def test_go_lines_separate_batches() -> None:
    sql = "INSERT INTO dbo.a SELECT * FROM dbo.b\nGO\nUPDATE dbo.c SET x = d.y FROM dbo.d AS d;\ngo 2\n"
    assert _tables(sql, "tsql") == (["dbo.b", "dbo.d"], ["dbo.a", "dbo.c"])
    assert split_statements("SELECT 'a\nGO\nb' FROM t /*\nGO\n*/") == ["SELECT 'a\nGO\nb' FROM t /*\nGO\n*/"]


def test_slash_lines_end_statements_of_an_oracle_script() -> None:
    """SQL*Plus runs the buffer at a ``/`` alone on its line, after a statement or a PL/SQL block."""
    sql = (
        "INSERT INTO hr.a SELECT x FROM hr.b\n/\n"
        "BEGIN\n  INSERT INTO hr.c SELECT y FROM hr.d;\nEND;\n/\n"
        "CREATE TABLE hr.e AS SELECT v\n/ 2 AS half FROM hr.f\n/\n"
    )
    assert _tables(sql, "oracle") == (["hr.b", "hr.d", "hr.f"], ["hr.a", "hr.c", "hr.e"])
    assert _plain(sql, "oracle")["hr.e.half"] == {"hr.f.v"}


def test_a_slash_line_is_a_division_outside_oracle() -> None:
    assert _plain("INSERT INTO t SELECT a\n/\nb AS r FROM s", "postgres") == {"t.r": {"s.a", "s.b"}}


# ---------------------------------------------------------------------- rendered templates and binds


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t (c, d) SELECT {{ params.col }} AS c, d FROM s WHERE x = {{ params.x }}",
        "INSERT INTO t (c, d) SELECT s.{{ params.col }} AS c, d FROM s WHERE x = {{ params.x }}",
    ],
)
def test_leftover_jinja_names_no_column(sql: str) -> None:
    assert _plain(sql, "postgres") == {"t.d": {"s.d"}}
    assert _rows(sql, "postgres") == {("t", "s.x", "FILTER")}


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        (
            "INSERT INTO ${db}.o SELECT a FROM ${hivevar:db}.s WHERE ds = '${hiveconf:ds}'",
            "hive",
            ["s"],
            ["o"],
        ),
        ("INSERT INTO ${catalog}.${schema}.o SELECT a FROM ${catalog}.raw.s", "databricks", ["raw.s"], ["o"]),
        ("INSERT OVERWRITE TABLE ${hiveconf:target} SELECT a FROM s", "hive", ["s"], []),
        ("INSERT INTO o SELECT a FROM s_${suffix}", "spark", [], ["o"]),
        ("INSERT INTO o SELECT a FROM s WHERE ds = ${ds}", "snowflake", ["s"], ["o"]),
    ],
)
def test_substitution_variables_in_names_are_left_out_like_jinja(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    """Hive / Spark / Databricks ``${var}``, ``${hivevar:x}``, ``${hiveconf:x}`` left unsubstituted: the part
    of a name they stand for is unknown (not a schema called ``db`` or ``hiveconf``), as with leftover
    Jinja."""
    assert _tables(sql, dialect) == (inputs, outputs)


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        ("INSERT INTO t (a, b) VALUES (:1, :2)", "oracle", [], ["t"]),
        ("INSERT INTO t (a) SELECT a FROM s WHERE c = :1 AND d BETWEEN :2 AND :3", "oracle", ["s"], ["t"]),
        ("UPDATE t SET a = :1 WHERE id = :2", "sqlite", [], ["t"]),
        ("DELETE FROM t WHERE id IN (:1,:2)", "postgres", [], ["t"]),
    ],
)
def test_numeric_binds_parse(sql: str, dialect: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_numeric_bind_lookalikes_are_kept() -> None:
    assert _plain("SELECT x::int AS x, arr[1:2] AS a FROM s", "postgres") == {"x": {"s.x"}, "a": {"s.arr"}}
    assert _plain("SELECT v:1 AS v FROM s", "snowflake") == {"v": {"s.v"}}


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "/* outer /* nested; */ still a comment; */ INSERT INTO t SELECT a FROM s; "
            "INSERT INTO u SELECT b FROM c",
            "postgres",
        ),
        ("INSERT INTO t SELECT a /* x /* y */ 'z; */ FROM s;\nINSERT INTO u SELECT b FROM c", "tsql"),
    ],
)
def test_nested_block_comments_are_one_comment(sql: str, dialect: str) -> None:
    """PostgreSQL and T-SQL block comments nest: ``;`` and quotes anywhere inside the outer one are
    comment text."""
    result = analyze(sql, dialect)
    assert not result.errors, result.errors
    assert result.to_dict() == {
        "inputs": ["s", "c"],
        "outputs": ["t", "u"],
        "column_lineage": [["t.a", "s.a"], ["u.b", "c.b"]],
    }

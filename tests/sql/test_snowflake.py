"""Snowflake: quoted upper-case names, ``db..t``, ``IDENTIFIER('t')``, streams and their metadata columns,
file formats and stages, ``USE`` (``ROLE`` / ``WAREHOUSE`` / ``SECONDARY ROLES`` keep the namespace,
``DATABASE`` / ``SCHEMA`` change it) and ``UNDROP``.

Snowflake's COPY INTO is in test_load_unload.py, MERGE in test_merge.py, Snowflake Scripting in
test_procedural.py, ``ALTER DYNAMIC TABLE ... REFRESH`` and ``CREATE DATABASE ... FROM SHARE`` in
test_ddl.py."""

from __future__ import annotations

import pytest

from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- names: quoting, db..t, IDENTIFIER()


def test_snowflake_quoted_upper_case_names_are_the_unquoted_ones() -> None:
    sql = (
        "merge into a.inc as d using a.inc__tmp as s on (s.id = d.id) "
        'when matched then update set "ID" = s."ID", "Val" = s."Val"'
    )
    assert _plain(sql, "snowflake") == {"a.inc.id": {"a.inc__tmp.id"}, "a.inc.Val": {"a.inc__tmp.Val"}}
    assert _tables('SELECT 1 FROM "RAW"."ORDERS"', "snowflake") == (["raw.orders"], [])
    assert _tables('SELECT 1 FROM "RAW"."ORDERS"', "postgres") == (["RAW.ORDERS"], [])


def test_snowflake_database_dot_dot_table_is_the_public_schema() -> None:
    got = _tables(
        "INSERT INTO db2..tgt SELECT id FROM src", "snowflake", default_database="DB", default_schema="S"
    )
    assert got == (["DB.S.src"], ["db2.public.tgt"])


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO IDENTIFIER('db.sc.t') SELECT a FROM IDENTIFIER('db.sc.s')",
            {"db.sc.t.a": {"db.sc.s.a"}},
            id="insert",
        ),
        pytest.param(
            "INSERT INTO IDENTIFIER('db.sc.t') (x, y) SELECT s.a, o.b FROM IDENTIFIER('db.sc.s') s "
            "JOIN IDENTIFIER('o') o ON s.id = o.id",
            {"db.sc.t.x": {"db.sc.s.a"}, "db.sc.t.y": {"o.b"}},
            id="aliased-join",
        ),
    ],
)
def test_snowflake_identifier_tables_carry_column_lineage(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "snowflake") == expected


def test_snowflake_identifier_table_star_expands_with_a_schema() -> None:
    sql = "CREATE OR REPLACE TABLE IDENTIFIER('db.sc.t') AS SELECT * FROM IDENTIFIER('db.sc.s')"
    got = _plain(sql, "snowflake", schema={"db.sc.s": ["a", "b"]})
    assert got == {"db.sc.t.a": {"db.sc.s.a"}, "db.sc.t.b": {"db.sc.s.b"}}


# ---------------------------------------------------------------------- streams


def test_snowflake_create_stream_reads_its_table() -> None:
    sql = "CREATE OR REPLACE STREAM raw.orders_stream ON TABLE raw.orders APPEND_ONLY = TRUE"
    assert _tables(sql, "snowflake") == (["raw.orders"], ["raw.orders_stream"])
    assert _plain(sql, "snowflake") == {"raw.orders_stream.*": {"raw.orders.*"}}


def test_snowflake_stream_metadata_columns_are_no_data_columns() -> None:
    sql = (
        "MERGE INTO t USING (SELECT id, a, METADATA$ACTION AS act, METADATA$ISUPDATE AS upd FROM s_stream) s "
        "ON t.id = s.id WHEN MATCHED AND s.act = 'DELETE' AND NOT s.upd THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET t.a = s.a WHEN NOT MATCHED THEN INSERT (id, a) VALUES (s.id, s.a)"
    )
    assert _plain(sql, "snowflake") == {"t.a": {"s_stream.a"}, "t.id": {"s_stream.id"}}
    assert _rows(sql, "snowflake") == {("t", "t.id", "JOIN"), ("t", "s_stream.id", "JOIN")}


# ---------------------------------------------------------------------- file formats and stages


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        pytest.param(
            "COPY INTO raw.events FROM @raw.stage/events/ FILE_FORMAT = (FORMAT_NAME = raw.csv_fmt)",
            ["@raw.stage/events/"],
            ["raw.events"],
            id="copy-format-name",
        ),
        pytest.param(
            "COPY INTO raw.events (a, b) "
            "FROM (SELECT $1, $2 FROM @raw.stage/x/ (FILE_FORMAT => raw.csv_fmt))",
            ["@raw.stage/x/"],
            ["raw.events"],
            id="copy-stage-file-format-argument",
        ),
        pytest.param(
            "CREATE TABLE t AS SELECT $1:a::string AS a FROM @raw.stage/x.json (FILE_FORMAT => json_fmt) s",
            ["@raw.stage/x.json"],
            ["t"],
            id="select-from-stage-with-file-format",
        ),
        pytest.param(
            "COPY INTO 's3://bucket/o/' FROM sales.orders STORAGE_INTEGRATION = s3_int "
            "FILE_FORMAT = (FORMAT_NAME = my_fmt)",
            ["sales.orders"],
            ["s3://bucket/o/"],
            id="unload-format-name",
        ),
        pytest.param(
            "CREATE OR REPLACE STAGE raw.stage URL = 's3://bucket/p/' FILE_FORMAT = raw.json_fmt",
            ["s3://bucket/p/"],
            ["raw.stage"],
            id="create-stage-file-format",
        ),
        pytest.param(
            "CREATE OR REPLACE EXTERNAL TABLE ext.e (id STRING AS (value:id::string)) "
            "LOCATION = @raw.stage/e/ FILE_FORMAT = (FORMAT_NAME = raw.json_fmt)",
            [],
            ["ext.e"],
            id="external-table-file-format",
        ),
        pytest.param(
            "CREATE OR REPLACE FILE FORMAT raw.json_fmt TYPE = JSON", [], [], id="create-file-format"
        ),
    ],
)
def test_snowflake_file_formats_are_no_datasets(sql: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, "snowflake") == (sorted(inputs), sorted(outputs))


# ---------------------------------------------------------- session: USE ROLE / WAREHOUSE / DATABASE / SCHEMA


@pytest.mark.parametrize(
    "use",
    ["USE ROLE analyst", "USE WAREHOUSE compute_wh", "USE SECONDARY ROLES ALL", 'USE ROLE "Loader"'],
)
def test_snowflake_use_of_a_role_or_warehouse_keeps_the_namespace(use: str) -> None:
    sql = f"{use};\nINSERT INTO t SELECT a FROM raw.u"
    assert _tables(sql, "snowflake", default_database="db", default_schema="public") == (
        ["db.raw.u"],
        ["db.public.t"],
    )


def test_documents_snowflake_use_schema_and_database() -> None:
    sql = "USE DATABASE d2;\nUSE SCHEMA raw;\nINSERT INTO t SELECT a FROM u"
    assert _tables(sql, "snowflake", default_database="db", default_schema="public") == (
        ["d2.raw.u"],
        ["d2.raw.t"],
    )


# ---------------------------------------------------------------------- UNDROP


def test_snowflake_undrop_table_writes_it() -> None:
    assert _tables("UNDROP TABLE db.s.t", "snowflake") == ([], ["db.s.t"])
    assert _tables("UNDROP SCHEMA db.s", "snowflake") == ([], [])


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SET target = 'an.t'; INSERT INTO IDENTIFIER($target) SELECT a FROM raw.s",
            (["raw.s"], ["an.t"]),
        ),
        (
            "SET src = 'raw.s';\nset TGT='an.t';\n"
            "INSERT INTO identifier($tgt) SELECT a FROM IDENTIFIER($SRC)",
            (["raw.s"], ["an.t"]),
        ),
        (
            "SET target = 'an.t'; SET target = (SELECT max(name) FROM cfg); "
            "INSERT INTO IDENTIFIER($target) SELECT a FROM raw.s",
            (["cfg", "raw.s"], []),
        ),
    ],
)
def test_identifier_of_a_session_variable_names_its_string(
    sql: str, expected: tuple[list[str], list[str]]
) -> None:
    """``SET target = 'an.t'`` then ``IDENTIFIER($target)`` names ``an.t``, like ``IDENTIFIER('an.t')``; a
    variable set to something else (a query) names no known table."""
    assert _tables(sql, "snowflake") == expected


def test_asof_join_match_condition_joins_the_rows() -> None:
    """``ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.id = b.id`` pairs each row with the latest match:
    the match condition decides which ``b`` row joins, like ``ON``."""
    sql = (
        "INSERT INTO rpt.t SELECT a.id, b.val FROM raw.a a ASOF JOIN raw.b b "
        "MATCH_CONDITION (a.ts >= b.ts) ON a.id = b.id"
    )
    assert _rows(sql, "snowflake") == {
        ("rpt.t", f"raw.{side}.{col}", "JOIN") for side in ("a", "b") for col in ("id", "ts")
    }
    assert _plain(sql, "snowflake") == {"rpt.t.id": {"raw.a.id"}, "rpt.t.val": {"raw.b.val"}}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "CREATE TABLE m AS SELECT v:user.id::string, src.v:kind FROM raw.ev src",
            {"m.v:user.id::string": {"raw.ev.v"}, "m.src.v:kind": {"raw.ev.v"}},
        ),
        (
            "CREATE TABLE m AS SELECT v:a.b::varchar AS x, v:c::int FROM raw.ev",
            {"m.x": {"raw.ev.v"}, "m.v:c::int": {"raw.ev.v"}},
        ),
    ],
)
def test_an_unaliased_semi_structured_path_is_named_as_written(
    sql: str, expected: dict[str, set[str]]
) -> None:
    """``v:user.id::string`` without an alias is named by its text (lower-cased), not by the parser's
    rewriting of it (``CAST(GET_PATH(v, 'user.id') AS VARCHAR)``)."""
    assert _plain(sql, "snowflake") == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * ILIKE '%id' FROM s", {"id": {"s.id"}, "cust_id": {"s.cust_id"}}),
        ("SELECT t.* ILIKE 'A%' FROM s AS t", {"amount": {"s.amount"}}),
        ("SELECT * ILIKE '%id' EXCLUDE (id) FROM s", {"cust_id": {"s.cust_id"}}),
        # the catalog's upper-case names through a CTE: EXCLUDE names them unquoted
        ("WITH x AS (SELECT * FROM u) SELECT * EXCLUDE (amount) FROM x", {"ID": {"u.ID"}}),
    ],
)
def test_snowflake_star_ilike_and_exclude_select_by_name_with_a_schema(sql: str, expected: dict) -> None:
    schema = {"s": ["id", "cust_id", "amount"], "U": ["ID", "AMOUNT"]}
    assert _plain(sql, "snowflake", schema=schema) == expected

"""BigQuery: partition decorators (``t$20240101``), snapshot and external tables (``WITH CONNECTION``,
``WITH PARTITION COLUMNS``), and what BigQuery operators generate (``MERGE ... INSERT ROW``, ``EXPORT DATA``).

LOAD DATA / EXPORT DATA are in test_load_unload.py, ``UNNEST ... WITH OFFSET`` in test_table_functions.py,
script variables in test_scripts.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- names: partition decorators


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        pytest.param(
            "INSERT INTO `p.ds.daily$20240101` SELECT a FROM `p.ds.events`",
            ["p.ds.events"],
            ["p.ds.daily"],
            id="rendered-ds-nodash-target",
        ),
        pytest.param(
            "INSERT INTO p.ds.daily SELECT a FROM `p.ds.events$2024010112`",
            ["p.ds.events"],
            ["p.ds.daily"],
            id="hour",
        ),
        pytest.param(
            "SELECT a FROM `p.ds.events$__UNPARTITIONED__`", ["p.ds.events"], [], id="unpartitioned"
        ),
    ],
)
def test_a_bigquery_partition_decorator_names_the_table(
    sql: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, "bigquery") == (inputs, outputs)


def test_documents_a_dollar_in_a_name_stays_elsewhere() -> None:
    assert _tables("SELECT a FROM t$1", "snowflake") == (["t$1"], [])


# ---------------------------------------------------------------------- snapshots and external tables


def test_bigquery_snapshot_table_copies_its_source() -> None:
    sql = (
        "CREATE SNAPSHOT TABLE ds.snap CLONE ds.t FOR SYSTEM_TIME AS OF "
        "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR) "
        "OPTIONS (expiration_timestamp = TIMESTAMP '2030-01-01')"
    )
    assert _tables(sql, "bigquery") == (["ds.t"], ["ds.snap"])


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "CREATE EXTERNAL TABLE ds.t WITH CONNECTION `proj.us.conn` "
            "OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'])",
            id="with-connection",
        ),
        pytest.param(
            "CREATE OR REPLACE EXTERNAL TABLE ds.t (a INT64) WITH PARTITION COLUMNS "
            "WITH CONNECTION proj.us.conn OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'], "
            "hive_partition_uri_prefix = 'gs://b/p')",
            id="with-partition-columns-and-connection",
        ),
        pytest.param(
            "CREATE EXTERNAL TABLE ds.t WITH PARTITION COLUMNS (dt DATE) "
            "OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'])",
            id="with-partition-column-list",
        ),
    ],
)
def test_bigquery_external_table_clauses_parse_like_the_plain_form(sql: str) -> None:
    result = analyze(sql, "bigquery")
    assert not result.errors and not result.partial, result.errors
    assert [s.kind for s in result.statements] == ["create_table"]
    assert _tables(sql, "bigquery") == ([], ["ds.t"])


# ---------------------------------------------------------------------- operator-generated SQL


def test_documents_bigquery_merge_insert_row_and_export_data() -> None:
    merge = (
        "MERGE ds.t T USING ds.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET v = S.v "
        "WHEN NOT MATCHED THEN INSERT ROW"
    )
    assert _plain(merge, "bigquery", schema={"ds.s": ["id", "v"], "ds.t": ["id", "v"]}) == {
        "ds.t.id": {"ds.s.id"},
        "ds.t.v": {"ds.s.v"},
    }
    export = (
        "EXPORT DATA OPTIONS(uri='gs://b/e/*.csv', format='CSV', overwrite=true, header=true) AS "
        "SELECT id, name FROM ds.t WHERE dt = '2024-01-01' ORDER BY id"
    )
    assert _plain(export, "bigquery") == {
        "gs://b/e/*.csv.id": {"ds.t.id"},
        "gs://b/e/*.csv.name": {"ds.t.name"},
    }
    assert _rows(export, "bigquery") == {
        ("gs://b/e/*.csv", "ds.t.dt", "FILTER"),
        ("gs://b/e/*.csv", "ds.t.id", "SORT"),
    }


@pytest.mark.parametrize(
    ("script", "expected_tables", "expected_columns"),
    [
        pytest.param(
            "CREATE TEMP FUNCTION f(x STRING) AS ((SELECT MAX(v) FROM d.lookup WHERE k = x));\n"
            "CREATE TABLE d.o AS SELECT f(a) AS fa FROM d.t",
            (["d.lookup", "d.t"], ["d.o"]),
            {"d.o.fa": {"d.lookup.v"}},
            id="lookup-in-the-body",
        ),
        pytest.param(
            "CREATE TEMP FUNCTION f(x INT64, y INT64) RETURNS INT64 AS (x * y);\n"
            "CREATE TABLE d.o AS SELECT a, f(b, c) AS p FROM d.t",
            (["d.t"], ["d.o"]),
            {"d.o.a": {"d.t.a"}, "d.o.p": {"d.t.b", "d.t.c"}},
            id="arguments",
        ),
        pytest.param(
            "CREATE TEMP FUNCTION f(x INT64) AS (x + 1);\n"
            "CREATE TEMP FUNCTION g(x INT64) AS (f(x) * (SELECT MAX(m) FROM d.mult));\n"
            "CREATE TABLE d.o AS SELECT g(a) AS z FROM d.t",
            (["d.mult", "d.t"], ["d.o"]),
            {"d.o.z": {"d.t.a", "d.mult.m"}},
            id="nested",
        ),
        pytest.param(
            "CREATE TEMP FUNCTION f(x STRING) AS ((SELECT MAX(v) FROM d.lookup WHERE k = x));\n"
            "CREATE TEMP FUNCTION f(x INT64) RETURNS INT64 LANGUAGE js AS 'return x';\n"
            "CREATE TABLE d.o AS SELECT f(a) AS fa FROM d.t",
            (["d.t"], ["d.o"]),
            {"d.o.fa": {"d.t.a"}},
            id="redefined-in-javascript",
        ),
    ],
)
def test_a_temp_sql_function_reads_what_its_body_reads(
    script: str, expected_tables: tuple[list[str], list[str]], expected_columns: dict[str, set[str]]
) -> None:
    """A call of the script's own SQL function is its body with the arguments in place of the parameters."""
    assert _tables(script, "bigquery") == expected_tables
    assert _plain(script, "bigquery") == expected_columns


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE TABLE d.o AS SELECT a, ARRAY_AGG(STRUCT(b, c) ORDER BY ts DESC LIMIT 1)[OFFSET(0)].* "
            "FROM d.t GROUP BY a",
            {"d.o.a": ({"d.t.a"}, "IDENTITY"), "d.o.*": ({"d.t.b", "d.t.c", "d.t.ts"}, "AGGREGATION")},
            id="latest-row-star",
        ),
        pytest.param(
            "CREATE TABLE d.o AS SELECT ARRAY_AGG(x ORDER BY ts DESC LIMIT 1)[OFFSET(0)].b "
            "FROM d.t x GROUP BY id",
            {"d.o.b": ({"d.t.*", "d.t.ts"}, "AGGREGATION")},
            id="latest-row-field",
        ),
        pytest.param(
            "CREATE TABLE d.o AS SELECT a, "
            "(SELECT AS STRUCT MAX(x) AS mx, MIN(x) AS mn FROM UNNEST(arr) x).* FROM d.t",
            {"d.o.a": ({"d.t.a"}, "IDENTITY"), "d.o.*": ({"d.t.arr"}, "AGGREGATION")},
            id="struct-subquery-star",
        ),
    ],
)
def test_fields_of_a_computed_struct_are_the_struct_fields(
    sql: str, expected: dict[str, tuple[set[str], str]]
) -> None:
    """``expr.*`` / ``expr.f`` of a computed struct (the latest-row idiom): ``*`` / ``f`` from what ``expr``
    reads, not a column named after the expression text (nor every column of the table for the ``*``)."""
    result = analyze(sql, "bigquery")
    assert not result.errors
    got = {
        c.output.qualified: ({i.qualified for i in c.inputs}, c.transformation) for c in result.column_lineage
    }
    assert got == expected


def test_functions_calling_each_other_many_times_are_inlined_a_bounded_amount() -> None:
    """``f`` calls itself 30 times: inlining four levels deep would make 810,000 calls; it stops before the
    statement grows by more than a couple of thousand nodes (the calls left stay calls) and the lineage
    still names the column read."""
    from airflow_lineage_provider.sql.engine import _MAX_INLINED_NODES, _inline_functions

    script = (
        "CREATE TEMP FUNCTION f(x INT64) AS (" + " + ".join(["f(x)"] * 30) + ");\n"
        "CREATE TABLE d.o AS SELECT f(a) AS z FROM d.t"
    )
    assert _tables(script, "bigquery") == (["d.t"], ["d.o"])
    assert _plain(script, "bigquery") == {"d.o.z": {"d.t.a"}}
    import sqlglot

    body = sqlglot.parse_one(" + ".join(["f(x)"] * 30), read="bigquery")
    call = sqlglot.parse_one("SELECT f(a) FROM t", read="bigquery")
    inlined = _inline_functions(call, {"f": (["x"], body)})
    assert sum(1 for _ in inlined.walk()) <= sum(1 for _ in call.walk()) + _MAX_INLINED_NODES


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "CREATE TABLE ds.p AS SELECT id, predicted_label FROM ML.PREDICT(MODEL `ds.m`, "
            "(SELECT id, f1 FROM ds.features))",
            {"ds.p.id": {"ds.features.id"}, "ds.p.predicted_label": {"ds.m.predicted_label"}},
        ),
        (
            "CREATE TABLE ds.p AS SELECT p.customer_id AS cid, p.predicted_churn FROM ML.PREDICT(MODEL ds.m, "
            "(SELECT c.id AS customer_id, c.tenure FROM ds.customers c WHERE c.active)) AS p",
            {"ds.p.cid": {"ds.customers.id"}, "ds.p.predicted_churn": {"ds.m.predicted_churn"}},
        ),
    ],
)
def test_ml_predict_passes_its_input_columns_through(sql: str, expected: dict[str, set[str]]) -> None:
    """``ML.PREDICT(MODEL m, (query))`` returns the query's columns and the model's predictions: a column of
    the query comes from the query's sources, not from the model."""
    assert _plain(sql, "bigquery") == expected

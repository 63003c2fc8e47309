"""PostgreSQL and Redshift specifics: ``ctid`` de-duplication, Redshift PartiQL array navigation and
``#temp`` tables (S3ToRedshiftOperator's UPSERT script), JSON arrows inside function calls (also MySQL,
SQLite, DuckDB).

Data-modifying CTEs are in test_data_modifying_ctes.py, PostgreSQL ``ALTER`` forms and materialized views
in test_ddl.py, ``COPY`` / ``UNLOAD`` in test_load_unload.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- PostgreSQL


def test_postgres_ctid_dedupe_filters_on_the_key_only() -> None:
    sql = "DELETE FROM dw.t a USING dw.t b WHERE a.ctid < b.ctid AND a.k = b.k"
    assert _rows(sql, "postgres") == {("dw.t", "dw.t.k", "FILTER")}


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("INSERT INTO o SELECT id, jsonb_array_length(doc->'items') AS n FROM s", "postgres"),
        ("INSERT INTO o SELECT id, coalesce(doc->'a'->>'b', 'x') AS n FROM s", "postgres"),
        ("INSERT INTO o SELECT id, jsonb_array_elements(doc->'items')->>'sku' AS n FROM s", "postgres"),
        ("INSERT INTO o SELECT id, json_length(doc->'$.items') AS n FROM s", "mysql"),
        ("INSERT INTO o SELECT id, json_array_length(doc->'$.items') AS n FROM s", "sqlite"),
        ("INSERT INTO o SELECT id, len(doc->'items') AS n FROM s", "duckdb"),
    ],
)
def test_a_json_arrow_inside_a_function_call_reads_its_column(sql: str, dialect: str) -> None:
    """``f(doc->'k')`` parses like a lambda ``doc -> 'k'``; where ``->`` extracts JSON it is the column."""
    assert _plain(sql, dialect) == {"o.id": {"s.id"}, "o.n": {"s.doc"}}


def test_a_duckdb_lambda_keeps_its_parameter_out_of_the_lineage() -> None:
    sql = "INSERT INTO o SELECT list_transform(l, x -> x + 1) AS n FROM s"
    assert _plain(sql, "duckdb") == {"o.n": {"s.l"}}


# ---------------------------------------------------------------------- Redshift


def test_redshift_partiql_array_navigation_with_index() -> None:
    sql = "INSERT INTO items SELECT o.id, i.sku, idx FROM orders o, o.items AS i AT idx WHERE idx < 3"
    assert _tables(sql, "redshift") == (["orders"], ["items"])
    assert _edges(sql, "redshift") == {
        "items.id": ({"orders.id"}, "IDENTITY"),
        "items.sku": ({"orders.items"}, "TRANSFORMATION"),
        "items.idx": ({"orders.items"}, "TRANSFORMATION"),
    }
    assert _rows(sql, "redshift") == {("items", "orders.items", "FILTER")}


def test_redshift_hash_tables_are_temporary_in_the_s3_to_redshift_upsert_script() -> None:
    sql = (
        "CREATE TABLE #orders (LIKE public.orders);\n"
        "COPY #orders FROM 's3://bucket/key' credentials 'aws_access_key_id=A;aws_secret_access_key=B' "
        "FORMAT AS PARQUET;\n"
        "BEGIN;\n"
        "DELETE FROM public.orders USING #orders WHERE public.orders.id = #orders.id;\n"
        "INSERT INTO public.orders SELECT * FROM #orders;\n"
        "COMMIT"
    )
    assert _tables(sql, "redshift") == (["public.orders", "s3://bucket/key"], ["public.orders"])
    assert _tables(sql, "redshift", keep_temp_tables=True) == (
        ["#orders", "public.orders", "s3://bucket/key"],
        ["#orders", "public.orders"],
    )


def test_redshift_hash_table_passes_columns_through() -> None:
    sql = "CREATE TABLE #s AS SELECT id, upper(v) AS v FROM raw.src; INSERT INTO mart.t SELECT id, v FROM #s"
    assert _edges(sql, "redshift") == {
        "mart.t.id": ({"raw.src.id"}, "IDENTITY"),
        "mart.t.v": ({"raw.src.v"}, "TRANSFORMATION"),
    }


def test_documents_hash_names_stay_tables_where_they_are_no_temp_tables() -> None:
    assert _tables('INSERT INTO "#t" SELECT a FROM s', "postgres") == (["s"], ["#t"])


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        ("CREATE TABLE o AS SELECT (rec).f1 FROM t", "postgres", {"o.f1": ({"t.rec"}, "IDENTITY")}),
        (
            "CREATE TABLE o AS SELECT (t.rec).f1, (t.rec).f2 FROM t",
            "postgres",
            {
                "o.f1": ({"t.rec"}, "IDENTITY"),
                "o.f2": ({"t.rec"}, "IDENTITY"),
            },
        ),
        ("CREATE TABLE o AS SELECT (rec).f1 AS z FROM t", "postgres", {"o.z": ({"t.rec"}, "IDENTITY")}),
        ("CREATE TABLE o AS SELECT (t.rec).* FROM t", "postgres", {"o.*": ({"t.rec"}, "TRANSFORMATION")}),
        ("CREATE TABLE o AS SELECT (s).b FROM t", "duckdb", {"o.b": ({"t.s"}, "IDENTITY")}),
    ],
)
def test_a_field_of_a_composite_column_is_named_after_the_field(
    sql: str, dialect: str, expected: dict[str, tuple[set[str], str]]
) -> None:
    """``(rec).f1`` is the column ``f1`` (as PostgreSQL names it), the field of ``rec`` like ``t.s.f1`` of a
    struct; ``(t.rec).*`` its fields, not every column of ``t``."""
    assert _edges(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE TABLE o AS SELECT unnest(arr) FROM t", {"o.unnest": {"t.arr"}}),
        ("CREATE TABLE o AS SELECT id, unnest(t.arr) FROM t", {"o.id": {"t.id"}, "o.unnest": {"t.arr"}}),
        ("CREATE TABLE o AS SELECT jsonb_array_elements(doc) FROM t", {"o.jsonb_array_elements": {"t.doc"}}),
        ("CREATE TABLE o AS SELECT pg_catalog.upper(a), b::int FROM t", {"o.upper": {"t.a"}, "o.b": {"t.b"}}),
        (
            "CREATE TABLE o AS SELECT unnest FROM (SELECT unnest(arr) FROM t) q",
            {"o.unnest": {"t.arr"}},
        ),
        # a cast is named after what it casts, as PostgreSQL's CAST(col AS type) and col::type both are
        (
            "CREATE TABLE o AS SELECT CAST(t.a AS int), CAST(upper(b) AS text) FROM t",
            {"o.a": {"t.a"}, "o.upper": {"t.b"}},
        ),
        ("CREATE TABLE o AS SELECT upper(b)::text FROM t", {"o.upper": {"t.b"}}),
    ],
)
def test_postgres_names_an_unaliased_call_after_its_function(sql: str, expected: dict[str, set[str]]) -> None:
    """PostgreSQL's column name of ``SELECT unnest(arr)`` is ``unnest`` (``upper(a)``: ``upper``), which a
    CREATE TABLE AS writes and an outer query can select."""
    assert _plain(sql, "postgres") == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('WITH "X" AS (SELECT a FROM s) INSERT INTO o SELECT a FROM x', (["x"], ["o"])),
        ('WITH "X" AS (SELECT a FROM s) INSERT INTO o SELECT a FROM "X"', (["s"], ["o"])),
        ('WITH x AS (SELECT a FROM s) INSERT INTO o SELECT a FROM "x"', (["s"], ["o"])),
        ("WITH x AS (SELECT a FROM s) INSERT INTO o SELECT a FROM X", (["s"], ["o"])),
    ],
)
def test_postgres_quoted_cte_names_are_case_sensitive(
    sql: str, expected: tuple[list[str], list[str]]
) -> None:
    """PostgreSQL folds unquoted names to lower case and keeps quoted ones: ``"X"`` and ``x`` are two names,
    so ``FROM x`` after ``WITH "X" AS (...)`` reads the table ``x``; ``"x"`` and ``X`` are both ``x``."""
    assert _tables(sql, "postgres") == expected


# ------------------------------------------------- round 16: Vertica TIMESERIES gap filling


def test_vertica_timeseries_slices_derive_from_the_order_column() -> None:
    sql = (
        "INSERT INTO m.ticks SELECT slice_time, k, TS_FIRST_VALUE(v, 'LINEAR') AS v FROM s.raw "
        "WHERE v > 0 TIMESERIES slice_time AS '1 minute' OVER (PARTITION BY k ORDER BY ts) "
        "ORDER BY slice_time"
    )
    assert _tables(sql, "vertica") == (["s.raw"], ["m.ticks"])
    assert _edges(sql, "vertica") == {
        "m.ticks.slice_time": ({"s.raw.ts"}, "TRANSFORMATION"),
        "m.ticks.k": ({"s.raw.k"}, "IDENTITY"),
        "m.ticks.v": ({"s.raw.v"}, "TRANSFORMATION"),
    }
    assert _rows(sql, "vertica") == {
        ("m.ticks", "s.raw.v", "FILTER"),
        ("m.ticks", "s.raw.k", "GROUP_BY"),
        ("m.ticks", "s.raw.ts", "GROUP_BY"),
        ("m.ticks", "s.raw.ts", "SORT"),
    }


def test_vertica_timeseries_without_partition() -> None:
    sql = (
        "SELECT ts_slice AS t, TS_LAST_VALUE(v) AS v FROM s.raw "
        "TIMESERIES ts_slice AS '1 hour' OVER (ORDER BY ts)"
    )
    assert _plain(sql, "vertica") == {"t": {"s.raw.ts"}, "v": {"s.raw.v"}}


def test_a_json_arrow_over_a_cast_is_named_as_written() -> None:
    """``payload::jsonb->>'x'`` is an operator, not a call: it is named by its text, not ``cast``."""
    got = _plain("CREATE TABLE o AS SELECT payload::jsonb->>'x', doc #>> '{a,b}' FROM t", "postgres")
    assert got == {"o.payload::jsonb->>'x'": {"t.payload"}, "o.doc #>> '{a,b}'": {"t.doc"}}


@pytest.mark.parametrize(
    ("projection", "name"),
    [
        ("date_part('month', t.ts)", "date_part"),
        ("CASE WHEN t.a > 0 THEN t.a END", "case"),
        ("ARRAY[t.a, t.b]", "array"),
        ("t.ts AT TIME ZONE 'UTC'", "timezone"),
        ("(SELECT max(s.v) FROM s WHERE s.id = t.id)", "max"),
        ("(SELECT s.v AS best FROM s WHERE s.id = t.id)", "best"),
        ("EXISTS (SELECT 1 FROM s WHERE s.id = t.a)", "exists"),
    ],
)
def test_postgres_names_an_unaliased_expression_as_it_does(projection: str, name: str) -> None:
    """PostgreSQL names ``CASE ... END`` ``case``, ``ARRAY[...]`` ``array``, ``x AT TIME ZONE z``
    ``timezone``, a scalar subquery after its column, and a call after the function as written
    (``date_part``, which the parser turns into ``EXTRACT``): a CREATE TABLE AS writes those names."""
    res = analyze(f"CREATE TABLE o AS SELECT {projection} FROM t", "postgres")
    assert [c.output.column for c in res.column_lineage] == [name]

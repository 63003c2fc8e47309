"""Column lineage through PIVOT/UNPIVOT, star modifiers, table functions, struct access, USING joins,
named windows, Hive partitions, T-SQL OUTPUT INTO and upserts (second review)."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import edges as _edges
from .readers import plain as _plain

SALES = {"sales": ["region", "month", "amt"], "wide": ["id", "a1", "a2", "a3"]}


# ---------------------------------------------------------------------- PIVOT / UNPIVOT
def test_pivot_columns_derive_from_the_aggregate_and_the_for_column() -> None:
    got = _edges(
        "INSERT INTO o SELECT region, jan, feb FROM sales "
        "PIVOT (sum(amt) FOR month IN ('jan' AS jan, 'feb' AS feb)) AS p",
        "databricks",
    )
    assert got == {
        "o.region": ({"sales.region"}, "IDENTITY"),
        "o.jan": ({"sales.amt", "sales.month"}, "AGGREGATION"),
        "o.feb": ({"sales.amt", "sales.month"}, "AGGREGATION"),
    }


def test_pivot_star_over_a_subquery_keeps_only_the_grouping_columns() -> None:
    got = _plain(
        "INSERT INTO o SELECT * FROM (SELECT region, month, amt FROM sales) "
        "PIVOT (sum(amt) FOR month IN ('jan', 'feb'))",
        "databricks",
    )
    assert got == {
        "o.region": {"sales.region"},
        "o.jan": {"sales.amt", "sales.month"},
        "o.feb": {"sales.amt", "sales.month"},
    }


def test_pivot_star_with_schema() -> None:
    got = _plain(
        "CREATE TABLE o AS SELECT * FROM sales PIVOT (sum(amt) AS total FOR month IN ('jan' AS jan))",
        "bigquery",
        schema=SALES,
    )
    assert got == {"o.region": {"sales.region"}, "o.total_jan": {"sales.amt", "sales.month"}}


def test_unpivot_value_column_derives_from_the_unpivoted_columns() -> None:
    got = _edges(
        "INSERT INTO o SELECT id, attr, val FROM wide UNPIVOT (val FOR attr IN (a1, a2, a3))", "snowflake"
    )
    assert got == {
        "o.id": ({"wide.id"}, "IDENTITY"),
        "o.val": ({"wide.a1", "wide.a2", "wide.a3"}, "TRANSFORMATION"),
    }


def test_unpivot_star_with_schema() -> None:
    got = _plain(
        "INSERT INTO o SELECT * FROM wide UNPIVOT (val FOR attr IN (a1, a2, a3)) AS u",
        "databricks",
        schema=SALES,
    )
    assert got == {"o.id": {"wide.id"}, "o.val": {"wide.a1", "wide.a2", "wide.a3"}}


def test_unpivot_several_value_columns() -> None:
    got = _plain(
        "INSERT INTO o SELECT k, v1, v2 FROM s "
        "UNPIVOT ((v1, v2) FOR k IN ((a1, a2) AS 'x', (b1, b2) AS 'y'))",
        "bigquery",
    )
    assert got == {"o.v1": {"s.a1", "s.b1"}, "o.v2": {"s.a2", "s.b2"}}


# ---------------------------------------------------------------------- star modifiers
def test_star_replace_transforms_the_replaced_column() -> None:
    got = _edges(
        "INSERT INTO ds.o SELECT * REPLACE (upper(name) AS name) FROM ds.t",
        "bigquery",
        schema={"ds.t": ["id", "name"]},
    )
    assert got == {"ds.o.id": ({"ds.t.id"}, "IDENTITY"), "ds.o.name": ({"ds.t.name"}, "TRANSFORMATION")}


def test_duckdb_star_replace() -> None:
    got = _edges(
        "CREATE TABLE o AS SELECT * REPLACE (name || '!' AS name) FROM t",
        "duckdb",
        schema={"t": ["id", "name"]},
    )
    assert got["o.name"] == ({"t.name"}, "TRANSFORMATION")


def test_snowflake_star_exclude_rename() -> None:
    got = _plain(
        "CREATE TABLE o AS SELECT * EXCLUDE (secret) RENAME (a AS b) FROM t",
        "snowflake",
        schema={"t": ["id", "secret", "a"]},
    )
    assert got == {"o.id": {"t.id"}, "o.b": {"t.a"}}


# ---------------------------------------------------------------------- table functions
@pytest.mark.parametrize("dialect", ["postgres", "trino", "duckdb"])
def test_unnest_alias_names_its_column(dialect: str) -> None:
    got = _plain("INSERT INTO o SELECT t.id, x AS tag FROM t CROSS JOIN UNNEST(t.tags) AS x", dialect)
    assert got == {"o.id": {"t.id"}, "o.tag": {"t.tags"}}


def test_unqualified_unnest_alias_next_to_unqualified_table_column() -> None:
    got = _plain("INSERT INTO o SELECT id, x FROM t, unnest(t.tags) AS x", "postgres")
    assert got == {"o.id": {"t.id"}, "o.x": {"t.tags"}}


def test_snowflake_table_flatten() -> None:
    got = _plain(
        "INSERT INTO o SELECT t.id, f.value::string AS v, f.index AS i FROM t, TABLE(FLATTEN(t.arr)) f",
        "snowflake",
    )
    assert got == {"o.id": {"t.id"}, "o.v": {"t.arr"}, "o.i": {"t.arr"}}


def test_snowflake_table_flatten_unqualified_value() -> None:
    got = _plain("INSERT INTO o SELECT t.id, value AS v FROM t, TABLE(FLATTEN(input => t.arr))", "snowflake")
    assert got == {"o.id": {"t.id"}, "o.v": {"t.arr"}}


# ---------------------------------------------------------------------- struct access
@pytest.mark.parametrize("dialect", ["bigquery", "spark", "duckdb"])
def test_struct_field_of_an_unqualified_column(dialect: str) -> None:
    got = _plain("INSERT INTO o SELECT id, addr.zip AS zip, addr.geo.lat AS lat FROM t", dialect)
    assert got == {"o.id": {"t.id"}, "o.zip": {"t.addr"}, "o.lat": {"t.addr"}}


def test_table_qualifier_still_wins_over_struct_reading() -> None:
    got = _plain("INSERT INTO o SELECT addr.zip FROM t AS addr JOIN u ON addr.id = u.id", "bigquery")
    assert got == {"o.zip": {"t.zip"}}


# ---------------------------------------------------------------------- USING joins
def test_using_column_reads_both_joined_tables() -> None:
    got = _plain("INSERT INTO o SELECT id, a.x, b.y FROM a JOIN b USING (id)", "postgres")
    assert got == {"o.id": {"a.id", "b.id"}, "o.x": {"a.x"}, "o.y": {"b.y"}}


def test_using_column_of_a_full_join_in_an_expression() -> None:
    got = _plain("INSERT INTO o SELECT upper(k) AS k FROM a FULL JOIN b USING (k)", "postgres")
    assert got == {"o.k": {"a.k", "b.k"}}


# ---------------------------------------------------------------------- windows
def test_named_window_partition_and_order_give_edges() -> None:
    got = _plain(
        "INSERT INTO o SELECT id, lag(v) OVER w AS prev FROM t WINDOW w AS (PARTITION BY g ORDER BY ts)",
        "postgres",
    )
    assert got == {"o.id": {"t.id"}, "o.prev": {"t.v", "t.g", "t.ts"}}


def test_navigation_window_functions_are_transformations() -> None:
    got = _edges(
        "INSERT INTO o SELECT lag(v) OVER (ORDER BY ts) AS prev, first_value(v) OVER (ORDER BY ts) AS fv, "
        "sum(v) OVER (ORDER BY ts) AS running FROM t",
        "postgres",
    )
    assert got["o.prev"][1] == "TRANSFORMATION"
    assert got["o.fv"][1] == "TRANSFORMATION"
    assert got["o.running"][1] == "AGGREGATION"


# ---------------------------------------------------------------------- Hive partitions
def test_hive_static_partition_is_not_mapped_by_position() -> None:
    got = _plain(
        "INSERT INTO TABLE o PARTITION (dt='2024-01-01', hr) SELECT a, hr FROM t",
        "hive",
        schema={"o": ["a", "dt", "hr"]},
    )
    assert got == {"o.a": {"t.a"}, "o.hr": {"t.hr"}}


def test_spark_dynamic_partitions_come_last() -> None:
    got = _plain(
        "INSERT OVERWRITE TABLE o PARTITION (dt) SELECT x, y, day FROM t",
        "spark",
        schema={"o": ["dt", "a", "b"]},
    )
    assert got == {"o.a": {"t.x"}, "o.b": {"t.y"}, "o.dt": {"t.day"}}


# ---------------------------------------------------------------------- upserts
def test_on_conflict_do_update_reads_excluded_and_the_target() -> None:
    got = _edges(
        "INSERT INTO o (id, v) SELECT id, v FROM t ON CONFLICT (id) DO UPDATE SET v = excluded.v + o.v",
        "postgres",
    )
    assert got == {"o.id": ({"t.id"}, "IDENTITY"), "o.v": ({"t.v", "o.v"}, "TRANSFORMATION")}


def test_on_conflict_assignment_of_another_column() -> None:
    got = _plain(
        "INSERT INTO o AS d (id, v) SELECT k, sum(x) FROM t GROUP BY k "
        "ON CONFLICT (id) DO UPDATE SET total = d.total + excluded.v",
        "postgres",
    )
    assert got == {"o.id": {"t.k"}, "o.v": {"t.x"}, "o.total": {"o.total", "t.x"}}


def test_mysql_on_duplicate_key_update_values_function() -> None:
    got = _edges(
        "INSERT INTO o (id, v) SELECT id, amount FROM t ON DUPLICATE KEY UPDATE v = v + VALUES(v)", "mysql"
    )
    assert got == {"o.id": ({"t.id"}, "IDENTITY"), "o.v": ({"t.amount", "o.v"}, "TRANSFORMATION")}


# ---------------------------------------------------------------------- T-SQL OUTPUT INTO
def test_tsql_insert_output_into_writes_both_tables() -> None:
    res = analyze(
        "INSERT INTO dbo.o (id, v) OUTPUT inserted.id, inserted.v INTO dbo.audit (oid, val) "
        "SELECT id, v FROM dbo.t",
        "tsql",
    )
    assert not res.errors
    assert [t.qualified for t in res.inputs] == ["dbo.t"]
    assert sorted(t.qualified for t in res.outputs) == ["dbo.audit", "dbo.o"]
    got = {c.output.qualified: {i.qualified for i in c.inputs} for c in res.column_lineage}
    assert got == {
        "dbo.o.id": {"dbo.t.id"},
        "dbo.o.v": {"dbo.t.v"},
        "dbo.audit.oid": {"dbo.t.id"},
        "dbo.audit.val": {"dbo.t.v"},
    }


def test_tsql_delete_output_deleted_into_archive_reads_the_target() -> None:
    res = analyze(
        "DELETE FROM dbo.q OUTPUT deleted.id, deleted.payload INTO dbo.q_archive WHERE ts < '2024-01-01'",
        "tsql",
    )
    assert not res.errors
    assert [t.qualified for t in res.inputs] == ["dbo.q"]
    assert sorted(t.qualified for t in res.outputs) == ["dbo.q", "dbo.q_archive"]
    got = {c.output.qualified: {i.qualified for i in c.inputs} for c in res.column_lineage}
    assert got == {"dbo.q_archive.id": {"dbo.q.id"}, "dbo.q_archive.payload": {"dbo.q.payload"}}


def test_tsql_merge_output_into_log() -> None:
    res = analyze(
        "MERGE dbo.o AS tgt USING dbo.t AS src ON tgt.id = src.id "
        "WHEN MATCHED THEN UPDATE SET v = src.v "
        "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (src.id, src.v) "
        "OUTPUT $action, inserted.id INTO dbo.merge_log (act, id);",
        "tsql",
    )
    assert not res.errors
    assert sorted(t.qualified for t in res.outputs) == ["dbo.merge_log", "dbo.o"]
    got = {c.output.qualified: {i.qualified for i in c.inputs} for c in res.column_lineage}
    assert got["dbo.merge_log.id"] == {"dbo.t.id"}
    assert "dbo.merge_log.act" not in got


def test_tsql_update_output_without_into_keeps_column_lineage() -> None:
    res = analyze("UPDATE dbo.o SET v = s.v OUTPUT inserted.v FROM dbo.o JOIN dbo.s ON o.id = s.id", "tsql")
    assert not res.errors and not res.partial
    assert [t.qualified for t in res.outputs] == ["dbo.o"]
    assert {c.output.qualified for c in res.column_lineage} == {"dbo.o.v"}


def test_tsql_output_into_table_variable_is_not_a_dataset() -> None:
    res = analyze("INSERT INTO dbo.o (id) OUTPUT inserted.id INTO @ids SELECT id FROM dbo.t", "tsql")
    assert not res.errors
    assert [t.qualified for t in res.outputs] == ["dbo.o"]


def test_column_named_output_is_not_an_output_clause() -> None:
    res = analyze("INSERT INTO dbo.o (x) SELECT output FROM dbo.t", "tsql")
    got = {c.output.qualified: {i.qualified for i in c.inputs} for c in res.column_lineage}
    assert got == {"dbo.o.x": {"dbo.t.output"}}


# ---------------------------------------------------------------------- set operations
def test_union_keeps_the_strongest_transformation_of_its_branches() -> None:
    got = _edges(
        "CREATE VIEW v (k, total) AS SELECT k, sum(v) FROM t1 GROUP BY k "
        "UNION ALL SELECT k2, count(*) FROM t2 GROUP BY k2",
        "postgres",
    )
    assert got == {
        "v.k": ({"t1.k", "t2.k2"}, "TRANSFORMATION"),
        "v.total": ({"t1.v", "t2.*"}, "AGGREGATION"),
    }


def test_union_branch_over_the_same_column_with_an_aggregate() -> None:
    got = _edges("INSERT INTO o SELECT a FROM t UNION SELECT max(a) FROM t", "postgres")
    assert got == {"o.a": ({"t.a"}, "AGGREGATION")}


def test_dynamic_pivot_adds_no_nameless_column() -> None:
    got = _plain(
        "INSERT INTO o SELECT * FROM sales s PIVOT (sum(amt) FOR month IN (ANY ORDER BY month))", "snowflake"
    )
    assert got == {"o.*": {"sales.*"}}


def test_star_of_an_unnested_struct_array_reads_the_array() -> None:
    got = _plain("INSERT INTO ds.o SELECT t.id, s.* FROM ds.t AS t, UNNEST(t.items) AS s", "bigquery")
    assert got == {"ds.o.id": {"ds.t.id"}, "ds.o.*": {"ds.t.items"}}


def test_field_of_an_unnested_struct_array() -> None:
    got = _plain("INSERT INTO ds.o SELECT t.id, s.sku FROM ds.t AS t, UNNEST(t.items) AS s", "bigquery")
    assert got == {"ds.o.id": {"ds.t.id"}, "ds.o.sku": {"ds.t.items"}}

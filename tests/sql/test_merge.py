"""MERGE in every dialect: ``WHEN NOT MATCHED THEN INSERT`` (values, ``VALUES`` without a column list,
BigQuery ``INSERT ROW``), the side an unqualified column of a ``WHEN [NOT] MATCHED [BY SOURCE] AND`` condition
reads, Oracle ``DELETE WHERE``, Redshift ``REMOVE DUPLICATES`` and Databricks ``UPDATE SET *`` / ``INSERT *``
(also ``WITH SCHEMA EVOLUTION``)."""

from __future__ import annotations

import pytest

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- WHEN NOT MATCHED THEN INSERT


@pytest.mark.parametrize("schema", [None, {"t": ["id", "c"], "s": ["id", "v"]}])
def test_merge_insert_values_read_the_source_only(schema: dict[str, list[str]] | None) -> None:
    sql = (
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET c = v "
        "WHEN NOT MATCHED THEN INSERT (id, c) VALUES (id, v)"
    )
    assert _plain(sql, "snowflake", schema=schema) == {"t.c": {"s.v"}, "t.id": {"s.id"}}


def test_merge_insert_values_without_column_list_uses_the_target_schema() -> None:
    sql = (
        "MERGE INTO tgt USING src ON tgt.id = src.id "
        "WHEN NOT MATCHED THEN INSERT VALUES (src.id, upper(src.v))"
    )
    assert _edges(sql, "snowflake", schema={"tgt": ["id", "v"]}) == {
        "tgt.id": ({"src.id"}, "IDENTITY"),
        "tgt.v": ({"src.v"}, "TRANSFORMATION"),
    }


def test_documents_merge_insert_values_without_a_column_list_needs_a_schema() -> None:
    sql = "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)"
    assert _plain(sql, "postgres") == {}
    assert _plain(sql, "postgres", schema={"t": ["id", "val"]}) == {"t.id": {"s.id"}, "t.val": {"s.v"}}


def test_bigquery_merge_insert_row_maps_all_source_columns() -> None:
    sql = (
        "MERGE ds.tgt T USING ds.src S ON T.id = S.id "
        "WHEN MATCHED THEN UPDATE SET val = S.val WHEN NOT MATCHED THEN INSERT ROW"
    )
    assert _plain(sql, "bigquery") == {"ds.tgt.val": {"ds.src.val"}, "ds.tgt.*": {"ds.src.*"}}
    with_schema = _plain(sql, "bigquery", schema={"ds.src": ["id", "val"], "ds.tgt": ["id", "val"]})
    assert with_schema == {"ds.tgt.id": {"ds.src.id"}, "ds.tgt.val": {"ds.src.val"}}


# ---------------------------------------------------------------------- conditions of WHEN [NOT] MATCHED


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "MERGE ds.t T USING ds.s S ON T.id = S.id WHEN NOT MATCHED AND dt = '2024-01-01' THEN INSERT ROW",
            "bigquery",
            ("ds.t", "ds.s.dt", "FILTER"),
            id="bigquery-not-matched-reads-the-source",
        ),
        pytest.param(
            "MERGE ds.t T USING ds.s S ON T.id = S.id "
            "WHEN NOT MATCHED BY SOURCE AND dt < '2024-01-01' THEN DELETE",
            "bigquery",
            ("ds.t", "ds.t.dt", "FILTER"),
            id="bigquery-not-matched-by-source-reads-the-target",
        ),
        pytest.param(
            "MERGE INTO t USING s ON t.id = s.id "
            "WHEN NOT MATCHED AND flag = 1 THEN INSERT (id) VALUES (s.id)",
            "postgres",
            ("t", "s.flag", "FILTER"),
            id="postgres-not-matched",
        ),
        pytest.param(
            "MERGE INTO t USING s ON (t.id = s.id) "
            "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id) WHERE flag = 1",
            "oracle",
            ("t", "s.flag", "FILTER"),
            id="oracle-insert-where",
        ),
    ],
)
def test_an_unqualified_column_of_a_not_matched_branch_is_the_side_it_sees(
    sql: str, dialect: str, expected: tuple[str, str, str]
) -> None:
    assert expected in _rows(sql, dialect)


def test_documents_a_matched_condition_over_two_unknown_tables_stays_unresolved() -> None:
    sql = "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND flag = 1 THEN UPDATE SET v = s.v"
    assert _rows(sql, "postgres") == {("t", "s.id", "JOIN"), ("t", "t.id", "JOIN")}


def test_documents_merge_not_matched_by_source_delete() -> None:
    sql = (
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.a = s.a "
        "WHEN NOT MATCHED THEN INSERT (id, a) VALUES (s.id, s.a) "
        "WHEN NOT MATCHED BY SOURCE AND t.ts < '2024-01-01' THEN DELETE"
    )
    assert _plain(sql, "databricks") == {"t.a": {"s.a"}, "t.id": {"s.id"}}
    assert ("t", "t.ts", "FILTER") in _rows(sql, "databricks")


# ------------------------------------------------------------ Oracle DELETE WHERE, Redshift REMOVE DUPLICATES


def test_oracle_merge_delete_where_and_insert_where() -> None:
    sql = (
        "MERGE INTO dw.t t USING stg.s s ON (t.id = s.id) "
        "WHEN MATCHED THEN UPDATE SET t.v = s.v WHERE s.changed = 'Y' DELETE WHERE s.op = 'D' "
        "WHEN NOT MATCHED THEN INSERT (t.id, t.v) VALUES (s.id, s.v) WHERE s.v > 0"
    )
    assert _plain(sql, "oracle") == {"dw.t.v": {"stg.s.v"}, "dw.t.id": {"stg.s.id"}}
    assert _rows(sql, "oracle") == {
        ("dw.t", "dw.t.id", "JOIN"),
        ("dw.t", "stg.s.id", "JOIN"),
        ("dw.t", "stg.s.changed", "FILTER"),
        ("dw.t", "stg.s.op", "FILTER"),
        ("dw.t", "stg.s.v", "FILTER"),
    }


def test_oracle_merge_delete_where_without_update_where() -> None:
    sql = (
        "MERGE INTO dw.t t USING stg.s s ON (t.id = s.id) "
        "WHEN MATCHED THEN UPDATE SET t.v = s.v DELETE WHERE t.v IS NULL"
    )
    assert _tables(sql, "oracle") == (["stg.s"], ["dw.t"])
    assert ("dw.t", "dw.t.v", "FILTER") in _rows(sql, "oracle")


def test_redshift_merge_remove_duplicates_replaces_and_inserts() -> None:
    sql = "MERGE INTO public.target USING public.stage s ON target.id = s.id REMOVE DUPLICATES"
    schema = {"public.target": ["id", "name"], "public.stage": ["id", "name"]}
    assert _tables(sql, "redshift") == (["public.stage"], ["public.target"])
    assert _plain(sql, "redshift", schema=schema) == {
        "public.target.id": {"public.stage.id"},
        "public.target.name": {"public.stage.name"},
    }
    assert _plain(sql, "redshift") == {"public.target.*": {"public.stage.*"}}


# ---------------------------------------------------------------------- Databricks UPDATE SET * / INSERT *


_MERGE_STAR = (
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
)


@pytest.mark.parametrize(
    ("sql", "schema", "expected"),
    [
        pytest.param(
            _MERGE_STAR,
            {"t": ["id", "a"], "s": ["id", "a", "b"]},
            {"t.id": {"s.id"}, "t.a": {"s.a"}},
            id="both-schemas-target-columns-only",
        ),
        pytest.param(
            _MERGE_STAR,
            {"t": ["id", "a"]},
            {"t.id": {"s.id"}, "t.a": {"s.a"}},
            id="target-schema-only",
        ),
        pytest.param(
            "MERGE INTO t USING (SELECT id, a, b FROM s WHERE x > 1) u ON t.id = u.id "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
            {"t": ["id", "a"]},
            {"t.id": {"s.id"}, "t.a": {"s.a"}},
            id="derived-source-target-schema",
        ),
        pytest.param(
            _MERGE_STAR,
            {"s": ["id", "a", "b"]},
            {"t.id": {"s.id"}, "t.a": {"s.a"}, "t.b": {"s.b"}},
            id="documents-source-schema-only",
        ),
        pytest.param(
            _MERGE_STAR,
            None,
            {"t.*": {"s.*"}},
            id="documents-no-schema",
        ),
    ],
)
def test_merge_star_actions_set_the_target_columns(
    sql: str, schema: dict[str, list[str]] | None, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, "databricks", schema=schema) == expected


def test_merge_star_into_a_table_the_script_created() -> None:
    sql = (
        "CREATE TABLE IF NOT EXISTS main.gold.daily (dt DATE, total DOUBLE) USING DELTA;\n"
        "MERGE INTO main.gold.daily AS d USING (SELECT dt, sum(amount) AS total, max(ts) AS last_ts "
        "FROM main.silver.payments WHERE dt = '2024-01-01' GROUP BY dt) AS s ON d.dt = s.dt "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *;\n"
        "OPTIMIZE main.gold.daily ZORDER BY (dt);"
    )
    assert _edges(sql, "databricks") == {
        "main.gold.daily.dt": ({"main.silver.payments.dt"}, "IDENTITY"),
        "main.gold.daily.total": ({"main.silver.payments.amount"}, "AGGREGATION"),
    }
    assert _kinds(sql, "databricks") == ["create_table", "merge", "other"]


def test_merge_with_schema_evolution_is_a_merge() -> None:
    sql = _MERGE_STAR.replace("MERGE INTO", "MERGE WITH SCHEMA EVOLUTION INTO")
    assert _kinds(sql, "databricks") == ["merge"]
    assert _plain(sql, "databricks") == {"t.*": {"s.*"}}
    assert _plain(sql, "databricks", schema={"t": ["id", "a"]}) == {"t.id": {"s.id"}, "t.a": {"s.a"}}

"""Row-deciding columns (OpenLineage's dataset-level INDIRECT lineage): which input columns filter, join,
group or sort the rows an output gets, through CTEs, derived tables, subqueries and temp tables."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze
from airflow_lineage_provider.sql.cli import format_pretty


def _rows(sql: str, dialect: str = "postgres", **kwargs: object) -> set[tuple[str, str, str]]:
    result = analyze(sql, dialect, **kwargs)  # type: ignore[arg-type]
    return {(str(r.output), str(r.input), r.subtype) for r in result.indirect}


CASES = [
    pytest.param(
        "INSERT INTO o SELECT a FROM s WHERE b > 1 AND c IS NULL",
        {("o", "s.b", "FILTER"), ("o", "s.c", "FILTER")},
        id="where",
    ),
    pytest.param(
        "INSERT INTO o SELECT s.a, d.v FROM s LEFT JOIN e USING (j) JOIN d ON d.k = s.k",
        {("o", "d.k", "JOIN"), ("o", "s.k", "JOIN"), ("o", "e.j", "JOIN"), ("o", "s.j", "JOIN")},
        id="join-on-and-using",
    ),
    pytest.param(
        "INSERT INTO o SELECT day, count(*) AS n FROM s GROUP BY 1 HAVING sum(amount) > 10",
        {("o", "s.day", "GROUP_BY"), ("o", "s.amount", "FILTER")},
        id="group-by-position-and-having",
    ),
    pytest.param(
        "INSERT INTO o SELECT a AS x, b FROM s ORDER BY x DESC, 2 LIMIT 5",
        {("o", "s.a", "SORT"), ("o", "s.b", "SORT")},
        id="order-by-alias-and-position",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s QUALIFY row_number() OVER (PARTITION BY g ORDER BY h DESC) = 1",
        {("o", "s.g", "FILTER"), ("o", "s.h", "FILTER")},
        id="qualify",
    ),
    pytest.param(
        """INSERT INTO o
        WITH live AS (SELECT id, v FROM s WHERE NOT deleted)
        SELECT live.v FROM live JOIN d ON d.id = live.id""",
        {("o", "s.deleted", "FILTER"), ("o", "s.id", "JOIN"), ("o", "d.id", "JOIN")},
        id="cte-filter-reaches-the-output",
    ),
    pytest.param(
        "INSERT INTO o SELECT x.a FROM (SELECT a FROM s WHERE b = 1 GROUP BY a) x",
        {("o", "s.b", "FILTER"), ("o", "s.a", "GROUP_BY")},
        id="derived-table",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s WHERE k IN (SELECT k FROM allowed WHERE active)",
        {("o", "s.k", "FILTER"), ("o", "allowed.k", "FILTER"), ("o", "allowed.active", "FILTER")},
        id="subquery-in-where-and-its-own-filter",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s UNION ALL SELECT a FROM t WHERE flag",
        {("o", "t.flag", "FILTER")},
        id="union-branch",
    ),
    pytest.param(
        "INSERT INTO o SELECT id, (SELECT max(v) FROM z WHERE z.k = s.id) AS top FROM s",
        set(),
        id="a-scalar-subquery-shapes-a-value-not-the-rows",
    ),
    pytest.param(
        "INSERT INTO o SELECT count(*) FROM s",
        set(),
        id="count-star-is-no-column",
    ),
    pytest.param(
        "UPDATE t SET a = s.b FROM s WHERE s.id = t.id AND s.flag",
        {("t", "s.id", "FILTER"), ("t", "t.id", "FILTER"), ("t", "s.flag", "FILTER")},
        id="update-from",
    ),
    pytest.param(
        "DELETE FROM t USING s WHERE s.id = t.id AND s.gone",
        {("t", "s.id", "FILTER"), ("t", "t.id", "FILTER"), ("t", "s.gone", "FILTER")},
        id="delete-using",
    ),
    pytest.param(
        "MERGE INTO tgt USING src ON tgt.id = src.id WHEN MATCHED AND src.deleted THEN DELETE "
        "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (src.id, src.v)",
        {("tgt", "tgt.id", "JOIN"), ("tgt", "src.id", "JOIN"), ("tgt", "src.deleted", "FILTER")},
        id="merge",
    ),
    pytest.param(
        "SELECT a FROM s WHERE b > 1",
        set(),
        id="a-plain-select-writes-nothing",
    ),
]


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_row_deciding_columns(sql: str, expected: set[tuple[str, str, str]]) -> None:
    assert _rows(sql) == expected


def test_through_a_temp_table_they_reach_the_real_sources() -> None:
    sql = """
    CREATE TEMP TABLE eu AS SELECT id, amount FROM raw.payments WHERE region = 'EU';
    INSERT INTO mart.totals SELECT e.id, sum(e.amount) FROM eu e JOIN dim.customers c ON c.id = e.id
    WHERE c.active GROUP BY e.id;
    """
    assert _rows(sql) == {
        ("mart.totals", "raw.payments.region", "FILTER"),  # decided the temp table's rows
        ("mart.totals", "raw.payments.id", "JOIN"),  # eu.id is raw.payments.id
        ("mart.totals", "raw.payments.id", "GROUP_BY"),
        ("mart.totals", "dim.customers.id", "JOIN"),
        ("mart.totals", "dim.customers.active", "FILTER"),
    }
    assert not any("eu" == r.output.name for r in analyze(sql, "postgres").indirect)


def test_defaults_apply_and_ctes_never_appear() -> None:
    sql = "INSERT INTO o WITH c AS (SELECT a, b FROM s) SELECT a FROM c WHERE b = 1"
    assert _rows(sql, default_database="db", default_schema="public") == {
        ("db.public.o", "db.public.s.b", "FILTER")
    }


def test_the_net_lineage_and_to_dict_stay_direct_only() -> None:
    """``to_dict`` (the corpus format) and the direct edges do not change with row-deciding columns."""
    result = analyze("INSERT INTO o SELECT a FROM s WHERE b = 1", "postgres")
    assert result.to_dict() == {"inputs": ["s"], "outputs": ["o"], "column_lineage": [["o.a", "s.a"]]}


def test_explain_prints_them() -> None:
    text = format_pretty(
        analyze("INSERT INTO o SELECT a FROM s JOIN d ON d.k = s.k WHERE s.b = 1", "postgres")
    )
    assert "o <~ s.b  (FILTER)" in text
    assert "o <~ d.k  (JOIN)" in text

"""Row-deciding columns (OpenLineage's dataset-level INDIRECT lineage): which input columns filter, join,
group or sort the rows an output gets, through CTEs, derived tables, subqueries, set operations, nested
joins, DML targets, upserts and temp tables; and bounded cost on wide statements."""

from __future__ import annotations

import time

import pytest

from airflow_lineage_provider.sql import analyze
from airflow_lineage_provider.sql.cli import format_pretty

from .readers import indirect_rows as _rows

CASES = [
    # --- filters, joins, grouping and sorting of one SELECT
    pytest.param(
        "INSERT INTO o SELECT a FROM s WHERE b > 1 AND c IS NULL",
        "postgres",
        {("o", "s.b", "FILTER"), ("o", "s.c", "FILTER")},
        id="where",
    ),
    pytest.param(
        "INSERT INTO o SELECT s.a, d.v FROM s LEFT JOIN e USING (j) JOIN d ON d.k = s.k",
        "postgres",
        {("o", "d.k", "JOIN"), ("o", "s.k", "JOIN"), ("o", "e.j", "JOIN"), ("o", "s.j", "JOIN")},
        id="join-on-and-using",
    ),
    pytest.param(
        "INSERT INTO o SELECT day, count(*) AS n FROM s GROUP BY 1 HAVING sum(amount) > 10",
        "postgres",
        {("o", "s.day", "GROUP_BY"), ("o", "s.amount", "FILTER")},
        id="group-by-position-and-having",
    ),
    pytest.param(
        "INSERT INTO o SELECT a AS x, b FROM s ORDER BY x DESC, 2 LIMIT 5",
        "postgres",
        {("o", "s.a", "SORT"), ("o", "s.b", "SORT")},
        id="order-by-alias-and-position",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s QUALIFY row_number() OVER (PARTITION BY g ORDER BY h DESC) = 1",
        "postgres",
        {("o", "s.g", "FILTER"), ("o", "s.h", "FILTER")},
        id="qualify",
    ),
    pytest.param(
        """INSERT INTO o
        WITH live AS (SELECT id, v FROM s WHERE NOT deleted)
        SELECT live.v FROM live JOIN d ON d.id = live.id""",
        "postgres",
        {("o", "s.deleted", "FILTER"), ("o", "s.id", "JOIN"), ("o", "d.id", "JOIN")},
        id="cte-filter-reaches-the-output",
    ),
    pytest.param(
        "INSERT INTO o SELECT x.a FROM (SELECT a FROM s WHERE b = 1 GROUP BY a) x",
        "postgres",
        {("o", "s.b", "FILTER"), ("o", "s.a", "GROUP_BY")},
        id="derived-table",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s WHERE k IN (SELECT k FROM allowed WHERE active)",
        "postgres",
        {("o", "s.k", "FILTER"), ("o", "allowed.k", "FILTER"), ("o", "allowed.active", "FILTER")},
        id="subquery-in-where-and-its-own-filter",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s UNION ALL SELECT a FROM t WHERE flag",
        "postgres",
        {("o", "t.flag", "FILTER")},
        id="union-branch",
    ),
    pytest.param(
        "INSERT INTO o SELECT id, (SELECT max(v) FROM z WHERE z.k = s.id) AS top FROM s",
        "postgres",
        set(),
        id="a-scalar-subquery-shapes-a-value-not-the-rows",
    ),
    pytest.param(
        "INSERT INTO o SELECT count(*) FROM s",
        "postgres",
        set(),
        id="count-star-is-no-column",
    ),
    pytest.param(
        "UPDATE t SET a = s.b FROM s WHERE s.id = t.id AND s.flag",
        "postgres",
        {("t", "s.id", "FILTER"), ("t", "t.id", "FILTER"), ("t", "s.flag", "FILTER")},
        id="update-from",
    ),
    pytest.param(
        "DELETE FROM t USING s WHERE s.id = t.id AND s.gone",
        "postgres",
        {("t", "s.id", "FILTER"), ("t", "t.id", "FILTER"), ("t", "s.gone", "FILTER")},
        id="delete-using",
    ),
    pytest.param(
        "MERGE INTO tgt USING src ON tgt.id = src.id WHEN MATCHED AND src.deleted THEN DELETE "
        "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (src.id, src.v)",
        "postgres",
        {("tgt", "tgt.id", "JOIN"), ("tgt", "src.id", "JOIN"), ("tgt", "src.deleted", "FILTER")},
        id="merge",
    ),
    pytest.param(
        "SELECT a FROM s WHERE b > 1",
        "postgres",
        set(),
        id="a-plain-select-writes-nothing",
    ),
    # --- joins that are not in the SELECT's own join list
    pytest.param(
        "INSERT INTO o SELECT s.a FROM (s JOIN t ON s.k = t.k)",
        "postgres",
        {("o", "s.k", "JOIN"), ("o", "t.k", "JOIN")},
        id="parenthesised-join",
    ),
    pytest.param(
        "INSERT INTO o SELECT s.a FROM s JOIN (t JOIN u ON t.x = u.x) ON s.k = t.k",
        "postgres",
        {("o", "s.k", "JOIN"), ("o", "t.k", "JOIN"), ("o", "t.x", "JOIN"), ("o", "u.x", "JOIN")},
        id="nested-join",
    ),
    pytest.param(
        "UPDATE a JOIN b ON a.id = b.id SET a.x = b.y WHERE b.f = 1",
        "mysql",
        {("a", "a.id", "JOIN"), ("a", "b.id", "JOIN"), ("a", "b.f", "FILTER")},
        id="mysql-multi-table-update",
    ),
    pytest.param(
        "UPDATE t SET t.x = s.y FROM t JOIN s ON t.id = s.id WHERE s.f = 1",
        "tsql",
        {("t", "t.id", "JOIN"), ("t", "s.id", "JOIN"), ("t", "s.f", "FILTER")},
        id="tsql-update-from-join",
    ),
    pytest.param(
        "UPDATE t SET x = s.y FROM dbo.tgt AS t JOIN s ON t.id = s.id WHERE s.f = 1",
        "tsql",
        {("dbo.tgt", "dbo.tgt.id", "JOIN"), ("dbo.tgt", "s.id", "JOIN"), ("dbo.tgt", "s.f", "FILTER")},
        id="tsql-update-alias-from-join",
    ),
    pytest.param(
        "UPDATE t SET x = s.y FROM s JOIN u ON u.k = s.k WHERE s.id = t.id",
        "postgres",
        {("t", "u.k", "JOIN"), ("t", "s.k", "JOIN"), ("t", "s.id", "FILTER"), ("t", "t.id", "FILTER")},
        id="postgres-update-from-join",
    ),
    pytest.param(
        "DELETE t FROM t JOIN s ON t.id = s.id WHERE s.f",
        "mysql",
        {("t", "t.id", "JOIN"), ("t", "s.id", "JOIN"), ("t", "s.f", "FILTER")},
        id="mysql-delete-join",
    ),
    pytest.param(
        "DELETE FROM t USING s JOIN u ON u.k = s.k WHERE s.id = t.id",
        "postgres",
        {("t", "u.k", "JOIN"), ("t", "s.k", "JOIN"), ("t", "s.id", "FILTER"), ("t", "t.id", "FILTER")},
        id="delete-using-join",
    ),
    # --- output aliases in GROUP BY / HAVING / QUALIFY read the aliased expression
    pytest.param(
        "INSERT INTO o SELECT date_trunc('day', ts) AS day, count(*) AS n FROM s GROUP BY day",
        "postgres",
        {("o", "s.ts", "GROUP_BY")},
        id="group-by-output-alias",
    ),
    pytest.param(
        "INSERT INTO o SELECT g, sum(v) AS total FROM s GROUP BY g HAVING total > 10",
        "mysql",
        {("o", "s.g", "GROUP_BY"), ("o", "s.v", "FILTER")},
        id="having-output-alias",
    ),
    pytest.param(
        "INSERT INTO o SELECT a, row_number() OVER (PARTITION BY g ORDER BY h DESC) AS rn FROM s "
        "QUALIFY rn = 1",
        "snowflake",
        {("o", "s.g", "FILTER"), ("o", "s.h", "FILTER")},
        id="qualify-output-alias",
    ),
    pytest.param(
        "INSERT INTO o SELECT lower(day) AS day FROM s GROUP BY day",
        "postgres",
        {("o", "s.day", "GROUP_BY")},
        id="group-by-a-source-column-of-the-alias-name",
    ),
    # --- set operations: the right side of EXCEPT / INTERSECT decides which rows stay
    pytest.param(
        "INSERT INTO o SELECT a FROM s EXCEPT SELECT b FROM t WHERE t.z",
        "postgres",
        {("o", "t.b", "FILTER"), ("o", "t.z", "FILTER")},
        id="except",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s INTERSECT SELECT b FROM t",
        "postgres",
        {("o", "t.b", "FILTER")},
        id="intersect",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s MINUS SELECT b FROM t",
        "snowflake",
        {("o", "t.b", "FILTER")},
        id="minus",
    ),
    pytest.param(
        "INSERT INTO o SELECT a FROM s UNION SELECT b FROM t",
        "postgres",
        set(),
        id="union-adds-rows-it-does-not-filter",
    ),
    # --- DISTINCT ON keeps one row per key
    pytest.param(
        "INSERT INTO o SELECT DISTINCT ON (customer_id) customer_id, v FROM s ORDER BY customer_id, ts DESC",
        "postgres",
        {("o", "s.customer_id", "GROUP_BY"), ("o", "s.customer_id", "SORT"), ("o", "s.ts", "SORT")},
        id="distinct-on",
    ),
    pytest.param("INSERT INTO o SELECT DISTINCT a, b FROM s", "postgres", set(), id="plain-distinct"),
    # --- recursive CTE: the self-reference's columns are the anchor's
    pytest.param(
        """INSERT INTO o WITH RECURSIVE r AS (
            SELECT id, parent FROM n WHERE parent IS NULL
            UNION ALL SELECT n.id, n.parent FROM n JOIN r ON n.parent = r.id)
        SELECT id FROM r""",
        "postgres",
        {("o", "n.parent", "FILTER"), ("o", "n.parent", "JOIN"), ("o", "n.id", "JOIN")},
        id="recursive-cte",
    ),
    # --- data-modifying CTE: what chose the deleted rows chooses the rows their RETURNING inserts
    pytest.param(
        "WITH gone AS (DELETE FROM q WHERE ts < now() RETURNING id) INSERT INTO h SELECT id FROM gone",
        "postgres",
        {("q", "q.ts", "FILTER"), ("h", "q.ts", "FILTER")},
        id="data-modifying-cte",
    ),
    # --- upserts: the conflict key matches rows like MERGE ... ON, DO UPDATE ... WHERE filters them
    pytest.param(
        "INSERT INTO o (id, v) SELECT id, v FROM s ON CONFLICT (id) DO UPDATE SET v = excluded.v "
        "WHERE o.v IS DISTINCT FROM excluded.v",
        "postgres",
        {("o", "o.id", "JOIN"), ("o", "s.id", "JOIN"), ("o", "o.v", "FILTER"), ("o", "s.v", "FILTER")},
        id="on-conflict-do-update-where",
    ),
    pytest.param(
        "INSERT INTO o (id, v) SELECT id, v FROM s ON CONFLICT (id) DO NOTHING",
        "postgres",
        {("o", "o.id", "JOIN"), ("o", "s.id", "JOIN")},
        id="on-conflict-do-nothing",
    ),
    # --- values, not rows
    pytest.param(
        "INSERT INTO o SELECT a, CASE WHEN EXISTS (SELECT 1 FROM t WHERE t.k = s.k AND t.z) THEN 1 END AS e "
        "FROM s",
        "postgres",
        set(),
        id="exists-in-a-projection",
    ),
    pytest.param(
        "UPDATE t SET x = (SELECT max(v) FROM s WHERE s.k = t.k AND s.z)",
        "postgres",
        set(),
        id="scalar-subquery-in-set",
    ),
    pytest.param(
        "INSERT INTO o SELECT a, sum(x) OVER (PARTITION BY g ORDER BY h) AS running FROM s",
        "postgres",
        set(),
        id="window-in-a-projection",
    ),
]


@pytest.mark.parametrize(("sql", "dialect", "expected"), CASES)
def test_row_deciding_columns(sql: str, dialect: str, expected: set[tuple[str, str, str]]) -> None:
    assert _rows(sql, dialect) == expected


# ------------------------------------------------------------- through temp tables, defaults, the net lineage


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


def test_a_temp_table_filtered_by_a_join_reaches_the_output() -> None:
    sql = """
    SELECT o.id, o.amount INTO #eu FROM dbo.orders o JOIN dbo.regions r ON r.id = o.region_id
    WHERE r.code = 'EU';
    UPDATE t SET t.total = e.amount FROM dbo.totals t JOIN #eu e ON e.id = t.id;
    """
    assert _rows(sql, "tsql") == {
        ("dbo.totals", "dbo.regions.id", "JOIN"),
        ("dbo.totals", "dbo.orders.region_id", "JOIN"),
        ("dbo.totals", "dbo.regions.code", "FILTER"),
        ("dbo.totals", "dbo.orders.id", "JOIN"),  # #eu.id is dbo.orders.id
        ("dbo.totals", "dbo.totals.id", "JOIN"),
    }


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


# ---------------------------------------------------------------------- GROUP BY / ORDER BY


def test_group_by_an_input_column_wins_over_an_alias_when_the_schema_has_it() -> None:
    sql = "INSERT INTO o SELECT upper(k) AS day, count(*) AS n FROM s GROUP BY day"
    assert _rows(sql, schema={"s": ["k", "day"]}) == {("o", "s.day", "GROUP_BY")}


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "databricks"])
def test_group_by_all_groups_by_the_columns_that_aggregate_nothing(dialect: str) -> None:
    sql = "INSERT INTO o SELECT id, upper(k) AS k, sum(v) AS v FROM s GROUP BY ALL"
    assert _rows(sql, dialect) == {("o", "s.id", "GROUP_BY"), ("o", "s.k", "GROUP_BY")}


@pytest.mark.parametrize("dialect", ["duckdb", "databricks"])
def test_order_by_all_sorts_by_every_output_column(dialect: str) -> None:
    sql = "INSERT INTO o SELECT a, b + c AS bc FROM s ORDER BY ALL DESC"
    assert _rows(sql, dialect) == {("o", "s.a", "SORT"), ("o", "s.b", "SORT"), ("o", "s.c", "SORT")}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT a, c FROM s1 UNION SELECT b, d FROM s2 ORDER BY 1, c",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "SORT"), ("o", "s1.c", "SORT"), ("o", "s2.d", "SORT")},
            id="by-position-and-name",
        ),
        pytest.param(
            "INSERT INTO o (SELECT a FROM s1 UNION SELECT b FROM s2) ORDER BY 1",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "SORT")},
            id="parenthesised-union",
        ),
        pytest.param(
            "CREATE TABLE o AS (SELECT a FROM s1 UNION ALL SELECT b FROM s2 UNION ALL SELECT x FROM s3) "
            "ORDER BY a LIMIT 3",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "SORT"), ("o", "s3.x", "SORT")},
            id="parenthesised-chain-with-limit",
        ),
        pytest.param(
            "INSERT INTO o (SELECT a FROM s1 EXCEPT SELECT b FROM s2) ORDER BY a",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "FILTER")},
            id="except-sorts-the-left-side-only",
        ),
    ],
)
def test_order_by_over_a_set_operation_sorts_every_branch(
    sql: str, expected: set[tuple[str, str, str]]
) -> None:
    assert _rows(sql, "postgres") == expected


# ---------------------------------------------------------------------- joins


def test_natural_join_with_a_schema_joins_on_the_shared_columns() -> None:
    sql = "INSERT INTO o SELECT a, b FROM s NATURAL JOIN t"
    assert _rows(sql, schema={"s": ["a", "k"], "t": ["k", "b"]}) == {
        ("o", "s.k", "JOIN"),
        ("o", "t.k", "JOIN"),
    }


def test_joins_on_every_level_of_a_parenthesised_join_chain() -> None:
    """``(((t0 JOIN t1 ON ...) JOIN t2 ON ...) JOIN t3 ON ...)``: sqlglot hangs each join on another
    parenthesis level; every level's tables are sources and every level's ON joins."""
    sql = (
        "INSERT INTO o SELECT t0.k, t2.v "
        "FROM (((t0 JOIN t1 ON t1.k = t0.k) JOIN t2 ON t2.k = t1.k) JOIN t3 ON t3.k = t2.k)"
    )
    assert _rows(sql) == {("o", f"t{i}.k", "JOIN") for i in range(4)}
    assert ["o.v", "t2.v"] in analyze(sql, "postgres").to_dict()["column_lineage"]


def test_documents_select_join_using_chain() -> None:
    sql = "INSERT INTO u SELECT id FROM s JOIN o USING (id) JOIN p USING (id)"
    assert _rows(sql, "postgres") == {("u", f"{t}.id", "JOIN") for t in ("s", "o", "p")}


# ---------------------------------------------------------------------- PIVOT


def test_pivot_groups_by_the_columns_it_passes_through() -> None:
    sql = "INSERT INTO o SELECT * FROM s PIVOT (sum(amt) FOR month IN ('jan', 'feb')) WHERE region <> 'x'"
    assert _rows(sql, "snowflake", schema={"s": ["region", "month", "amt"]}) == {
        ("o", "s.region", "GROUP_BY"),
        ("o", "s.region", "FILTER"),
    }


# ---------------------------------------------------------------------- bounded cost


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "INSERT INTO o SELECT k FROM t0 "
            + " ".join(f"JOIN t{i} ON t{i}.k = t{i - 1}.k" for i in range(1, 300)),
            id="300-joins",
        ),
        pytest.param(
            "INSERT INTO o SELECT a FROM s WHERE " + " AND ".join(f"c{i} = {i}" for i in range(1500)),
            id="1500-conditions",
        ),
        pytest.param(
            "INSERT INTO o "
            + " UNION ALL ".join(f"SELECT a FROM t{i % 7} WHERE f{i} = 1" for i in range(2000)),
            id="2000-branch-union",
        ),
        pytest.param(
            "INSERT INTO o " + " EXCEPT ".join(f"SELECT a FROM t{i % 7} WHERE f{i} = 1" for i in range(1000)),
            id="1000-branch-except",
        ),
    ],
)
def test_wide_statements_stay_fast(sql: str) -> None:
    start = time.process_time()
    result = analyze(sql, "postgres")
    assert time.process_time() - start < 10
    assert result.indirect


@pytest.mark.parametrize("selected", ["*", "b.*", "y", "1"])
def test_what_an_exists_in_a_filter_selects_decides_no_rows(selected: str) -> None:
    sql = f"INSERT INTO out SELECT * FROM a WHERE EXISTS (SELECT {selected} FROM b WHERE b.id = a.id)"
    schema = {"a": ["id", "x"], "b": ["id", "y"]}
    assert _rows(sql, "postgres", schema=schema) == {("out", "a.id", "FILTER"), ("out", "b.id", "FILTER")}

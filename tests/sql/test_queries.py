"""Queries and the columns they resolve: unqualified columns next to joins, pseudo-columns, CTE and
derived-table column lists, recursive CTEs (also where ``RECURSIVE`` is optional, with a column list, next to
``CROSS JOIN LATERAL``), set operations (``UNION [ALL] BY NAME``, ``CORRESPONDING``, ``EXCEPT`` / ``MINUS``,
nested), ``GROUPING SETS`` / ``ROLLUP``, named windows and ``QUALIFY``, star modifiers (``EXCEPT`` /
``EXCLUDE`` / ``REPLACE`` / ``RENAME``), ``VALUES`` as a relation, quoted names with dots and spaces,
``FOR SYSTEM_TIME``, and a query the parser rejects (the tables before the part that parses are kept).

PIVOT / UNPIVOT / MATCH_RECOGNIZE are in test_pivot_unpivot.py, table functions in test_table_functions.py,
the row-deciding (INDIRECT) columns of queries in test_indirect.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- joins and the columns they resolve


def test_using_column_reads_both_joined_tables() -> None:
    got = _plain("INSERT INTO o SELECT id, a.x, b.y FROM a JOIN b USING (id)", "postgres")
    assert got == {"o.id": {"a.id", "b.id"}, "o.x": {"a.x"}, "o.y": {"b.y"}}


def test_using_column_of_a_full_join_in_an_expression() -> None:
    got = _plain("INSERT INTO o SELECT upper(k) AS k FROM a FULL JOIN b USING (k)", "postgres")
    assert got == {"o.k": {"a.k", "b.k"}}


def test_a_column_qualified_elsewhere_resolves_the_unqualified_one_in_a_select() -> None:
    sql = "INSERT INTO o SELECT a.x, y FROM a JOIN b ON a.id = b.id WHERE b.y > 0"
    assert _plain(sql, "postgres") == {"o.x": {"a.x"}, "o.y": {"b.y"}}


def test_a_known_derived_column_wins_over_a_qualified_reference() -> None:
    sql = "INSERT INTO o SELECT col1 FROM (SELECT col1 FROM tab1) c JOIN tab2 ON c.col1 = tab2.col1"
    assert _plain(sql, "postgres") == {"o.col1": {"tab1.col1"}}


def test_an_alias_reused_in_a_subquery_names_its_own_table() -> None:
    sql = (
        "INSERT INTO o SELECT id, v FROM t JOIN s ON t.id = s.id "
        "WHERE EXISTS (SELECT 1 FROM u t WHERE t.v > 0)"
    )
    assert _plain(sql, "postgres") == {}  # t.v is u's: id and v stay unresolved between t and s


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        ("INSERT INTO o SELECT * FROM a LEFT SEMI JOIN b ON a.id = b.id", "spark", {"o.*": {"a.*"}}),
        ("INSERT INTO o SELECT * FROM a LEFT ANTI JOIN b ON a.id = b.id", "databricks", {"o.*": {"a.*"}}),
        (
            "INSERT INTO o SELECT id, v FROM a LEFT SEMI JOIN b ON a.id = b.id",
            "hive",
            {"o.id": {"a.id"}, "o.v": {"a.v"}},
        ),
        ("INSERT INTO o SELECT * FROM a SEMI JOIN b ON a.id = b.id", "duckdb", {"o.*": {"a.*"}}),
    ],
)
def test_a_semi_or_anti_joined_table_only_filters(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    """Its columns are not in the result (``SELECT *`` is the left side's); it decides the rows."""
    assert _plain(sql, dialect) == expected
    assert (("o", "b.id", "JOIN")) in _rows(sql, dialect)


def test_a_semi_joined_table_is_left_out_of_star_expansion_with_a_schema() -> None:
    sql = "INSERT INTO o SELECT * FROM a LEFT SEMI JOIN b ON a.id = b.id"
    got = _plain(sql, "spark", schema={"a": ["id", "v"], "b": ["id", "w"]})
    assert got == {"o.id": {"a.id"}, "o.v": {"a.v"}}


_JOINED = {"a": ["id", "x"], "b": ["id", "z"], "t": ["id", "x", "z"]}


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t SELECT * FROM a JOIN b USING (id)",
        "INSERT INTO t SELECT * FROM a FULL JOIN b USING (id)",
        "INSERT INTO t SELECT * FROM a NATURAL JOIN b",
        "INSERT INTO t SELECT * FROM (SELECT id, x FROM a) q JOIN (SELECT id, z FROM b) r USING (id)",
        "WITH q AS (SELECT id, x FROM a) INSERT INTO t SELECT * FROM q NATURAL JOIN b",
    ],
)
def test_a_star_over_a_using_or_natural_join_has_the_join_column_once(sql: str) -> None:
    """``SELECT *`` gives the shared column once, first, from both sides: mapped by position into the
    target, the columns after it are not shifted (``t.z`` is ``b.z``, not ``b.id``)."""
    got = _plain(sql, "postgres", schema=_JOINED)
    assert got == {"t.id": {"a.id", "b.id"}, "t.x": {"a.x"}, "t.z": {"b.z"}}


def test_qualified_stars_over_a_using_join_keep_both_join_columns() -> None:
    schema = {**_JOINED, "w": ["id", "x", "b_id", "z"]}
    got = _plain("INSERT INTO w SELECT a.*, b.* FROM a JOIN b USING (id)", "postgres", schema=schema)
    assert got == {"w.id": {"a.id"}, "w.x": {"a.x"}, "w.b_id": {"b.id"}, "w.z": {"b.z"}}


# ---------------------------------------------------------------------- pseudo-columns


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "INSERT INTO ds.daily (event_date, event_name) SELECT DATE(_PARTITIONTIME), event_name "
            "FROM ds.events WHERE _PARTITIONTIME >= TIMESTAMP('2024-01-01')",
            "bigquery",
            {"ds.daily.event_name": {"ds.events.event_name"}},
        ),
        (
            "INSERT INTO ds.t SELECT _TABLE_SUFFIX AS day, user_id FROM `p.ga.events_*` "
            "WHERE _TABLE_SUFFIX > '2024'",
            "bigquery",
            {"ds.t.user_id": {"p.ga.events_*.user_id"}},
        ),
        (
            "INSERT INTO dw.sales SELECT s.id, ROWNUM AS rn, LEVEL AS lvl FROM stg.sales s "
            "WHERE ROWNUM <= 10",
            "oracle",
            {"dw.sales.id": {"stg.sales.id"}},
        ),
        ("INSERT INTO x SELECT id, _part, _partition_id FROM raw.a", "clickhouse", {"x.id": {"raw.a.id"}}),
        ("INSERT INTO x SELECT id, INPUT__FILE__NAME FROM raw.t", "hive", {"x.id": {"raw.t.id"}}),
        ("INSERT INTO x SELECT $1, METADATA$FILENAME FROM @st/p/", "snowflake", {"x.$1": {"@st/p/.$1"}}),
    ],
)
def test_pseudo_columns_are_no_data_columns(sql: str, dialect: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, dialect) == expected
    assert not any("_partition" in r[1] or "rownum" in r[1] for r in _rows(sql, dialect))


def test_a_pseudo_column_name_listed_by_the_schema_is_a_column() -> None:
    sql = "INSERT INTO ds.x SELECT _partitiontime AS pt FROM ds.y"
    assert _plain(sql, "bigquery", schema={"ds.y": ["_partitiontime"]}) == {
        "ds.x.pt": {"ds.y._partitiontime"}
    }


# ---------------------------------------------------------------------- CTE and derived-table column lists


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "WITH c(a) AS (SELECT x, y FROM s) INSERT INTO u SELECT a, y FROM c",
            {"u.a": {"s.x"}, "u.y": {"s.y"}},
            id="cte-list-shorter-than-query",
        ),
        pytest.param(
            "INSERT INTO u SELECT q.a, q.y FROM (SELECT x, y FROM s) AS q(a)",
            {"u.a": {"s.x"}, "u.y": {"s.y"}},
            id="derived-table-list-shorter-than-query",
        ),
        pytest.param(
            "WITH c(a, b) AS (SELECT * FROM s) INSERT INTO u SELECT a, b FROM c",
            {"u.a": {"s.*"}, "u.b": {"s.*"}},
            id="cte-list-over-unexpanded-star",
        ),
        pytest.param(
            "WITH c(k, a, b) AS (SELECT s.id, o.* FROM s JOIN o ON s.id = o.sid) "
            "INSERT INTO u SELECT k, a, b FROM c",
            {"u.k": {"s.id"}, "u.a": {"o.*"}, "u.b": {"o.*"}},
            id="cte-list-over-column-then-star",
        ),
        pytest.param(
            "INSERT INTO u SELECT q.a, q.b, q.z FROM (SELECT *, 1 + w AS z FROM s) AS q(a, b, z)",
            {"u.a": {"s.*"}, "u.b": {"s.*"}, "u.z": {"s.w"}},
            id="derived-list-star-then-column",
        ),
    ],
)
def test_column_alias_lists(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "postgres") == expected


def test_documents_cte_alias_list_over_a_star_with_schema() -> None:
    sql = "WITH c(a, b) AS (SELECT * FROM s) INSERT INTO u SELECT a, b FROM c"
    assert _plain(sql, "postgres", schema={"s": ["x", "y"]}) == {"u.a": {"s.x"}, "u.b": {"s.y"}}


# ---------------------------------------------------------------------- count(*) over derived tables


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "INSERT INTO o SELECT count(*) AS n FROM (SELECT a FROM t WHERE b > 0) x",
            "postgres",
            {"o.n": {"t.*"}},
        ),
        (
            "WITH c AS (SELECT t.a, u.v FROM t JOIN u ON t.id = u.id) INSERT INTO o SELECT a, count(*) AS n "
            "FROM c GROUP BY a",
            "postgres",
            {"o.a": {"t.a"}, "o.n": {"t.*", "u.*"}},
        ),
        (
            "INSERT INTO ds.o SELECT s.id, (SELECT COUNT(*) FROM UNNEST(s.items)) AS n FROM ds.s s",
            "bigquery",
            {"ds.o.id": {"ds.s.id"}, "ds.o.n": {"ds.s.items"}},
        ),
    ],
)
def test_count_star_over_a_derived_table_or_table_function_counts_the_rows_it_comes_from(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


# ---------------------------------------------------------------------- EXISTS as a value


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO o SELECT a, CASE WHEN EXISTS (SELECT 1 FROM x WHERE x.id = s.id AND x.active) "
            "THEN 1 ELSE 0 END AS has_x FROM s",
            {"o.a": ({"s.a"}, "IDENTITY"), "o.has_x": ({"x.id", "x.active", "s.id"}, "TRANSFORMATION")},
        ),
        (
            "INSERT INTO o SELECT a, NOT EXISTS (SELECT * FROM x JOIN y ON x.k = y.k WHERE x.id = s.id) "
            "AS orphan FROM s",
            {"o.a": ({"s.a"}, "IDENTITY"), "o.orphan": ({"x.k", "y.k", "x.id", "s.id"}, "TRANSFORMATION")},
        ),
    ],
)
def test_exists_in_the_select_list_reads_the_columns_its_subquery_decides_by(
    sql: str, expected: dict[str, tuple[set[str], str]]
) -> None:
    assert _edges(sql, "postgres") == expected


def test_exists_in_a_where_keeps_its_row_deciding_subtypes() -> None:
    sql = "INSERT INTO o SELECT a FROM s WHERE EXISTS (SELECT 1 FROM x JOIN y ON x.k = y.k WHERE x.id = s.id)"
    assert _rows(sql) == {
        ("o", "x.k", "JOIN"),
        ("o", "y.k", "JOIN"),
        ("o", "x.id", "FILTER"),
        ("o", "s.id", "FILTER"),
    }


# ---------------------------------------------------------------------- a table alias as a value


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "INSERT INTO o SELECT t.id, row_to_json(t) AS doc FROM s AS t",
            "postgres",
            {"o.id": {"s.id"}, "o.doc": {"s.*"}},
        ),
        (
            "INSERT INTO ds.o SELECT TO_JSON_STRING(t) AS j FROM ds.s AS t",
            "bigquery",
            {"ds.o.j": {"ds.s.*"}},
        ),
        (
            "INSERT INTO ds.o SELECT id, ARRAY_AGG(t ORDER BY ts DESC LIMIT 1)[OFFSET(0)] AS latest "
            "FROM ds.s t GROUP BY id",
            "bigquery",
            {"ds.o.id": {"ds.s.id"}, "ds.o.latest": {"ds.s.*", "ds.s.ts"}},
        ),
        (
            "INSERT INTO o SELECT to_jsonb(x) AS doc FROM (SELECT a, b FROM s) x",
            "postgres",
            {"o.doc": {"s.a", "s.b"}},
        ),
    ],
)
def test_a_table_alias_used_as_a_value_reads_the_whole_row(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


def test_an_unaliased_table_known_to_have_no_column_of_its_name_is_the_whole_row() -> None:
    sql = "INSERT INTO o SELECT row_to_json(s) AS doc FROM s"
    assert _plain(sql, "postgres", schema={"s": ["id", "a"]}) == {"o.doc": {"s.*"}}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # an unaliased table whose columns are unknown may well hold a column of its own name
        ("INSERT INTO o SELECT upper(status) AS st FROM status", {"o.st": {"status.status"}}),
        # a column the alias's table is known to hold wins
        ("INSERT INTO o SELECT t AS v FROM s AS t", {"o.v": {"s.t"}}),
        # an UNNEST alias names its element
        ("INSERT INTO o SELECT x FROM s, unnest(s.arr) AS x", {"o.x": {"s.arr"}}),
        # another table of unknown columns may hold a column of that name, which the engine would read first
        ("INSERT INTO o SELECT v.t, to_jsonb(c) AS j FROM v JOIN u c ON v.id = c.id", {"o.t": {"v.t"}}),
    ],
)
def test_a_name_that_is_a_column_stays_the_column(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "postgres", schema={"s": ["t", "arr"]}) == expected


# ---------------------------------------------------------------------- recursive CTEs


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO paths (id, path) WITH r (id, path) AS (SELECT id, label FROM roots UNION ALL "
            "SELECT n.id, r.path + n.name FROM nodes n JOIN r ON n.parent = r.id) SELECT id, path FROM r",
            "tsql",
            {"paths.id": {"nodes.id", "roots.id"}, "paths.path": {"nodes.name", "roots.label"}},
            id="tsql-insert",
        ),
        pytest.param(
            "WITH org (id, boss) AS (SELECT id, boss FROM emp WHERE boss IS NULL UNION ALL "
            "SELECT e.id, e.boss FROM emp e JOIN org o ON e.boss = o.id) "
            "SELECT id, boss INTO dbo.levels FROM org",
            "tsql",
            {"dbo.levels.id": {"emp.id"}, "dbo.levels.boss": {"emp.boss"}},
            id="tsql-select-into",
        ),
        pytest.param(
            "CREATE TABLE lv AS WITH org (id, lvl) AS (SELECT id, 1 FROM emp WHERE boss IS NULL UNION ALL "
            "SELECT e.id, org.lvl + 1 FROM emp e, org WHERE e.boss = org.id) SELECT id, lvl FROM org",
            "oracle",
            {"lv.id": {"emp.id"}},
            id="oracle-ctas",
        ),
        pytest.param(
            "CREATE TABLE t AS WITH r AS (SELECT id FROM a UNION ALL "
            "SELECT b.id FROM b JOIN r ON b.p = r.id) SELECT id FROM r",
            "snowflake",
            {"t.id": {"a.id", "b.id"}},
            id="snowflake-ctas",
        ),
    ],
)
def test_a_cte_that_unions_itself_is_recursive_where_the_keyword_is_optional(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    inputs, _ = _tables(sql, dialect)
    assert not {"r", "org"} & set(inputs)
    assert _plain(sql, dialect) == expected


def test_documents_postgres_cte_reading_its_own_name_without_recursive_reads_the_table() -> None:
    inputs, _ = _tables(
        "WITH r AS (SELECT id FROM a UNION ALL SELECT id FROM r) SELECT id FROM r", "postgres"
    )
    assert inputs == ["a", "r"]


def test_documents_tsql_cte_of_a_table_name_without_union_reads_the_table() -> None:
    assert _tables("WITH t AS (SELECT * FROM t) SELECT * FROM t", "tsql") == (["t"], [])


def test_documents_lateral_and_recursive_cte_with_column_list() -> None:
    sql = (
        "INSERT INTO o SELECT c.id, x.last_amt FROM customers c CROSS JOIN LATERAL (SELECT o.amount AS "
        "last_amt FROM orders o WHERE o.cid = c.id ORDER BY o.ts DESC LIMIT 1) x"
    )
    assert _plain(sql, "postgres") == {"o.id": {"customers.id"}, "o.last_amt": {"orders.amount"}}
    sql = (
        "WITH RECURSIVE tree(id, root, depth) AS (SELECT id, id, 0 FROM nodes WHERE parent_id IS NULL "
        "UNION ALL SELECT n.id, t.root, t.depth + 1 FROM nodes n JOIN tree t ON n.parent_id = t.id) "
        "INSERT INTO flat SELECT id, root, depth FROM tree"
    )
    assert _tables(sql, "postgres") == (["nodes"], ["flat"])
    assert _plain(sql, "postgres") == {"flat.id": {"nodes.id"}, "flat.root": {"nodes.id"}}


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


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL SELECT * FROM s2",
            {"o.a": {"s1.a", "s2.*"}, "o.b": {"s1.b", "s2.*"}},
        ),
        (
            "INSERT INTO o SELECT a, b, c FROM s1 UNION ALL SELECT id, * FROM s2",
            {"o.a": {"s1.a", "s2.id"}, "o.b": {"s1.b", "s2.*"}, "o.c": {"s1.c", "s2.*"}},
        ),
        (
            "INSERT INTO o (x, y) SELECT * FROM s1 UNION ALL SELECT a, b FROM s2",
            {"o.x": {"s1.*", "s2.a"}, "o.y": {"s1.*", "s2.b"}},
        ),
        ("INSERT INTO o SELECT * FROM s1 UNION ALL SELECT a, b FROM s2", {"o.*": {"s1.*", "s2.a", "s2.b"}}),
        ("INSERT INTO o (x, y) SELECT s1.*, s2.* FROM s1, s2", {"o.x": {"s1.*"}, "o.y": {"s2.*"}}),
    ],
)
def test_an_unexpanded_star_in_a_set_operation_stands_for_the_positions_the_other_branch_has(
    sql: str, expected: dict[str, set[str]]
) -> None:
    """Without a schema ``*`` is some columns of its table: every column of the other branch at its
    positions pairs with it, none is left without its source."""
    assert _plain(sql, "postgres") == expected


def test_except_right_side_filters_but_gives_no_values() -> None:
    sql = "INSERT INTO dw.t (id) SELECT id FROM stg.s MINUS SELECT id FROM dw.t"
    assert _edges(sql, "oracle") == {"dw.t.id": ({"stg.s.id"}, "IDENTITY")}
    assert _rows(sql, "oracle") == {("dw.t", "dw.t.id", "FILTER")}


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION BY NAME SELECT b, a FROM s2",
            "duckdb",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}},
            id="duckdb-union-by-name",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL BY NAME SELECT b, c, a FROM s2",
            "duckdb",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}, "o.c": {"s2.c"}},
            id="duckdb-by-name-adds-right-only-columns",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL BY NAME SELECT b, a FROM s2",
            "spark",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}},
            id="spark-union-all-by-name",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL CORRESPONDING SELECT c, b, a FROM s2",
            "bigquery",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}},
            id="bigquery-corresponding-keeps-common-names",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b, c FROM s1 UNION ALL CORRESPONDING BY (b, a) SELECT c, b, a FROM s2",
            "bigquery",
            {"o.b": {"s1.b", "s2.b"}, "o.a": {"s1.a", "s2.a"}},
            id="bigquery-corresponding-by-list",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL SELECT b, a FROM s2",
            "spark",
            {"o.a": {"s1.a", "s2.b"}, "o.b": {"s1.b", "s2.a"}},
            id="documents-plain-union-is-positional",
        ),
    ],
)
def test_set_operations_by_name_pair_columns_by_name(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


def test_intersect_by_name_filters_with_the_matching_columns() -> None:
    sql = "INSERT INTO o SELECT a, b FROM s1 INTERSECT BY NAME SELECT b, a FROM s2"
    assert _plain(sql, "duckdb") == {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}}


def test_documents_nested_set_operations() -> None:
    sql = "INSERT INTO o SELECT a FROM ((SELECT a FROM t1 UNION ALL SELECT a FROM t2) "
    sql += "EXCEPT SELECT a FROM t3) u"
    assert _tables(sql, "postgres") == (["t1", "t2", "t3"], ["o"])
    assert _plain(sql, "postgres") == {"o.a": {"t1.a", "t2.a"}}


# ---------------------------------------------------------------------- GROUPING SETS and ROLLUP


def test_documents_grouping_sets_and_rollup() -> None:
    sql = (
        "INSERT INTO rpt.cube (region, product, total) SELECT region, product, sum(amount) FROM sales "
        "GROUP BY GROUPING SETS ((region, product), (region), ())"
    )
    assert _edges(sql, "postgres") == {
        "rpt.cube.region": ({"sales.region"}, "IDENTITY"),
        "rpt.cube.product": ({"sales.product"}, "IDENTITY"),
        "rpt.cube.total": ({"sales.amount"}, "AGGREGATION"),
    }
    sql = "INSERT INTO r SELECT coalesce(region, 'ALL') AS region, sum(amt) AS s FROM f "
    sql += "GROUP BY region WITH ROLLUP"
    assert _plain(sql, "mysql") == {"r.region": {"f.region"}, "r.s": {"f.amt"}}


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


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "CREATE VIEW v AS SELECT id, sum(x) OVER w2 AS s FROM t "
            "WINDOW w1 AS (PARTITION BY g), w2 AS (w1 ORDER BY ts)",
            id="window-extends-window",
        ),
        pytest.param(
            "CREATE VIEW v AS SELECT id, sum(x) OVER (w2 ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s "
            "FROM t WINDOW w1 AS (PARTITION BY g), w2 AS (w1 ORDER BY ts)",
            id="over-clause-extends-a-chained-window",
        ),
    ],
)
def test_a_named_window_built_on_another_reads_both_definitions(sql: str) -> None:
    assert _edges(sql, "postgres") == {
        "v.id": ({"t.id"}, "IDENTITY"),
        "v.s": ({"t.g", "t.ts", "t.x"}, "AGGREGATION"),
    }


def test_guard_a_window_defined_by_itself_ends() -> None:
    """Invalid SQL (``WINDOW w AS (w)``) must not loop."""
    assert _plain("SELECT sum(x) OVER w AS s FROM t WINDOW w AS (w)", "postgres") == {"s": {"t.x"}}


def test_qualify_over_a_chained_named_window_filters_on_both_definitions() -> None:
    sql = (
        "CREATE VIEW v AS SELECT id, v FROM s QUALIFY row_number() OVER w2 = 1 "
        "WINDOW w1 AS (PARTITION BY id), w2 AS (w1 ORDER BY ts DESC)"
    )
    assert _rows(sql, "bigquery") == {("v", "s.id", "FILTER"), ("v", "s.ts", "FILTER")}


def test_documents_qualify_over_a_named_window_in_a_view() -> None:
    sql = (
        "CREATE VIEW v AS SELECT id, row_number() OVER w AS rn FROM t "
        "WINDOW w AS (PARTITION BY g ORDER BY ts) QUALIFY rn = 1"
    )
    assert _plain(sql, "duckdb") == {"v.id": {"t.id"}, "v.rn": {"t.g", "t.ts"}}
    assert _rows(sql, "duckdb") == {("v", "t.g", "FILTER"), ("v", "t.ts", "FILTER")}


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


def test_star_replace_and_rename_without_schema_keep_the_named_columns() -> None:
    assert _edges("CREATE TABLE z AS SELECT * EXCLUDE (s) REPLACE (lower(e) AS e) FROM u", "duckdb") == {
        "z.*": ({"u.*"}, "IDENTITY"),
        "z.e": ({"u.e"}, "TRANSFORMATION"),
    }
    assert _plain("INSERT INTO z SELECT * RENAME (a AS b) FROM u", "snowflake") == {
        "z.*": {"u.*"},
        "z.b": {"u.a"},
    }


# ---------------------------------------------------------------------- VALUES as a relation


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT v.id, s.a FROM (VALUES 1, 2) AS v(id) JOIN s ON s.id = v.id",
            "trino",
            {"o.a": {"s.a"}},
            id="trino-values-first",
        ),
        pytest.param(
            "INSERT INTO o SELECT v.k, t.x FROM t JOIN (VALUES ('a', 1), ('b', 2)) AS v(k, n) ON t.k = v.k",
            "trino",
            {"o.x": {"t.x"}},
            id="trino-values-joined",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, v.label FROM t "
            "CROSS JOIN (VALUES (t.a, 'a'), (t.b, 'b')) AS v(val, label) WHERE v.val > 0",
            "trino",
            {"o.id": {"t.id"}},
            id="trino-values-of-columns",
        ),
        pytest.param(
            "INSERT INTO o SELECT v.id, s.a FROM (VALUES (1), (2)) AS v(id) JOIN s ON s.id = v.id",
            "postgres",
            {"o.a": {"s.a"}},
            id="documents-postgres",
        ),
    ],
)
def test_values_relation_is_a_source_not_a_struct(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


def test_values_relation_of_columns_filters_through_them() -> None:
    sql = (
        "INSERT INTO o SELECT t.id FROM t CROSS JOIN LATERAL (VALUES (t.a), (t.b)) AS v(val) WHERE v.val > 0"
    )
    assert _rows(sql, "trino") == {("o", "t.a", "FILTER"), ("o", "t.b", "FILTER")}


# ---------------------------------------------------------------- names with dots and spaces, FOR SYSTEM_TIME


def test_documents_names_with_dots_and_spaces_and_system_time() -> None:
    sql = 'INSERT INTO "my.schema"."Order Items" SELECT "Item Id" FROM "raw data"."items.v2"'
    assert _plain(sql, "postgres") == {"my.schema.Order Items.Item Id": {"raw data.items.v2.Item Id"}}
    sql = "INSERT INTO o SELECT t.a FROM dbo.t1 FOR SYSTEM_TIME AS OF '2024-01-01' AS t"
    assert _plain(sql, "tsql") == {"o.a": {"dbo.t1.a"}}


# ---------------------------------------------------------------------- a query the parser rejects


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "SELECT id FROM t1 MODEL DIMENSION BY (id) MEASURES (v) RULES (v[1] = 0) UNION SELECT id FROM t2",
            "oracle",
            id="oracle-model-clause-before-union",
        ),
        pytest.param(
            "SELECT a FROM t1 WHERE a > 0 FOR UPDATE SKIP LOCKED NOWAIT WEIRD UNION SELECT b FROM t2",
            "postgres",
            id="unknown-clause-before-union",
        ),
    ],
)
def test_a_rejected_query_keeps_the_tables_before_the_part_that_parses(sql: str, dialect: str) -> None:
    result = analyze(sql, dialect)
    assert sorted(t.qualified for t in result.inputs) == ["t1", "t2"]
    assert result.partial and result.errors


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param("CREATE TABLE o AS SELECT a FROM t WHERE a > 0 SELECT b FROM u", "postgres", id="ctas"),
        pytest.param("CREATE OR REPLACE VIEW o AS FROM t WHERE a > 0 SELECT b FROM u", "duckdb", id="view"),
        pytest.param(
            "CREATE TEMP TABLE o AS SELECT a FROM t ODD CLAUSE SELECT b FROM u", "postgres", id="temp"
        ),
    ],
)
def test_a_rejected_create_as_is_not_taken_for_the_query_after_it(sql: str, dialect: str) -> None:
    """The table-level scan keeps the created table; the last query of the text alone would lose it."""
    result = analyze(sql, dialect)
    assert [t.qualified for t in result.outputs] == ["o"]
    assert result.partial and result.errors


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "INSERT INTO t SELECT id, NULL AS x FROM a UNION ALL SELECT id, y FROM b",
            "postgres",
            {"t.id": ({"a.id", "b.id"}, "TRANSFORMATION"), "t.x": ({"b.y"}, "IDENTITY")},
        ),
        (
            "CREATE TABLE t AS SELECT a, b FROM s1 UNION ALL BY NAME SELECT b, c FROM s2",
            "duckdb",
            {
                "t.a": ({"s1.a"}, "IDENTITY"),
                "t.b": ({"s1.b", "s2.b"}, "TRANSFORMATION"),
                "t.c": ({"s2.c"}, "IDENTITY"),
            },
        ),
        (
            "INSERT INTO t SELECT NULL AS x FROM a UNION ALL SELECT y FROM b "
            "UNION ALL SELECT upper(z) FROM c",
            "postgres",
            {"t.x": ({"b.y", "c.z"}, "TRANSFORMATION")},
        ),
    ],
)
def test_a_set_operation_column_fed_by_one_column_stays_identity(
    sql: str, dialect: str, expected: dict[str, tuple[set[str], str]]
) -> None:
    """A column that only one branch feeds (the others give ``NULL`` or, with ``BY NAME``, nothing) is
    that column as it is: a branch of constants adds no second column to make it a transformation."""
    assert _edges(sql, dialect) == expected


# ---------------------------------------------------------------------- transformation types


@pytest.mark.parametrize(
    ("dialect", "call"),
    [
        ("trino", "map_agg(k, v)"),
        ("trino", "histogram(v)"),
        ("trino", "geometric_mean(v)"),
        ("trino", "approx_set(v)"),
        ("postgres", "jsonb_agg(v)"),
        ("postgres", "every(v > 0)"),
        ("spark", "try_sum(v)"),
        ("duckdb", "product(v)"),
        ("duckdb", "arbitrary(v)"),
        ("tsql", "varp(v)"),
        ("oracle", "stats_mode(v)"),
        ("mysql", "json_arrayagg(v)"),
        ("sqlite", "total(v)"),
        # WITHIN GROUP (ORDER BY ...) follows ordered-set aggregates only
        ("tsql", "approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY v)"),
        ("snowflake", "my_udaf(v) WITHIN GROUP (ORDER BY v)"),
    ],
)
def test_an_aggregate_the_parser_does_not_know_is_an_aggregation(dialect: str, call: str) -> None:
    """An engine's own aggregate (Trino ``map_agg``, DuckDB ``product``, ...) makes its column an
    ``AGGREGATION`` like ``sum`` does, and under ``GROUP BY ALL`` it is no grouping key."""
    got = _edges(f"INSERT INTO r SELECT k, {call} AS o FROM t GROUP BY k", dialect)
    assert got["r.o"][1] == "AGGREGATION"
    if dialect == "duckdb":
        rows = _rows(f"CREATE TABLE r AS SELECT k, {call} AS o FROM t GROUP BY ALL", dialect)
        assert rows == {("r", "t.k", "GROUP_BY")}


@pytest.mark.parametrize("call", ["rank()", "dense_rank()", "percent_rank()", "cume_dist()", "ntile(4)"])
@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "bigquery", "tsql"])
def test_a_ranking_window_function_is_a_transformation(dialect: str, call: str) -> None:
    """``rank() OVER (...)`` numbers rows like ``row_number()``: it aggregates nothing."""
    sql = f"INSERT INTO r SELECT k, {call} OVER (PARTITION BY k ORDER BY v DESC) AS o FROM s"
    assert _edges(sql, dialect)["r.o"] == ({"s.k", "s.v"}, "TRANSFORMATION")


@pytest.mark.parametrize("dialect", ["spark", "databricks", "duckdb"])
def test_first_and_last_over_a_window_pick_a_value(dialect: str) -> None:
    """Spark / DuckDB ``first(v) OVER (...)`` is ``first_value(v) OVER (...)``: a transformation; as a plain
    aggregate (``GROUP BY``) it stays an aggregation."""
    sql = "INSERT INTO r SELECT k, first(v) OVER (PARTITION BY k ORDER BY ts) AS f, last(v) OVER w AS l "
    sql += "FROM s WINDOW w AS (PARTITION BY k ORDER BY ts)"
    got = _edges(sql, dialect)
    assert got["r.f"] == ({"s.k", "s.ts", "s.v"}, "TRANSFORMATION")
    assert got["r.l"] == ({"s.k", "s.ts", "s.v"}, "TRANSFORMATION")
    grouped = _edges("INSERT INTO r SELECT k, first(v) AS f FROM s GROUP BY k", dialect)
    assert grouped["r.f"] == ({"s.v"}, "AGGREGATION")


def test_a_hypothetical_rank_is_an_aggregation() -> None:
    """PostgreSQL's ``rank(10) WITHIN GROUP (ORDER BY v)`` is an aggregate: where 10 would rank in ``v``."""
    sql = "INSERT INTO r SELECT k, rank(10) WITHIN GROUP (ORDER BY v) AS o FROM s GROUP BY k"
    assert _edges(sql, "postgres")["r.o"] == ({"s.v"}, "AGGREGATION")


@pytest.mark.parametrize(
    ("value", "compared"),
    [
        ("c.id IN (SELECT v.cid FROM vip v WHERE v.tier = 'gold')", {"customers.id", "vip.cid"}),
        ("c.id NOT IN (SELECT v.cid FROM vip v WHERE v.tier = 'gold')", {"customers.id", "vip.cid"}),
        ("c.id = ANY (SELECT v.cid FROM vip v WHERE v.tier = 'gold')", {"customers.id", "vip.cid"}),
        ("c.id > ALL (SELECT v.cid FROM vip v WHERE v.tier = 'gold')", {"customers.id", "vip.cid"}),
        (
            "CASE WHEN c.id IN (SELECT v.cid FROM vip v WHERE v.tier = 'gold') THEN 'gold' END",
            {"customers.id", "vip.cid"},
        ),
    ],
)
def test_membership_in_a_subquery_as_a_value_reads_what_decides_its_rows(
    value: str, compared: set[str]
) -> None:
    """``id IN (SELECT cid FROM vip WHERE tier = 'gold')`` as a value depends on which rows the subquery
    has, like ``EXISTS (...)``: its ``WHERE`` columns are read, not only the compared ones."""
    sql = f"INSERT INTO r SELECT c.id, {value} AS o FROM customers c"
    assert _edges(sql, "postgres")["r.o"] == (compared | {"vip.tier"}, "TRANSFORMATION")

"""INSERT, UPDATE and DELETE: the columns of ``SET`` without and with a schema, DML through a derived table or
a CTE, ``INSERT BY NAME`` / ``BY POSITION``, ``INSERT INTO t TABLE s``, multi-table ``INSERT ALL`` /
``FIRST`` / ``OVERWRITE ALL``, and upserts (``ON CONFLICT`` with ``EXCLUDED``, ``ON DUPLICATE KEY UPDATE``).

MySQL's multi-table UPDATE / DELETE are in test_mysql.py, T-SQL's ``INSERT ... EXEC`` / ``TOP`` / ``OUTPUT``
in test_sqlserver_oracle.py, MERGE in test_merge.py."""

from __future__ import annotations

import pytest

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- UPDATE: the columns of SET


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "UPDATE t SET c = c + v FROM s WHERE t.id = s.id",
            "postgres",
            {"t.c": {"t.c", "s.v"}},
            id="set-column-is-the-targets-and-the-other-from-the-joined-source",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM s WHERE t.id = s.id",
            "postgres",
            {"t.c": {"s.v"}},
            id="postgres-update-from",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM t JOIN s ON t.id = s.id",
            "tsql",
            {"t.c": {"s.v"}},
            id="tsql-update-from-target-join",
        ),
        pytest.param(
            "UPDATE t JOIN s ON t.id = s.id SET c = v",
            "mysql",
            {"t.c": {"s.v"}},
            id="mysql-update-join",
        ),
        pytest.param(
            "UPDATE t SET c = s.v + c FROM s WHERE t.id = s.id",
            "postgres",
            {"t.c": {"t.c", "s.v"}},
            id="target-column-read-unqualified",
        ),
        pytest.param(
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET c = c + v",
            "snowflake",
            {"t.c": {"t.c", "s.v"}},
            id="merge-update-set",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM s JOIN u ON s.k = u.k WHERE t.id = s.id",
            "postgres",
            {},
            id="two-joined-sources-stay-unresolved",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM s WHERE t.id = s.id AND t.v IS NOT NULL",
            "postgres",
            {"t.c": {"t.v"}},
            id="a-column-qualified-by-the-target-elsewhere-is-the-targets",
        ),
    ],
)
def test_unqualified_set_values_without_schema(sql: str, dialect: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("UPDATE t SET c = v FROM s WHERE t.id = s.id", "postgres"),
        ("UPDATE x SET c = v FROM t x JOIN s y ON x.id = y.id", "tsql"),
        ("UPDATE t JOIN s ON t.id = s.id SET c = v", "mysql"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET c = v", "snowflake"),
    ],
)
def test_unqualified_set_values_with_schema(sql: str, dialect: str) -> None:
    schema = {"t": ["id", "c"], "s": ["id", "v"]}
    assert _plain(sql, dialect, schema=schema) == {"t.c": {"s.v"}}


def test_schema_naming_the_column_in_the_target_wins_over_the_guess() -> None:
    sql = "UPDATE t SET c = v FROM s WHERE t.id = s.id"
    assert _plain(sql, "postgres", schema={"t": ["id", "c", "v"], "s": ["id", "w"]}) == {"t.c": {"t.v"}}


# ----------------------------------------------------------- DELETE / UPDATE through a derived table or a CTE


@pytest.mark.parametrize(
    ("sql", "dialect", "subtype"),
    [
        ("DELETE t FROM tgt t JOIN (SELECT id FROM stg WHERE del = 1) s ON t.id = s.id", "mysql", "JOIN"),
        ("DELETE t FROM tgt t JOIN (SELECT id FROM stg WHERE del = 1) s ON t.id = s.id", "tsql", "JOIN"),
        (
            "DELETE FROM tgt USING tgt JOIN (SELECT id FROM stg WHERE del = 1) s ON tgt.id = s.id",
            "mysql",
            "JOIN",
        ),
        (
            "DELETE FROM tgt USING (SELECT id FROM stg WHERE del = 1) s WHERE tgt.id = s.id",
            "postgres",
            "FILTER",
        ),
    ],
)
def test_delete_through_a_derived_table_names_its_columns(sql: str, dialect: str, subtype: str) -> None:
    assert _tables(sql, dialect) == (["stg"], ["tgt"])
    assert _rows(sql, dialect) == {
        ("tgt", "stg.del", "FILTER"),
        ("tgt", "stg.id", subtype),
        ("tgt", "tgt.id", subtype),
    }


def test_tsql_delete_through_a_cte_deletes_from_its_table() -> None:
    sql = (
        "WITH cte AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY Email ORDER BY Id) rn FROM dbo.Users) "
        "DELETE FROM cte WHERE rn > 1"
    )
    assert _tables(sql, "tsql") == ([], ["dbo.users"])
    assert _rows(sql, "tsql") == {
        ("dbo.users", "dbo.users.email", "FILTER"),
        ("dbo.users", "dbo.users.id", "FILTER"),
    }


def test_tsql_update_through_a_cte_writes_the_base_column() -> None:
    sql = (
        "WITH c AS (SELECT o.Id, o.Status AS st, x.Flag FROM dbo.Orders o JOIN dbo.Flags x ON x.Id = o.Id "
        "WHERE o.Active = 1) UPDATE c SET st = Flag"
    )
    assert _tables(sql, "tsql") == (["dbo.flags"], ["dbo.orders"])
    assert _plain(sql, "tsql") == {"dbo.orders.status": {"dbo.flags.flag"}}


def test_tsql_merge_into_a_cte_writes_its_table_and_only_matches_the_rows_it_shows() -> None:
    sql = (
        "WITH c AS (SELECT o.Id, o.Status AS st FROM dbo.Orders o WHERE o.Active = 1) "
        "MERGE c AS t USING stg.S AS s ON t.Id = s.Id "
        "WHEN MATCHED THEN UPDATE SET t.st = s.NewStatus "
        "WHEN NOT MATCHED THEN INSERT (Id, st) VALUES (s.Id, s.NewStatus);"
    )
    assert _tables(sql, "tsql") == (["stg.s"], ["dbo.orders"])
    assert _plain(sql, "tsql") == {"dbo.orders.status": {"stg.s.newstatus"}, "dbo.orders.id": {"stg.s.id"}}
    assert ("dbo.orders", "dbo.orders.active", "FILTER") in _rows(sql, "tsql")


def test_tsql_insert_into_a_cte_writes_its_table() -> None:
    sql = "WITH c AS (SELECT Id, Status AS st FROM dbo.Orders) INSERT INTO c (Id, st) SELECT Id, s FROM stg.S"
    assert _tables(sql, "tsql") == (["stg.s"], ["dbo.orders"])
    assert _plain(sql, "tsql") == {"dbo.orders.id": {"stg.s.id"}, "dbo.orders.status": {"stg.s.s"}}


@pytest.mark.parametrize(
    "sql",
    [
        "WITH d AS (SELECT TOP 100 * FROM dbo.Queue ORDER BY Created) DELETE FROM d "
        "OUTPUT deleted.Id INTO dbo.Taken",
        "WITH d AS (SELECT * FROM dbo.Queue) DELETE d OUTPUT deleted.Id INTO dbo.Taken (Id)",
    ],
)
def test_tsql_delete_through_a_cte_with_output_into(sql: str) -> None:
    """The dequeue idiom: the CTE's table loses the rows, the OUTPUT table gets them."""
    assert _tables(sql, "tsql") == (["dbo.queue"], ["dbo.queue", "dbo.taken"])
    assert _plain(sql, "tsql") == {"dbo.taken.id": {"dbo.queue.id"}}


def test_tsql_delete_without_from_through_a_cte() -> None:
    sql = "WITH d AS (SELECT * FROM dbo.Queue WHERE x = 1) DELETE d WHERE y = 2"
    assert _tables(sql, "tsql") == ([], ["dbo.queue"])
    assert _rows(sql, "tsql") == {
        ("dbo.queue", "dbo.queue.x", "FILTER"),
        ("dbo.queue", "dbo.queue.y", "FILTER"),
    }


def test_postgres_dml_target_named_like_a_cte_is_the_table() -> None:
    sql = "WITH t AS (SELECT id FROM s) DELETE FROM t WHERE id IN (SELECT id FROM t)"
    assert _tables(sql, "postgres") == (["s"], ["t"])


# ---------------------------------------------------------------------- INSERT BY NAME / BY POSITION


@pytest.mark.parametrize(
    ("sql", "dialect", "schema", "expected"),
    [
        pytest.param(
            "INSERT INTO t BY NAME SELECT b AS x, a FROM s",
            "duckdb",
            {"t": ["a", "x", "c"]},
            {"t.x": {"s.b"}, "t.a": {"s.a"}},
            id="duckdb-schema",
        ),
        pytest.param(
            "INSERT INTO t BY NAME SELECT b AS x, a FROM s",
            "databricks",
            {"t": ["a", "x"]},
            {"t.x": {"s.b"}, "t.a": {"s.a"}},
            id="databricks-schema",
        ),
        pytest.param(
            "CREATE TABLE t (a INT, x INT); INSERT INTO t BY NAME SELECT b AS x, a FROM s",
            "duckdb",
            None,
            {"t.x": {"s.b"}, "t.a": {"s.a"}},
            id="columns-created-by-the-script",
        ),
        pytest.param(
            "INSERT INTO t BY NAME SELECT b AS x, a FROM s",
            "duckdb",
            None,
            {"t.x": {"s.b"}, "t.a": {"s.a"}},
            id="documents-no-schema",
        ),
    ],
)
def test_insert_by_name_matches_names_not_positions(
    sql: str, dialect: str, schema: dict[str, list[str]] | None, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect, schema=schema) == expected


def test_insert_by_name_writes_the_target_columns_only() -> None:
    sql = "INSERT INTO t BY NAME SELECT * FROM s"
    schema = {"t": ["a", "b"], "s": ["b", "a", "c"]}
    assert _plain(sql, "duckdb", schema=schema) == {"t.a": {"s.a"}, "t.b": {"s.b"}}


def test_insert_by_position_is_positional() -> None:
    sql = "INSERT INTO t BY POSITION SELECT b, a FROM s"
    assert _plain(sql, "duckdb", schema={"t": ["a", "b"]}) == {"t.a": {"s.b"}, "t.b": {"s.a"}}
    assert _plain("INSERT OR REPLACE INTO t (x) BY POSITION SELECT b FROM s", "duckdb") == {"t.x": {"s.b"}}


@pytest.mark.parametrize("dialect", ["databricks", "spark", "hive", "postgres"])
def test_insert_of_a_whole_table_maps_its_columns(dialect: str) -> None:
    assert _plain("INSERT INTO t TABLE s", dialect) == {"t.*": {"s.*"}}
    assert _plain("INSERT INTO t TABLE s", dialect, schema={"s": ["a", "b"]}) == {
        "t.a": {"s.a"},
        "t.b": {"s.b"},
    }


# ----------------------------------------------------------- multi-table INSERT (ALL / FIRST / OVERWRITE ALL)


def test_insert_first_conditions_decide_the_rows_of_each_branch() -> None:
    sql = (
        "INSERT FIRST WHEN x > 0 THEN INTO a VALUES (x) WHEN y > 0 THEN INTO c VALUES (y) "
        "ELSE INTO b VALUES (x) SELECT x, y FROM s WHERE z = 1"
    )
    assert _plain(sql, "snowflake") == {"a.x": {"s.x"}, "c.y": {"s.y"}, "b.x": {"s.x"}}
    assert _rows(sql, "snowflake") == {
        ("a", "s.x", "FILTER"),
        ("a", "s.z", "FILTER"),
        ("c", "s.x", "FILTER"),
        ("c", "s.y", "FILTER"),
        ("c", "s.z", "FILTER"),
        ("b", "s.x", "FILTER"),
        ("b", "s.y", "FILTER"),
        ("b", "s.z", "FILTER"),
    }


def test_insert_all_conditions_decide_their_own_branch() -> None:
    sql = (
        "INSERT ALL WHEN x > 0 THEN INTO a VALUES (x) WHEN y > 0 THEN INTO c (k) VALUES (y) "
        "SELECT x, y FROM s"
    )
    assert _plain(sql, "snowflake") == {"a.x": {"s.x"}, "c.k": {"s.y"}}
    assert _rows(sql, "snowflake") == {("a", "s.x", "FILTER"), ("c", "s.y", "FILTER")}


def test_insert_all_without_column_list_uses_the_schema() -> None:
    sql = "INSERT ALL INTO a VALUES (x, y + 1) SELECT x, y FROM s"
    assert _edges(sql, "oracle", schema={"a": ["p", "q"]}) == {
        "a.p": ({"s.x"}, "IDENTITY"),
        "a.q": ({"s.y"}, "TRANSFORMATION"),
    }


@pytest.mark.parametrize(
    ("sql", "schema", "expected"),
    [
        pytest.param(
            "INSERT ALL INTO t1 INTO t2 SELECT a, b FROM s",
            None,
            {"t1.a": {"s.a"}, "t1.b": {"s.b"}, "t2.a": {"s.a"}, "t2.b": {"s.b"}},
            id="names-of-the-query",
        ),
        pytest.param(
            "INSERT ALL INTO t1 (x, y) INTO t2 SELECT a, b FROM s",
            {"t2": ["p", "q"]},
            {"t1.x": {"s.a"}, "t1.y": {"s.b"}, "t2.p": {"s.a"}, "t2.q": {"s.b"}},
            id="column-list-and-schema",
        ),
        pytest.param(
            "INSERT FIRST WHEN a > 0 THEN INTO t1 ELSE INTO t2 (y) VALUES (b) SELECT a, b FROM s",
            None,
            {"t1.a": {"s.a"}, "t1.b": {"s.b"}, "t2.y": {"s.b"}},
            id="conditional-without-values",
        ),
    ],
)
def test_multi_table_insert_without_values_inserts_the_query_row(
    sql: str, schema: dict[str, list[str]] | None, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, "snowflake", schema=schema) == expected


def test_documents_snowflake_insert_overwrite_all() -> None:
    sql = (
        "INSERT OVERWRITE ALL WHEN a > 0 THEN INTO t1 (x) VALUES (a) WHEN a <= 0 THEN INTO t2 (y) VALUES (b) "
        "SELECT a, b FROM s"
    )
    assert _tables(sql, "snowflake") == (["s"], ["t1", "t2"])
    assert _plain(sql, "snowflake") == {"t1.x": {"s.a"}, "t2.y": {"s.b"}}


# --------------------------------------------------------------------- upserts: ON CONFLICT, ON DUPLICATE KEY


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


def test_documents_on_conflict_do_update_where_reads_the_excluded_row() -> None:
    sql = (
        "INSERT INTO t (id, v, ts) SELECT id, v, ts FROM s ON CONFLICT (id) DO UPDATE "
        "SET v = EXCLUDED.v, ts = EXCLUDED.ts WHERE t.ts < EXCLUDED.ts"
    )
    assert _plain(sql, "postgres") == {"t.id": {"s.id"}, "t.v": {"s.v"}, "t.ts": {"s.ts"}}
    assert _rows(sql, "postgres") == {
        ("t", "s.id", "JOIN"),
        ("t", "t.id", "JOIN"),
        ("t", "s.ts", "FILTER"),
        ("t", "t.ts", "FILTER"),
    }


def test_mysql_on_duplicate_key_update_values_function() -> None:
    got = _edges(
        "INSERT INTO o (id, v) SELECT id, amount FROM t ON DUPLICATE KEY UPDATE v = v + VALUES(v)", "mysql"
    )
    assert got == {"o.id": ({"t.id"}, "IDENTITY"), "o.v": ({"t.amount", "o.v"}, "TRANSFORMATION")}


def test_documents_upserts() -> None:
    sql = (
        "INSERT INTO dim AS d (id, name) SELECT id, name FROM stg ON CONFLICT (id) DO UPDATE "
        "SET name = EXCLUDED.name WHERE d.name IS DISTINCT FROM EXCLUDED.name"
    )
    assert _plain(sql, "postgres") == {"dim.id": {"stg.id"}, "dim.name": {"stg.name"}}
    sql = (
        "INSERT INTO dim (id, name, cnt) SELECT id, name, 1 FROM stg "
        "ON DUPLICATE KEY UPDATE name = VALUES(name), cnt = cnt + 1"
    )
    assert _plain(sql, "mysql") == {"dim.id": {"stg.id"}, "dim.name": {"stg.name"}, "dim.cnt": {"dim.cnt"}}


@pytest.mark.parametrize(
    ("sql", "expected_tables", "expected_columns"),
    [
        ("UPDATE o FROM t SET v = t.v WHERE o.id = t.id", (["t"], ["o"]), {"o.v": {"t.v"}}),
        ("UPDATE o FROM t SET v = t.v", (["t"], ["o"]), {"o.v": {"t.v"}}),
        (
            "UPDATE o FROM t, db.u SET v = u.v + t.w WHERE o.id = t.id AND t.id = u.id;",
            (["db.u", "t"], ["o"]),
            {"o.v": {"db.u.v", "t.w"}},
        ),
        (
            "UPDATE e FROM hr.employee AS e, hr.dept AS d SET salary = e.salary * d.f WHERE e.dept_id = d.id",
            (["hr.dept"], ["hr.employee"]),
            {"hr.employee.salary": {"hr.employee.salary", "hr.dept.f"}},
        ),
    ],
)
def test_teradata_update_from_before_set(
    sql: str, expected_tables: tuple[list[str], list[str]], expected_columns: dict[str, set[str]]
) -> None:
    """Teradata ``UPDATE t FROM s SET ...``, also when the last FROM item has no alias before ``SET``."""
    assert _tables(sql, "teradata") == expected_tables
    assert _plain(sql, "teradata") == expected_columns
    if "o.id = t.id" in sql:  # the WHERE decides the rows, as in PostgreSQL's UPDATE ... FROM ... WHERE
        assert ("o", "t.id", "FILTER") in _rows(sql, "teradata")


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        ("INSERT INTO o (a, b) SELECT * FROM t", "mysql", {"o.a": {"t.*"}, "o.b": {"t.*"}}),
        ("INSERT INTO o (a, b) TABLE t", "postgres", {"o.a": {"t.*"}, "o.b": {"t.*"}}),
        (
            "INSERT INTO o (a, b, c) SELECT s.*, u.x FROM s JOIN u ON s.k = u.k",
            "postgres",
            {"o.a": {"s.*"}, "o.b": {"s.*"}, "o.c": {"u.x"}},
        ),
    ],
)
def test_a_column_list_over_an_unexpanded_star_names_the_written_columns(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    """Only the listed columns are written: each is some column of the star's tables (no ``o.*``), as a
    CTE's column list over ``SELECT *`` names its columns."""
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE o SET v = (SELECT v FROM t WHERE t.id = o.id)", {"o.v": ({"t.v"}, "IDENTITY")}),
        ("UPDATE o SET v = (SELECT t.v AS w FROM t WHERE t.id = o.id)", {"o.v": ({"t.v"}, "IDENTITY")}),
        ("UPDATE o SET (v) = (SELECT v FROM t WHERE t.id = o.id)", {"o.v": ({"t.v"}, "IDENTITY")}),
        ("UPDATE o SET v = (SELECT v + 1 FROM t WHERE t.id = o.id)", {"o.v": ({"t.v"}, "TRANSFORMATION")}),
        ("UPDATE o SET v = (SELECT max(v) FROM t WHERE t.id = o.id)", {"o.v": ({"t.v"}, "AGGREGATION")}),
        (
            "UPDATE o SET v = coalesce((SELECT v FROM t WHERE t.id = o.id), 0)",
            {"o.v": ({"t.v"}, "TRANSFORMATION")},
        ),
        (
            "INSERT INTO o (x) SELECT (SELECT v FROM t WHERE t.id = s.id) FROM s",
            {"o.x": ({"t.v"}, "IDENTITY")},
        ),
        (
            "INSERT INTO o (x) SELECT (SELECT w FROM (SELECT v * 2 AS w, id FROM t) d WHERE d.id = s.id) "
            "FROM s",
            {"o.x": ({"t.v"}, "TRANSFORMATION")},
        ),
    ],
)
def test_a_scalar_subquery_is_as_its_one_column(sql: str, expected: dict[str, tuple[set[str], str]]) -> None:
    """``SET v = (SELECT v ...)`` copies the value as ``SET (a, b) = (SELECT x, y ...)`` and a plain
    ``SELECT v`` do (IDENTITY); what the subquery or the expression around it does to the value is kept."""
    assert _edges(sql, "postgres") == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "DELETE FROM log WHERE lvl = 'debug' ORDER BY created_at LIMIT 1000",
            "mysql",
            {("log", "log.lvl", "FILTER"), ("log", "log.created_at", "SORT")},
        ),
        (
            "UPDATE queue SET taken = 1 WHERE taken = 0 ORDER BY priority DESC, id LIMIT 5",
            "mysql",
            {
                ("queue", "queue.taken", "FILTER"),
                ("queue", "queue.priority", "SORT"),
                ("queue", "queue.id", "SORT"),
            },
        ),
        (
            "DELETE FROM log WHERE lvl = 'debug' ORDER BY created_at LIMIT 10",
            "sqlite",
            {("log", "log.lvl", "FILTER"), ("log", "log.created_at", "SORT")},
        ),
    ],
)
def test_order_by_before_limit_decides_the_rows_an_update_or_delete_changes(
    sql: str, dialect: str, expected: set[tuple[str, str, str]]
) -> None:
    """MySQL / SQLite ``UPDATE|DELETE ... ORDER BY k LIMIT n`` change the first ``n`` rows by ``k``: ``k``
    decides which rows are written, like the ``ORDER BY`` before a SELECT's ``LIMIT``."""
    assert _rows(sql, dialect) == expected


def test_written_columns_named_in_another_case_take_the_catalog_spelling() -> None:
    """T-SQL names are case-insensitive: ``SET Amount`` and ``(OrderId, Amount)`` are the catalog's
    ``Amount``/``OrderId``, so the temp table's update chains into what the script writes from it."""
    sql = (
        "SELECT o.* INTO #stage FROM dbo.Orders o\n"
        "UPDATE #stage SET amount = Amount * 1.2\n"
        "INSERT INTO dbo.Fact (orderid, AMOUNT) SELECT OrderId, Amount FROM #stage"
    )
    schema = {"dbo.orders": ["OrderId", "CustomerId", "Amount"], "dbo.fact": ["OrderId", "Amount"]}
    assert _edges(sql, "tsql", schema=schema) == {
        "dbo.fact.OrderId": ({"dbo.orders.OrderId"}, "IDENTITY"),
        "dbo.fact.Amount": ({"dbo.orders.Amount"}, "TRANSFORMATION"),
    }
